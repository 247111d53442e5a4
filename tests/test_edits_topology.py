"""The topology rule against overlaps (拓扑规则, ``[editing] no_overlaps``) over real HTTP, on
a copy of Cambridge's parcels (``topo_parcels``) with the rule on. The assessor's parcels
overlap each other in places (97 pairs, up to 3,469 m²), so the rule refuses only what an edit
adds: a vertex pushed 3 m into the neighbour is refused, naming it and the m² (in the caller's
language), and nothing is written; a shape shrunk, the fields of an overlapping parcel, and its
shape sent back unchanged all pass; a new parcel drawn over others is refused. PostGIS measures
the rows."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from conftest import editable_copy, polygon_feature, serve_with_layers

from digitalcity.catalog.model import LayerDef
from digitalcity.db.keys import create_key

PARCELS = "topo_parcels"
ITEMS = f"/collections/cambridge__{PARCELS}/items"


def _rule_copy(catalog) -> LayerDef:  # noqa: ANN001
    copy = editable_copy(catalog, "parcels", PARCELS)
    assert copy.editing is not None
    return copy.model_copy(
        update={"editing": copy.editing.model_copy(update={"no_overlaps": True, "snap_m": 0.05})}
    )


@pytest.fixture(scope="module")
def http(settings, catalog, engine, loaded) -> Iterator[httpx.Client]:  # noqa: ANN001
    for base in serve_with_layers(settings, catalog, engine, [_rule_copy(catalog)]):
        with httpx.Client(base_url=base, timeout=60) as client:
            yield client


@pytest.fixture(scope="module")
def bureau(engine, loaded) -> str:  # noqa: ANN001
    return create_key(engine, "land_bureau", "topology").key


def _one(engine, sql: str) -> Any:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).one()


def _patch(http: httpx.Client, key: str, fid: int, body: dict, lang: str = "en") -> httpx.Response:
    etag = http.get(f"{ITEMS}/{fid}").headers["etag"]
    headers = {
        "X-API-Key": key,
        "If-Match": etag,
        "X-Change-Reason": "topology test",
        "Accept-Language": lang,
    }
    return http.patch(f"{ITEMS}/{fid}", json=body, headers=headers)


def _moved_vertex(geometry: dict[str, Any], towards: tuple[float, float], metres: float) -> dict:
    """``geometry`` (a one-part MultiPolygon, lon/lat) with its first vertex (and the ring's
    closing one) moved ``metres`` towards the point ``towards``."""
    ring = [list(p) for p in geometry["coordinates"][0][0]]
    x, y = ring[0]
    dx = (towards[0] - x) * math.cos(math.radians(y)) * 111_320
    dy = (towards[1] - y) * 111_320
    scale = metres / math.hypot(dx, dy)
    moved = [x + (towards[0] - x) * scale, y + (towards[1] - y) * scale]
    ring[0] = ring[-1] = moved
    return {"type": "MultiPolygon", "coordinates": [[ring, *geometry["coordinates"][0][1:]]]}


def _pair_sharing_first_vertex(engine) -> tuple[int, int, float, float]:  # noqa: ANN001
    """A one-part parcel without overlaps whose first vertex is shared with a neighbour, the
    neighbour, and a point inside the neighbour (lon/lat)."""
    row = _one(
        engine,
        "SELECT p.fid, o.fid AS other, ST_X(ST_PointOnSurface(o.geom)) x, "  # noqa: S608
        "ST_Y(ST_PointOnSurface(o.geom)) y FROM (SELECT fid, geom, "
        "ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1) AS first FROM "
        f"cambridge.{PARCELS} WHERE ST_NumGeometries(geom) = 1 "  # noqa: S608
        "AND ST_NumInteriorRings(ST_GeometryN(geom, 1)) = 0 ORDER BY fid LIMIT 300) p "
        f"JOIN cambridge.{PARCELS} o ON o.fid <> p.fid AND ST_Intersects(o.geom, p.first) "
        "WHERE ST_Area(o.geom::geography) > 300 AND NOT EXISTS (SELECT 1 FROM "
        f"cambridge.{PARCELS} q WHERE q.fid <> p.fid AND ST_Intersects(q.geom, p.geom) "
        "AND ST_Relate(q.geom, p.geom, '2********')) ORDER BY p.fid LIMIT 1",
    )
    return int(row.fid), int(row.other), float(row.x), float(row.y)


def test_an_edit_may_not_push_a_parcel_into_its_neighbour(http, bureau, engine) -> None:  # noqa: ANN001
    fid, _, x, y = _pair_sharing_first_vertex(engine)
    before = http.get(f"{ITEMS}/{fid}")
    geometry = before.json()["geometry"]
    into = _patch(http, bureau, fid, {"geometry": _moved_vertex(geometry, (x, y), 3.0)})
    assert into.status_code == 400, into.text
    faults = " ".join(into.json()["faults"])
    assert "would overlap feature" in faults and "m²" in faults
    zh = _patch(http, bureau, fid, {"geometry": _moved_vertex(geometry, (x, y), 3.0)}, "zh")
    assert zh.status_code == 400 and "将与要素" in " ".join(zh.json()["faults"])
    assert http.get(f"{ITEMS}/{fid}").headers["etag"] == before.headers["etag"]  # not written
    # shrunk (the vertex moved into the parcel itself): a gap is no overlap
    inside = _one(
        engine,
        "SELECT ST_X(c) x, ST_Y(c) y FROM (SELECT ST_PointOnSurface(geom) c "  # noqa: S608
        f"FROM cambridge.{PARCELS} WHERE fid = {fid}) s",
    )
    inward = _moved_vertex(geometry, (inside.x, inside.y), 0.5)
    shrunk = _patch(http, bureau, fid, {"geometry": inward})
    assert shrunk.status_code == 200, shrunk.text


def test_overlaps_already_in_the_data_do_not_block_an_edit(http, bureau, engine) -> None:  # noqa: ANN001
    # a small parcel over one of the larger ones, away from those the other tests edit
    row = _one(
        engine,
        "SELECT b.fid FROM (SELECT fid, geom FROM "  # noqa: S608
        f"cambridge.{PARCELS} WHERE ST_NumGeometries(geom) = 1 AND ST_NPoints(geom) < 500 "
        f"ORDER BY ST_Area(geom) DESC LIMIT 100) a JOIN cambridge.{PARCELS} b ON a.fid <> b.fid "
        "AND a.geom && b.geom AND ST_Overlaps(a.geom, b.geom) AND ST_NPoints(b.geom) < 200 "
        "AND ST_NumGeometries(b.geom) = 1 "
        "AND ST_Area(ST_Intersection(a.geom, b.geom)::geography) > 10 ORDER BY b.fid DESC LIMIT 1",
    )
    fid = int(row.fid)
    item = http.get(f"{ITEMS}/{fid}").json()
    fields = _patch(http, bureau, fid, {"properties": {"address": "1 OVERLAP TEST ST"}})
    assert fields.status_code == 200, fields.text
    same = _patch(http, bureau, fid, {"geometry": item["geometry"]})  # back through 7 decimals
    assert same.status_code == 200, same.text


def test_a_new_parcel_over_others_is_refused(http, bureau, engine) -> None:  # noqa: ANN001
    fid, _, x, y = _pair_sharing_first_vertex(engine)
    d = 0.0001
    ring = [[x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d], [x - d, y - d]]
    count = _one(engine, f"SELECT count(*) n FROM cambridge.{PARCELS}").n  # noqa: S608
    created = http.post(
        ITEMS,
        json=polygon_feature(ring),
        headers={"X-API-Key": bureau, "X-Change-Reason": "topology test"},
    )
    assert created.status_code == 400, created.text
    assert "would overlap feature" in " ".join(created.json()["faults"])
    assert _one(engine, f"SELECT count(*) n FROM cambridge.{PARCELS}").n == count  # noqa: S608
    # in a collection: the feature named by its place, and none created (all or none)
    both = http.post(
        ITEMS,
        json={
            "type": "FeatureCollection",
            "features": [polygon_feature(ring), polygon_feature(ring)],
        },
        headers={"X-API-Key": bureau, "X-Change-Reason": "topology test"},
    )
    assert both.status_code == 400, both.text
    assert any(f.startswith("feature 0: ") for f in both.json()["faults"])
    assert _one(engine, f"SELECT count(*) n FROM cambridge.{PARCELS}").n == count  # noqa: S608


def test_the_rule_is_for_polygons_and_on_cambridge_zoning(catalog) -> None:  # noqa: ANN001
    zoning = catalog.layer("cambridge", "zoning_districts")
    assert zoning.editing is not None and zoning.editing.no_overlaps
    hydrants = catalog.layer("cambridge", "hydrants").model_dump(mode="python", exclude_none=True)
    hydrants["editing"] = {"enabled": True, "no_overlaps": True}
    with pytest.raises(ValueError, match="polygon layers only"):
        LayerDef.model_validate(hydrants)
