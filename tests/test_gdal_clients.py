"""GDAL, a client no one here wrote, against the live API at its default options: a full
OAPIF copy of the parcels (every value of every field, including fields empty on the first
page, which the pages after it leave out when null), a -where answered by the server, and
OGC API – Tiles."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import sqlalchemy as sa

from digitalcity.catalog.access import visible_fields
from digitalcity.db.schema import layer_table

PARCELS = "cambridge__parcels"
PARCEL_COUNT = 13_116
SPARSE = "cambridge__street_centerlines"  # a field with no value on its first 10 features
QGIS_PYTHON = "/usr/bin/python3"  # Debian's, with python3-qgis (3.22 on bookworm)


def _run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=True)


def filled_in_database(engine, catalog, collection: str) -> dict[str, int]:  # noqa: ANN001
    """Per public field of a Cambridge collection, how many features have a value, counted
    in PostGIS; asserts that some field has none on GDAL's and QGIS's first page (the first
    10 features by id) but has values further on: the case a copy would lose were that page
    to leave its nulls out as the pages after it do."""
    layer = catalog.layer("cambridge", collection.removeprefix("cambridge__"))
    table = layer_table(layer, catalog.city("cambridge"))
    names = [f.name for f in visible_fields("anonymous", layer)]
    first = sa.select(table).order_by(table.c.fid).limit(10).subquery()
    with engine.connect() as conn:
        counts = conn.execute(sa.select(*(sa.func.count(table.c[n]) for n in names))).one()
        on_first = conn.execute(sa.select(*(sa.func.count(first.c[n]) for n in names))).one()
    filled = dict(zip(names, counts, strict=True))
    empty_first = [n for n, seen in zip(names, on_first, strict=True) if seen == 0]
    assert any(filled[n] > 0 for n in empty_first), (empty_first, filled)
    return filled


def test_ogr2ogr_copies_every_parcel_at_default_options(live_server, tmp_path):
    target = tmp_path / "parcels.gpkg"
    _run("ogr2ogr", "-f", "GPKG", str(target), f"OAPIF:{live_server}", PARCELS)
    info = _run("ogrinfo", "-ro", "-so", str(target), PARCELS).stdout
    assert f"Feature Count: {PARCEL_COUNT}" in info


def test_ogr2ogr_copies_values_the_first_page_lacks(live_server, tmp_path, engine, catalog):
    """At GDAL's default pages of 10, every value of every field arrives, including a field
    empty on the first page (which GDAL 3.6 reads the layer's fields from)."""
    filled = filled_in_database(engine, catalog, SPARSE)
    target = tmp_path / "sparse.gpkg"
    _run("ogr2ogr", "-f", "GPKG", str(target), f"OAPIF:{live_server}", SPARSE)
    with closing(sqlite3.connect(target)) as gpkg:  # a GeoPackage is an SQLite database
        counts = gpkg.execute(
            "SELECT "  # noqa: S608 - the API's own field names
            + ", ".join(f'count("{n}")' for n in filled)
            + f' FROM "{SPARSE}"'
        ).fetchone()
    assert dict(zip(filled, counts, strict=True)) == filled


def test_ogr2ogr_types_fields_from_the_schema(live_server, tmp_path, engine, catalog):
    """GDAL 3.6 takes field types from the collection's ``describedBy`` schema: a number
    field empty on the first page stays a number in the copy (guessed from the page alone,
    an all-null field is text), with every value."""
    zoning = "cambridge__zoning_districts"
    field = "min_open_space_pct"  # float, null on the first 10 districts
    layer = catalog.layer("cambridge", "zoning_districts")
    table = layer_table(layer, catalog.city("cambridge"))
    first = sa.select(table.c[field]).order_by(table.c.fid).limit(10).subquery()
    with engine.connect() as conn:
        on_first = conn.execute(sa.select(sa.func.count(first.c[field]))).scalar_one()
        filled = conn.execute(sa.select(sa.func.count(table.c[field]))).scalar_one()
    assert on_first == 0 < filled
    target = tmp_path / "zoning.gpkg"
    _run("ogr2ogr", "-f", "GPKG", str(target), f"OAPIF:{live_server}", zoning)
    with closing(sqlite3.connect(target)) as gpkg:
        columns = {row[1]: row[2] for row in gpkg.execute(f'PRAGMA table_info("{zoning}")')}
        copied = gpkg.execute(f'SELECT count("{field}") FROM "{zoning}"').fetchone()[0]  # noqa: S608
    assert columns[field] == "REAL" and copied == filled
    assert columns["controls_note"] == "TEXT"


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


class _Recorder(ThreadingHTTPServer):
    """An HTTP forwarder that records each request's path: the links in our answers point
    back at it (the Host header is passed on), so every page a client follows is seen."""

    def __init__(self, target: str) -> None:
        self.target, self.paths = target, []
        super().__init__(("127.0.0.1", 0), _Forward)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Forward(BaseHTTPRequestHandler):
    server: _Recorder

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        self.server.paths.append(self.path)
        passed = {k: v for k, v in self.headers.items() if k.lower() in ("host", "accept")}
        answer = httpx.get(self.server.target + self.path, headers=passed, timeout=120)
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *args: object) -> None:
        pass


def test_qgis_reads_every_parcel_in_pages_of_the_declared_size(live_server) -> None:  # noqa: ANN001
    """QGIS 3.22's own OAPIF provider (python3-qgis, Debian's Python, offscreen) opens the
    parcels and reads every one. It takes its page size from the ``limit`` that /api
    declares (without it, QGIS falls back to pages of 100): here 1,000, so 14 pages after a
    first sample of 10."""
    recorder = _Recorder(live_server)
    thread = threading.Thread(target=recorder.serve_forever, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            [QGIS_PYTHON, str(Path(__file__).with_name("qgis_layer_probe.py")), "oapif",
             recorder.url, PARCELS],
            capture_output=True, text=True, timeout=600,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )  # fmt: skip
    finally:
        recorder.shutdown()
        thread.join(timeout=10)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["valid"], out
    assert out["read"] == out["with_geometry"] == PARCEL_COUNT
    pages = [
        parse_qs(urlsplit(p).query)
        for p in recorder.paths
        if urlsplit(p).path == f"/collections/{PARCELS}/items"
    ]
    # the first request samples the layer (QGIS asks for 10 features to learn the fields);
    # every page after it is of the declared size
    limits = [int(q["limit"][0]) for q in pages if "limit" in q]
    assert len(limits) == len(pages) and set(limits[1:]) == {1000}, recorder.paths[:20]
    assert len(pages) <= PARCEL_COUNT // 1000 + 2, len(pages)


def test_qgis_reads_values_the_first_page_lacks(live_server, engine, catalog) -> None:  # noqa: ANN001
    """QGIS takes the layer's fields from a first sample of 10 features: a field empty there
    still reaches QGIS with every value it has further on."""
    filled = filled_in_database(engine, catalog, SPARSE)
    done = subprocess.run(
        [QGIS_PYTHON, str(Path(__file__).with_name("qgis_layer_probe.py")), "oapif",
         live_server, SPARSE],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["valid"], out
    assert {n: out["filled"].get(n) for n in filled} == filled
