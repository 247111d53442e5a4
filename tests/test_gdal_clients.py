"""GDAL, a client no one here wrote, against the live API at its default options: a full
OAPIF copy of the parcels, a -where answered by the server, and OGC API – Tiles."""

from __future__ import annotations

import json
import subprocess

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
