"""Parts of the city tileset (``collections=``) and the public map's style that reads them."""

from __future__ import annotations

import warnings
from urllib.parse import parse_qs, urlsplit

import mapbox_vector_tile
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)

from digitalcity.db.keys import create_key
from digitalcity.tiles.content import LABEL_POINTS
from digitalcity.tiles.options import TileOptions
from digitalcity.tiles.seed import live_keys, map_tilesets, seed
from digitalcity.tiles.service import TileService
from digitalcity.tiles.tms import TileIndex

Z13 = (13, 2476, 3029)  # central Cambridge: parcels, zoning, census blocks and the base layers
Z16 = (16, 19822, 24236)  # Harvard Square
INTERNAL = "cambridge__utility_poles"


@pytest.fixture(scope="module")
def client(own_tiles_client):
    return own_tiles_client


@pytest.fixture(scope="module")
def planner(engine, loaded) -> dict[str, str]:
    return {"X-API-Key": create_key(engine, "planner", "selection tests").key}


def decode(response) -> dict[str, set[int]]:
    """{MVT layer: feature ids} of a tile response (an empty tile: {})."""
    if response.status_code == 204:
        return {}
    assert response.status_code == 200, response.text
    return {
        name: {f["id"] for f in layer["features"]}
        for name, layer in mapbox_vector_tile.decode(response.content).items()
    }


def catalog_layer(mvt_layer: str) -> str:
    return mvt_layer.removesuffix(LABEL_POINTS)


def collections_of(url: str) -> list[str]:
    return parse_qs(urlsplit(url).query)["collections"][0].split(",")


@pytest.mark.parametrize("tile", [Z13, Z16])
def test_the_parts_of_a_tile_add_up_to_the_whole(client, tile):
    """Each part of the public map's style holds its layers' features exactly as the whole
    tile does, and nothing else; together they hold the whole tile."""
    z, x, y = tile
    whole = decode(client.get(f"/tiles/cambridge/{z}/{x}/{y}"))
    style = client.get("/styles/cambridge/public?lang=en").json()
    together: dict[str, set[int]] = {}
    for source in style["sources"].values():
        url = source["tiles"][0].replace("http://testserver", "").format(z=z, x=x, y=y)
        chosen = {c.split("__", 1)[1] for c in collections_of(url)}
        part = decode(client.get(url))
        assert {catalog_layer(name) for name in part} <= chosen
        for name, ids in part.items():
            assert ids == whole[name], name
        assert not together.keys() & part.keys()
        together.update(part)
    assert together == whole
    assert len(whole) >= 5


def test_the_public_style_reads_the_base_and_each_theme_apart(client):
    style = client.get("/styles/cambridge/public?lang=zh").json()
    whole = client.get("/tiles/cambridge/tilejson.json").json()
    layers = {v["id"] for v in whole["vector_layers"] if not v["id"].endswith(LABEL_POINTS)}
    themes = {x["metadata"]["digitalcity:layer"] for x in style["layers"]
              if x.get("metadata", {}).get("digitalcity:theme")}  # fmt: skip
    assert themes >= {"parcels", "zoning_districts", "census_blocks_2020"}
    named = {}
    for name, source in style["sources"].items():
        ids = [c.split("__", 1)[1] for c in collections_of(source["tiles"][0])]
        named[name] = set(ids)
        if name == "cambridge":
            assert set(ids) == layers - themes
        else:
            assert len(ids) == 1 and ids[0] in themes and name == f"cambridge:{ids[0]}"
    assert set().union(*named.values()) == layers
    for layer in style["layers"]:
        if "source" in layer:
            assert layer["metadata"]["digitalcity:layer"] in named[layer["source"]], layer["id"]
    # the theme shown at first and the base are the only sources with a visible layer
    shown = {x["source"] for x in style["layers"]
             if "source" in x and x["layout"]["visibility"] == "visible"}  # fmt: skip
    assert shown == {"cambridge", "cambridge:parcels"}


def test_the_planner_and_qgis_read_the_whole_tileset(client, planner):
    for path, headers in [("/styles/cambridge/planner", planner),
                          ("/styles/cambridge/public?client=qgis", {})]:  # fmt: skip
        style = client.get(path, headers=headers).json()
        assert set(style["sources"]) == {"cambridge"}
        assert style["sources"]["cambridge"]["tiles"] == [
            "http://testserver/tiles/cambridge/{z}/{x}/{y}"
        ]


