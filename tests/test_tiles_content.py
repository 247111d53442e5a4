"""Served tiles against PostGIS: features, properties, access, HTTP semantics, bad input."""

from __future__ import annotations

import gzip
import re
import subprocess
import warnings

import mapbox_vector_tile
import pytest
import sqlalchemy as sa

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)

from digitalcity.db.keys import create_key
from digitalcity.tiles.content import LABEL_POINTS, label_points_layer, label_zooms

CENTRE_Z16 = (16, 19822, 24236)  # Harvard Square area, Cambridge
MVT = "application/vnd.mapbox-vector-tile"
INTERNAL_FIELDS = {"land_value", "building_value", "total_value", "sale_date"}


@pytest.fixture(scope="module")
def client(own_tiles_client):
    return own_tiles_client


@pytest.fixture(scope="module")
def planner(engine, loaded) -> dict[str, str]:
    return {"X-API-Key": create_key(engine, "planner", "tile tests").key}


def decode(response) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MVT
    return mapbox_vector_tile.decode(response.content)


def tile_url(collection: str, z: int, x: int, y: int) -> str:
    return f"/collections/{collection}/tiles/WebMercatorQuad/{z}/{x}/{y}"


def intersecting(engine, table: str, z: int, x: int, y: int) -> dict[int, dict]:
    """Rows whose geometry meets the tile envelope grown by the 64/4096 MVT buffer."""
    query = sa.text(
        f"SELECT * FROM {table} WHERE ST_Intersects(ST_Transform(geom, 3857), "  # noqa: S608
        "ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096))"
    )
    with engine.connect() as conn:
        return {r.fid: dict(r._mapping) for r in conn.execute(query, {"z": z, "x": x, "y": y})}


def test_parcels_tile_matches_postgis(client, engine):
    z, x, y = CENTRE_Z16
    layer = decode(client.get(tile_url("cambridge__parcels", z, x, y)))["parcels"]
    expected = intersecting(engine, "cambridge.parcels", z, x, y)
    assert len(expected) > 100
    assert {f["id"] for f in layer["features"]} == set(expected)
    for feature in layer["features"]:
        row = expected[feature["id"]]
        props = feature["properties"]
        for name in ("ml", "address", "use_code", "landuse_l1", "year_built", "stories"):
            assert props.get(name) == row[name], (feature["id"], name)
        assert not INTERNAL_FIELDS & set(props)
    assert layer["extent"] == 4096


def test_planner_sees_internal_fields_and_layers(client, engine, planner):
    z, x, y = CENTRE_Z16
    props = decode(client.get(tile_url("cambridge__parcels", z, x, y), headers=planner))
    assert any("total_value" in f["properties"] for f in props["parcels"]["features"])
    anonymous = decode(client.get(f"/tiles/cambridge/{z}/{x}/{y}"))
    keyed = decode(client.get(f"/tiles/cambridge/{z}/{x}/{y}", headers=planner))
    assert "utility_poles" not in anonymous and "drainage" not in anonymous
    poles = intersecting(engine, "cambridge.utility_poles", z, x, y)
    assert poles and {f["id"] for f in keyed["utility_poles"]["features"]} == set(poles)
    assert set(anonymous) < set(keyed)


def test_city_tileset_holds_the_layers_meant_for_the_zoom(client, catalog):
    public = {
        layer.id: layer for layer in catalog.city_layers("cambridge") if layer.access == "public"
    }
    for z, x, y in ((12, 1238, 1514), CENTRE_Z16):
        layers = decode(client.get(f"/tiles/cambridge/{z}/{x}/{y}"))
        assert layers and {name.removesuffix(LABEL_POINTS) for name in layers} <= set(public)
        for name in layers:
            layer = public[name.removesuffix(LABEL_POINTS)]
            if name.endswith(LABEL_POINTS):  # a polygon layer's label points, at their zooms
                assert name == label_points_layer(layer) and z in label_zooms(layer)
            else:
                assert layer.min_zoom <= z <= layer.max_zoom
    assert "neighbourhoods-label" in decode(client.get("/tiles/cambridge/12/1238/1514"))
    assert "parcels" not in decode(client.get("/tiles/cambridge/12/1238/1514"))


def test_low_zoom_tiles_are_simplified(client):
    z13 = client.get("/collections/cambridge__parcels/tiles/WebMercatorQuad/13/2477/3029")
    assert z13.status_code == 200
    assert len(z13.content) < 1_500_000  # half-pixel simplification keeps z13 well bounded


