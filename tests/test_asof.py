"""As-of on the map endpoints: a parcel's use is changed through the API, and tiles (per layer
and per city, decoded), the parcel card, identify and search answer as of the moment before
exactly what they answered then; now they show the change. The settled past is cached for good.
The parcel is changed back at the end (a second edit), so other tests see the demo data."""

from __future__ import annotations

import datetime as dt
import gzip
import time
from collections.abc import Iterator
from urllib.parse import quote

import mapbox_vector_tile
import morecantile
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from digitalcity.db.keys import create_key

ITEMS = "/collections/cambridge__parcels/items"


@pytest.fixture(scope="module")
def api(settings, loaded) -> Iterator[TestClient]:  # noqa: ANN001
    from digitalcity.api import create_app

    with TestClient(create_app(settings.model_copy(update={"tile_cache": False}))) as client:
        yield client


@pytest.fixture(scope="module")
def parcel(engine, loaded) -> dict:  # noqa: ANN001
    """A residential parcel with an address, away from the parcels other tests click."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT fid, address, use_code, ST_X(ST_PointOnSurface(geom)) AS lon, "
                "ST_Y(ST_PointOnSurface(geom)) AS lat FROM cambridge.parcels "
                "WHERE use_code = '101' AND address IS NOT NULL "
                "AND ST_X(ST_Centroid(geom)) > -71.09 ORDER BY fid LIMIT 1"
            )
        ).one()
    return dict(row._mapping)


def _xy(parcel: dict) -> tuple[int, int]:
    t = morecantile.tms.get("WebMercatorQuad").tile(parcel["lon"], parcel["lat"], 16)
    return t.x, t.y


def _decoded(response) -> dict:  # noqa: ANN001
    assert response.status_code == 200, response.text
    data = response.content
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    layers = mapbox_vector_tile.decode(data)
    return {
        name: sorted(
            ((f["id"], sorted(f["properties"].items()), str(f["geometry"])) for f in layer["features"]),
            key=lambda x: x[0],
        )
        for name, layer in layers.items()
    }


def _state(api, parcel, tile, at: str | None = None) -> dict:  # noqa: ANN001
    q = f"?as-of={quote(at)}" if at else ""
    amp = f"&as-of={quote(at)}" if at else ""
    z, x, y = tile
    return {
        "layer_tile": _decoded(
            api.get(f"/collections/cambridge__parcels/tiles/WebMercatorQuad/{z}/{x}/{y}{q}")
        ),
        "city_tile": _decoded(api.get(f"/tiles/cambridge/{z}/{x}/{y}{q}")),
        "card": api.get(f"/cities/cambridge/parcels/{parcel['fid']}?lang=en{amp}").json(),
        "identify": api.get(
            f"/cities/cambridge/identify?lon={parcel['lon']}&lat={parcel['lat']}&lang=en{amp}"
        ).json(),
        "search": api.get(f"/cities/cambridge/search?q={quote(parcel['address'])}{amp}").json(),
    }


def test_map_endpoints_answer_as_of_the_moment_before_an_edit(api, engine, parcel, catalog) -> None:  # noqa: ANN001
    from digitalcity.analysis import landuse_statistics
    from digitalcity.city import City

    key = create_key(engine, "land_bureau", "asof-test").key
    city = City(catalog, catalog.city("cambridge"), engine, "land_bureau")
    stats_before = landuse_statistics(city).frame
    z, x, y = 16, *_xy(parcel)
    before = _state(api, parcel, (z, x, y))
    assert before["card"]["land_use"]["native"]["code"] == "101"
    time.sleep(0.05)
    instant = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    time.sleep(0.05)
    fid = parcel["fid"]
    try:
        patched = api.patch(
            f"{ITEMS}/{fid}",
            json={"properties": {"use_code": "325"}},
            headers={"X-API-Key": key, "If-Match": "*", "X-Change-Reason": "as-of test"},
        )
        assert patched.status_code == 200, patched.text
        now = _state(api, parcel, (z, x, y))
        assert now["card"]["land_use"]["native"]["code"] == "325"
        # the standard class follows the native code (the crosswalk, as on load)
        assert now["card"]["land_use"]["standard_level1"]["code"] != "07"
        assert not landuse_statistics(city).frame.equals(stats_before)
        assert landuse_statistics(city.at(instant)).frame.equals(stats_before)
        assert now["layer_tile"] != before["layer_tile"]
        then = _state(api, parcel, (z, x, y), instant)
        for part in ("layer_tile", "city_tile", "card", "identify", "search"):
            assert then[part] == before[part], part
        # a moment before the load of the demo is still the loaded state (rows loaded before
        # any history count as current since ever); a bad instant is a 400
        assert api.get(f"{ITEMS}/{fid}?as-of=not-a-time").status_code == 400
        assert api.get(f"/tiles/cambridge/{z}/{x}/{y}?as-of=2026-13-45").status_code == 400
    finally:
        back = api.patch(
            f"{ITEMS}/{fid}",
            json={"properties": {"use_code": "101"}},
            headers={"X-API-Key": key, "If-Match": "*", "X-Change-Reason": "as-of test: undo"},
        )
        assert back.status_code == 200, back.text


def test_the_settled_past_is_cached_for_good(api, parcel) -> None:  # noqa: ANN001
    z, x, y = 16, *_xy(parcel)
    old = "2026-01-01T00:00:00Z"
    tile = api.get(f"/tiles/cambridge/{z}/{x}/{y}?as-of={old}")
    assert tile.status_code == 204  # before the demo was loaded: nothing there yet
    assert tile.headers["cache-control"] == "public, max-age=31536000, immutable"
    recent = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    fresh = api.get(f"/tiles/cambridge/{z}/{x}/{y}?as-of={quote(recent)}")
    assert "immutable" not in fresh.headers["cache-control"]  # a transaction may still land
    tilejson = api.get(f"/tiles/cambridge/tilejson.json?as-of={old}").json()
    assert all("as-of=2026-01-01T00%3A00%3A00Z" in url for url in tilejson["tiles"])


def test_an_edit_moves_exactly_the_tiles_it_touches(api, engine, parcel) -> None:  # noqa: ANN001
    """After a change of one parcel, the tiles its geometry touches (per layer and per city,
    at two zooms) have new ETags; a tile across the city keeps its ETag (and its cached copy)."""
    key = create_key(engine, "land_bureau", "asof-tiles").key
    t = morecantile.tms.get("WebMercatorQuad")
    far = t.tile(-71.145, 42.385, 16), t.tile(-71.145, 42.385, 14)  # North Cambridge
    near = t.tile(parcel["lon"], parcel["lat"], 16), t.tile(parcel["lon"], parcel["lat"], 14)
    assert {(x.x, x.y) for x in far}.isdisjoint({(x.x, x.y) for x in near})

    def urls(tiles):  # noqa: ANN001, ANN202
        return [
            u
            for x in tiles
            for u in (
                f"/collections/cambridge__parcels/tiles/WebMercatorQuad/{x.z}/{x.x}/{x.y}",
                f"/tiles/cambridge/{x.z}/{x.x}/{x.y}",
            )
        ]

    def etags(paths) -> list[str]:  # noqa: ANN001
        return [api.get(p).headers["etag"] for p in paths]

    near_before, far_before = etags(urls(near)), etags(urls(far))
    fid = parcel["fid"]
    try:
        assert api.patch(
            f"{ITEMS}/{fid}",
            json={"properties": {"use_code": "325"}},
            headers={"X-API-Key": key, "If-Match": "*"},
        ).status_code == 200
        deadline = time.monotonic() + 5  # the listener reads where the edit was (NOTIFY)
        while etags(urls(far)) != far_before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert etags(urls(far)) == far_before
        after = etags(urls(near))
        assert all(a != b for a, b in zip(after, near_before, strict=True))
    finally:
        api.patch(
            f"{ITEMS}/{fid}",
            json={"properties": {"use_code": "101"}},
            headers={"X-API-Key": key, "If-Match": "*"},
        )