def test_a_selection_names_collections_the_caller_may_see(client, planner):
    z, x, y = Z16
    base = f"/tiles/cambridge/{z}/{x}/{y}"
    poles = decode(client.get(f"{base}?collections={INTERNAL}", headers=planner))
    assert set(poles) == {"utility_poles"}
    hidden = client.get(f"{base}?collections={INTERNAL}")
    unknown = client.get(f"{base}?collections=cambridge__no_such_layer")
    for response in (hidden, unknown):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
    # an internal layer is refused as an unknown one is: the answer says nothing of it
    assert hidden.json()["title"] == unknown.json()["title"]
    assert client.get(f"{base}?collections=xiamen__districts").status_code == 404
    assert client.get(f"{base}?collections=cambridge__parcels,{INTERNAL}").status_code == 404
    for bad in ("", ",", " , "):
        assert client.get(f"{base}?collections={bad}").status_code == 400
    assert client.get(f"{base}?collections={'x' * 9000}").status_code in (400, 422)
    # the order and repetition of the ids do not matter
    one = client.get(f"{base}?collections=cambridge__parcels,cambridge__zoning_districts")
    two = client.get(
        f"{base}?collections=cambridge__zoning_districts,cambridge__parcels,cambridge__parcels"
    )
    assert one.content == two.content and one.headers["etag"] == two.headers["etag"]
    assert set(decode(one)) == {"parcels", "zoning_districts"}  # zoning codes repeat: no points


def test_a_selection_outside_its_zooms_is_empty_and_keyed_apart(client):
    """Parcels start at z13: a z12 tile of parcels alone is empty (204), while the whole
    tile is not; a part's ETag is not the whole tile's."""
    whole = client.get("/tiles/cambridge/12/1238/1514")
    assert whole.status_code == 200
    assert (
        client.get("/tiles/cambridge/12/1238/1514?collections=cambridge__parcels").status_code
        == 204
    )
    z, x, y = Z16
    full = client.get(f"/tiles/cambridge/{z}/{x}/{y}")
    part = client.get(f"/tiles/cambridge/{z}/{x}/{y}?collections=cambridge__parcels")
    assert full.headers["etag"] != part.headers["etag"]
    again = client.get(
        f"/tiles/cambridge/{z}/{x}/{y}?collections=cambridge__parcels",
        headers={"If-None-Match": part.headers["etag"]},
    )
    assert again.status_code == 304


def test_tilejson_and_tileset_of_a_selection(client, planner):
    doc = client.get(
        "/tiles/cambridge/tilejson.json?collections=cambridge__zoning_districts"
    ).json()
    assert doc["tiles"] == [
        "http://testserver/tiles/cambridge/{z}/{x}/{y}?collections=cambridge__zoning_districts"
    ]
    assert {v["id"] for v in doc["vector_layers"]} <= {"zoning_districts", "zoning_districts-label"}
    assert "zoning_districts" in {v["id"] for v in doc["vector_layers"]}
    ogc = client.get(
        f"/tiles/cambridge/WebMercatorQuad?collections=cambridge__parcels,{INTERNAL}",
        headers=planner,
    ).json()
    assert {x["id"] for x in ogc["layers"]} >= {"parcels", "utility_poles"}
    assert not {x["id"] for x in ogc["layers"]} - {"parcels", "parcels-label", "utility_poles"}
    item = next(link for link in ogc["links"] if link["rel"] == "item")
    assert item["href"].endswith(f"?collections=cambridge__parcels,{INTERNAL}")
    assert client.get(f"/tiles/cambridge/tilejson.json?collections={INTERNAL}").status_code == 404


def test_seeding_renders_the_public_maps_parts_and_pruning_keeps_them(
    loaded, catalog, engine, tmp_path
):
    service = TileService(catalog, TileOptions(tiles_dir=tmp_path, render_cores=1))
    service.start(engine, listen=False)
    try:
        report = seed(service, engine, "cambridge", range(13, 14), ["anonymous"])
        parts = service.public_map_parts("cambridge")
        assert len(parts) >= 3
        z, x, y = Z13
        tile = TileIndex(z, x, y)
        for part in parts:
            tileset = service.city_tileset("cambridge", "anonymous", z, layers=part)
            if tileset.plans:
                assert service.cached(tileset, tile) is not None, sorted(part)  # no rendering
        tilesets = {t.key.versions for t in map_tilesets(service, "cambridge", "anonymous", z)}
        assert len(tilesets) > 1 and report.tiles >= len(tilesets)
        assert service.cache.prune(live_keys(service)) == 0
        assert all(service.cached(t, tile) is not None
                   for t in map_tilesets(service, "cambridge", "anonymous", z))  # fmt: skip
        # a selection no map reads is rendered when asked and never stored, so callers
        # asking for ever other selections cannot fill the disk
        other = service.city_tileset(
            "cambridge", "anonymous", z, layers=frozenset({"parcels", "zoning_districts"})
        )
        assert not other.stored and service.tile(engine, other, tile)
        assert service.cached(other, tile) is None
    finally:
        service.stop()