def test_gdal_opens_a_served_tile(client, tmp_path):
    z, x, y = CENTRE_Z16
    response = client.get(f"/tiles/cambridge/{z}/{x}/{y}")
    layers = decode(response)
    path = tmp_path / str(z) / str(x) / f"{y}.pbf"
    path.parent.mkdir(parents=True)
    path.write_bytes(response.content)
    out = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(path)], capture_output=True, text=True, check=True
    ).stdout
    counts = dict(re.findall(r"Layer name: ([\w-]+).*?Feature Count: (\d+)", out, re.S))
    assert set(counts) == set(layers)
    for name, layer in layers.items():
        assert int(counts[name]) == len(layer["features"]), name


def test_empty_tiles_are_204(client):
    assert client.get("/tiles/cambridge/14/0/0").status_code == 204
    assert client.get(tile_url("cambridge__parcels", 14, 0, 0)).status_code == 204
    below_min_zoom = client.get(tile_url("cambridge__parcels", 10, 309, 378))
    assert below_min_zoom.status_code == 204 and below_min_zoom.content == b""


def test_etag_304_gzip_and_cache_control(client, planner):
    url = tile_url("cambridge__parcels", *CENTRE_Z16)
    first = client.get(url)
    etag = first.headers["etag"]
    assert first.headers["content-encoding"] == "gzip"
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert mapbox_vector_tile.decode(plain.content) == mapbox_vector_tile.decode(first.content)
    keyed = client.get(url, headers=planner)
    assert keyed.headers["cache-control"].startswith("private")
    assert keyed.headers["etag"] != etag  # another field set
    assert client.get(url, headers={**planner, "If-None-Match": etag}).status_code == 200


def test_stored_tiles_are_gzip(client, settings):
    client.get(tile_url("cambridge__parcels", *CENTRE_Z16))
    tiles_dir = client.app.state.tile_service.options.cache_dir
    stored = list(tiles_dir.glob("cambridge/parcels/*/*/16/19822/24236.mvt"))
    assert stored
    assert mapbox_vector_tile.decode(gzip.decompress(stored[0].read_bytes()))["parcels"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/tiles/cambridge/14/a/6059", 400),
        ("/tiles/cambridge/14/4955/6059.5", 400),
        ("/tiles/cambridge/25/0/0", 404),
        ("/tiles/cambridge/14/16384/0", 404),
        ("/tiles/cambridge/14/-1/0", 404),
        ("/tiles/cambridge/3/0/99999999999999999999999", 404),
        ("/tiles/cambridge/WorldCRS84Quad/1/0/0", 404),
        ("/tiles/cambridge/Nonsense", 404),
        ("/tiles/atlantis/1/0/0", 404),
        ("/collections/cambridge__parcels/tiles/NoSuchTMS/14/4955/6059", 404),
        ("/collections/cambridge__parcels/tiles/NoSuchTMS", 404),
        ("/collections/cambridge__nothing/tiles/WebMercatorQuad/14/4955/6059", 404),
        ("/collections/parcels/tiles", 404),
        ("/tileMatrixSets/NoSuchTMS", 404),
    ],
)
def test_bad_input_is_problem_json(client, url, status):
    response = client.get(url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


@pytest.mark.parametrize(
    "path",
    [
        "/collections/cambridge__drainage/tiles",
        "/collections/cambridge__drainage/tiles/WebMercatorQuad",
        "/collections/cambridge__drainage/tiles/WebMercatorQuad/tilejson.json",
        "/collections/cambridge__drainage/tiles/WebMercatorQuad/14/4955/6059",
        "/collections/cambridge__utility_poles/tiles/WebMercatorQuad/16/19822/24236",
    ],
)
def test_internal_layers_are_404_for_anonymous(client, planner, path):
    refused = client.get(path)
    assert refused.status_code == 404
    assert refused.json()["detail"].startswith("unknown collection")
    assert client.get(path, headers=planner).status_code in (200, 204)


def test_tile_copies_store_geometries_uncompressed(client, engine):
    """The EPSG:3857 copies tiles read keep every geometry column uncompressed."""
    assert client.get(tile_url("cambridge__parcels", *CENTRE_Z16)).status_code == 200
    with engine.connect() as conn:
        storage = (
            conn.execute(
                sa.text(
                    "SELECT DISTINCT a.attstorage FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "JOIN pg_type t ON t.oid = a.atttypid "
                    "WHERE n.nspname = 'digitalcity_tiles' AND c.relkind = 'r' "
                    "AND t.typname = 'geometry' AND a.attnum > 0"
                )
            )
            .scalars()
            .all()
        )
    assert storage == ["e"]
