"""GDAL, a client no one here wrote, against the live API at its default options: a full
OAPIF copy of the parcels, a -where answered by the server, and OGC API – Tiles."""

from __future__ import annotations

import json
import subprocess
import sys

PARCELS = "cambridge__parcels"
PARCEL_COUNT = 13_116


def _run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=True)


def test_ogr2ogr_copies_every_parcel_at_default_options(live_server, tmp_path):
    target = tmp_path / "parcels.gpkg"
    _run("ogr2ogr", "-f", "GPKG", str(target), f"OAPIF:{live_server}", PARCELS)
    info = _run("ogrinfo", "-ro", "-so", str(target), PARCELS).stdout
    assert f"Feature Count: {PARCEL_COUNT}" in info


def test_where_on_a_queryable_is_answered_by_the_server(live_server, client, tmp_path):
    sample = client.get(f"/collections/{PARCELS}/items", params={"limit": 1}).json()
    queryables = client.get(f"/collections/{PARCELS}/queryables").json()["properties"]
    name = next(
        k for k, v in queryables.items()
        if v.get("type") == "string" and sample["features"][0]["properties"].get(k)
    )  # fmt: skip
    value = sample["features"][0]["properties"][name]
    expected = client.get(f"/collections/{PARCELS}/items", params={name: value, "limit": 1}).json()[
        "numberMatched"
    ]
    target = tmp_path / "subset.geojson"
    run = _run(
        "ogr2ogr", "--debug", "ON", "-f", "GeoJSON", str(target), f"OAPIF:{live_server}",
        PARCELS, "-where", f"{name} = '{value}'",
    )  # fmt: skip
    assert "client side" not in run.stderr, run.stderr[-2000:]
    features = json.loads(target.read_text())["features"]
    assert len(features) == expected >= 1
    assert all(f["properties"][name] == value for f in features)
    assert f"{name}=" in run.stderr  # the request GDAL sent carried the filter


def test_tilesets_vector_links_lead_to_tiles(client):
    """The path an OGC API – Tiles client takes: collection → tilesets-vector → tileset →
    tile matrix set (2.0 with the 1.0 members GDAL 3.6 reads) → an MVT tile."""
    rel = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
    landing = client.get("/").json()["links"]
    assert any(link["rel"] == rel and link["href"].endswith("/tiles/cambridge") for link in landing)
    links = client.get(f"/collections/{PARCELS}").json()["links"]
    tilesets = client.get(next(link["href"] for link in links if link["rel"] == rel)).json()
    entry = tilesets["tilesets"][0]
    tileset_rel = "http://www.opengis.net/def/rel/ogc/1.0/tileset"
    tileset = client.get(next(x["href"] for x in entry["links"] if x["rel"] == tileset_rel)).json()
    tms = client.get(tileset["tileMatrixSetDefinition"]).json()
    assert tms["identifier"] == tms["id"] == "WebMercatorQuad" and tms["boundingBox"]
    assert all(m["topLeftCorner"] == m["pointOfOrigin"] for m in tms["tileMatrices"])
    template = next(x["href"] for x in tileset["links"] if x["rel"] == "item")
    tile = client.get(
        template.replace("{tileMatrix}", "15").replace("{tileCol}", "9913")
        .replace("{tileRow}", "12119")
    )  # fmt: skip
    assert tile.status_code == 200 and tile.headers["content-type"].startswith(
        "application/vnd.mapbox-vector-tile"
    )


def test_a_current_gdal_reads_the_vector_tiles_through_ogc_api(live_server, client):
    """GDAL's OGCAPI driver (3.12, the one pyogrio ships; Debian's 3.6.2 is built without its
    vector-tile branch) opens a collection's vector tiles, one layer per zoom, with the fields
    the tiles carry. GDAL reads the collection's CRS84 extent as tile-CRS coordinates, so the
    extent in EPSG:3857 goes in as open options (MINX...). In a subprocess: GDAL's requests
    must not wait on this process's server thread."""
    from pyproj import Transformer

    west, south, east, north = client.get("/collections/cambridge__hydrants").json()["extent"][
        "spatial"
    ]["bbox"][0]
    to_3857 = Transformer.from_crs(4326, 3857, always_xy=True)
    minx, miny = to_3857.transform(west, south)
    maxx, maxy = to_3857.transform(east, north)
    script = (
        "import json, sys, pyogrio\n"
        "url, *box = sys.argv[1:]\n"
        "opts = dict(zip(['MINX', 'MINY', 'MAXX', 'MAXY'], box), API='TILES')\n"
        "info = pyogrio.read_info(url, layer='Zoom level 16', **opts)\n"
        "frame = pyogrio.read_dataframe(url, layer='Zoom level 16', **opts)\n"
        "print(json.dumps({'driver': info['driver'], 'crs': info['crs'],"
        " 'fields': list(info['fields']), 'ids': sorted(set(int(v) for v in frame['mvt_id']))}))\n"
    )
    url = f"OGCAPI:{live_server}/collections/cambridge__hydrants"
    done = subprocess.run(
        [sys.executable, "-c", script, url, *(str(v) for v in (minx, miny, maxx, maxy))],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["driver"] == "OGCAPI" and out["crs"] == "EPSG:3857"
    assert {"hydrant_id", "lifecycle_status"} <= set(out["fields"])
    matched = client.get("/collections/cambridge__hydrants/items", params={"limit": 1}).json()[
        "numberMatched"
    ]
    assert len(out["ids"]) == matched  # every hydrant (its feature id), from the tiles
