"""Desktop-client benchmark: deep pages and a full-layer OAPIF copy with GDAL.

In one run against one database (a throwaway cluster with Cambridge loaded by our loaders):

- the time of an uncached items page (page cache off) at depth 0, 5,000 and 13,000 of the
  parcels, reached by key (``after``, what the ``next`` links use) and by ``offset``, as a
  ratio to the page at depth 0 (target: within 1.3x);
- ``ogr2ogr`` of every parcel through OAPIF at GDAL's default options, against ``ogr2ogr``
  of the same table straight from PostgreSQL (the floor; target: at most 3x), and against
  GDAL alone: the same requests answered from memory by a replay server (the client's share);
- the GeoPackage export of every parcel (``items?f=gpkg``, downloaded to a file) against
  ``ogr2ogr`` PostgreSQL -> GeoPackage (target: at most 1.5x).

With ``--dataset osm`` (or ``both``), on the SYNTHETIC OSM-like dataset
(``bench/common/osmlike.py``): ``ogr2ogr`` of all 246,900 roads through OAPIF with
``PAGE_SIZE=1000``, from our server and from tipg, against ``ogr2ogr`` from PostgreSQL (the
floor; target: within 3x, and faster than tipg by a wide margin) and against GDAL alone.

    python -m bench.api.clients [--repeat 15] [--limit 100] [--runs 3]
                                [--dataset cambridge|osm|both]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pyogrio
import sqlalchemy as sa

from bench.api.__main__ import Dataset, osm_like
from bench.common.city import CITY, CityDB, city_db
from bench.common.replay import gdal_requests, record, replay
from bench.common.runner import http_jobs, run
from bench.common.servers import tipg_env, uvicorn_server
from digitalcity.catalog.ids import collection_id
from digitalcity.db.schema import layer_table

DEPTHS = (0, 5_000, 13_000)


def _ids(db: CityDB) -> list[int]:
    layer = db.catalog.layer(CITY, "parcels")
    table = layer_table(layer, db.catalog.city(CITY))
    with db.engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.select(table.c.fid).order_by(table.c.fid))]


def _page_ms(base: str, path: str, repeat: int) -> float:
    result = run(http_jobs(base, [path] * repeat, 1), 1)
    assert set(result.statuses) == {200}, result.statuses
    return result.median_ms()


def deep_pages(base: str, parcels: str, ids: list[int], limit: int, repeat: int) -> None:
    items = f"/collections/{parcels}/items?limit={limit}"
    run(http_jobs(base, [items] * 5, 1), 1)  # connect, compile
    by_key, by_offset = {}, {}
    for depth in DEPTHS:
        key = f"{items}&after={ids[depth - 1]}" if depth else items
        by_key[depth] = _page_ms(base, key, repeat)
        by_offset[depth] = _page_ms(base, f"{items}&offset={depth}", repeat)
    print(f"\nuncached page of {limit} parcels (page cache off), median of {repeat}")
    for depth in DEPTHS:
        print(
            f"  depth {depth:>6,}: by key {by_key[depth]:6.1f} ms "
            f"({by_key[depth] / by_key[0]:.2f}x page 1, target <= 1.3x)   "
            f"by offset {by_offset[depth]:6.1f} ms ({by_offset[depth] / by_offset[0]:.2f}x)"
        )


def _timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, timeout=900)
    return time.perf_counter() - start


def _count(path: Path, layer: str) -> int:
    out = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(path), layer], capture_output=True, text=True, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("Feature Count:"))
    return int(line.split(":")[1])


def _gdal_alone(base: str, args: list[str], runs: int) -> float:
    """The same ``ogr2ogr`` against a server that replays our answers from memory: what GDAL
    itself takes (requests, GeoJSON parsing, GPKG writing) whatever the server."""
    requests = gdal_requests(args)
    answers = record(requests, base)
    times = []
    with replay(answers, base) as fake, tempfile.TemporaryDirectory() as tmp:
        for n in range(runs):
            out = Path(tmp) / f"replay{n}.gpkg"
            swapped = [a.replace(base, fake) for a in args]
            swapped[swapped.index("GPKG") + 1] = str(out)
            times.append(_timed(swapped))
    return statistics.median(times)


def _current_gdal_copy(base: str, parcels: str, out: Path) -> tuple[float, int]:
    """The same copy with the GDAL that pyogrio ships (a current release, which takes its page
    size from the ``limit`` maximum in /api): read as Arrow, written as GeoPackage."""
    start = time.perf_counter()
    meta, table = pyogrio.read_arrow(f"OAPIF:{base}", layer=parcels)
    pyogrio.write_arrow(
        table,
        out,
        layer=parcels,
        driver="GPKG",
        geometry_name=meta["geometry_name"] or "wkb_geometry",
        geometry_type=meta["geometry_type"],
        crs=meta["crs"],
    )
    return time.perf_counter() - start, table.num_rows


def full_copy(base: str, db: CityDB, parcels: str, runs: int) -> float:
    """GDAL's defaults (GDAL 3.6 asks for pages of 10) and pages of the ``limit`` maximum
    declared in /api (what GDAL >= 3.8 and QGIS use), against ogr2ogr from PostgreSQL; and
    each against GDAL's own floor, the same requests answered by a zero-cost replay server."""
    max_limit = db.settings.items_max_limit
    layer = db.catalog.layer(CITY, "parcels")
    table = layer_table(layer, db.catalog.city(CITY))
    pg_layer = f"{table.schema}.{table.name}"
    oapif, declared, floor, current = [], [], [], []
    page = ["-oo", f"PAGE_SIZE={max_limit}"]
    with tempfile.TemporaryDirectory() as tmp:
        scratch = str(Path(tmp) / "scratch.gpkg")
        default_args = ["ogr2ogr", "-overwrite", "-f", "GPKG", scratch, f"OAPIF:{base}", parcels]
        for n in range(runs):
            out = Path(tmp) / f"oapif{n}.gpkg"
            oapif.append(_timed(["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{base}", parcels]))
            oapif_count = _count(out, parcels)
            big = Path(tmp) / f"declared{n}.gpkg"
            declared.append(
                _timed(["ogr2ogr", "-f", "GPKG", str(big), f"OAPIF:{base}", parcels, *page])
            )
            pg_out = Path(tmp) / f"pg{n}.gpkg"
            floor.append(
                _timed(["ogr2ogr", "-f", "GPKG", str(pg_out), f"PG:{db.libpq_url()}", pg_layer])
            )
            pg_count = _count(pg_out, pg_layer)
            seconds, current_count = _current_gdal_copy(base, parcels, Path(tmp) / f"c{n}.gpkg")
            current.append(seconds)
        alone_default = _gdal_alone(base, default_args, runs)
        alone_declared = _gdal_alone(base, [*default_args, *page], runs)
    oapif_s, floor_s = statistics.median(oapif), statistics.median(floor)
    declared_s = statistics.median(declared)
    print(f"\nogr2ogr of every parcel to GeoPackage, median of {runs}")
    print(
        f"  OAPIF, default options (GDAL 3.6: pages of 10): {oapif_s:6.2f} s  {oapif_count} features"
    )
    print(f"  OAPIF, pages of the declared maximum ({max_limit}):   {declared_s:6.2f} s")
    print(f"  PostgreSQL (the floor):                        {floor_s:6.2f} s  {pg_count} features")
    print(f"  OAPIF default / floor: {oapif_s / floor_s:.2f}x  (target <= 3x)")
    print(f"  OAPIF declared maximum / floor: {declared_s / floor_s:.2f}x")
    current_s = statistics.median(current)
    print(
        f"  GDAL {pyogrio.__gdal_version_string__} (pyogrio) at its defaults: {current_s:6.2f} s "
        f"{current_count} features = {current_s / floor_s:.2f}x the floor (target <= 3x)"
    )
    print("  GDAL alone, the same requests answered from memory by a replay server:")
    print(
        f"    default options: {alone_default:6.2f} s = {alone_default / floor_s:.2f}x the floor; "
        f"our server's share {oapif_s - alone_default:5.2f} s"
    )
    print(
        f"    declared maximum: {alone_declared:6.2f} s = {alone_declared / floor_s:.2f}x the floor; "
        f"our server's share {declared_s - alone_declared:5.2f} s"
    )
    return floor_s


def _download(url: str, out: Path) -> float:
    start = time.perf_counter()
    with httpx.stream("GET", url, timeout=900) as response, out.open("wb") as sink:
        response.raise_for_status()
        for block in response.iter_bytes(1 << 20):
            sink.write(block)
    return time.perf_counter() - start


def gpkg_export(base: str, parcels: str, runs: int, floor_s: float) -> None:
    """``items?f=gpkg`` of every parcel, written to disk by the client, against the floor
    measured by ``full_copy`` (``ogr2ogr`` PostgreSQL -> GeoPackage of the same table)."""
    times, count = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(runs):
            out = Path(tmp) / f"export{n}.gpkg"
            times.append(_download(f"{base}/collections/{parcels}/items?f=gpkg", out))
            count = _count(out, parcels)
    export_s = statistics.median(times)
    print(f"\nGeoPackage export of every parcel (items?f=gpkg), median of {runs}")
    print(f"  API export: {export_s:6.2f} s  {count} features")
    print(f"  export / ogr2ogr PostgreSQL -> GPKG: {export_s / floor_s:.2f}x  (target <= 1.5x)")


def whole_layer(base: str, tipg_base: str | None, data: Dataset, runs: int) -> None:
    """``ogr2ogr`` of a whole layer through OAPIF in pages of 1,000 (ours, tipg), against
    ``ogr2ogr`` from PostgreSQL and against GDAL alone (a replay of our answers)."""
    layer = data.catalog.layer(data.city, data.layer)
    table = layer_table(layer, data.catalog.city(data.city))
    pg_layer, ours_id = f"{table.schema}.{table.name}", collection_id(layer)
    page = ["-oo", "PAGE_SIZE=1000"]
    ours, floor, current = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(runs):
            out = Path(tmp) / f"oapif{n}.gpkg"
            ours.append(
                _timed(["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{base}", ours_id, *page])
            )
            ours_count = _count(out, ours_id)
            pg_out = Path(tmp) / f"pg{n}.gpkg"
            floor.append(
                _timed(
                    ["ogr2ogr", "-f", "GPKG", str(pg_out), f"PG:{data.db.libpq_url()}", pg_layer]
                )
            )
            pg_count = _count(pg_out, pg_layer)
            seconds, current_count = _current_gdal_copy(base, ours_id, Path(tmp) / f"c{n}.gpkg")
            current.append(seconds)
        scratch = str(Path(tmp) / "scratch.gpkg")
        alone = _gdal_alone(
            base, ["ogr2ogr", "-f", "GPKG", scratch, f"OAPIF:{base}", ours_id, *page], runs
        )
        tipg_s = None
        if tipg_base is not None:  # once: it takes minutes
            tipg_out = Path(tmp) / "tipg.gpkg"
            tipg_s = _timed(
                ["ogr2ogr", "-f", "GPKG", str(tipg_out), f"OAPIF:{tipg_base}", pg_layer, *page]
            )
            tipg_count = _count(tipg_out, pg_layer)
    ours_s, floor_s = statistics.median(ours), statistics.median(floor)
    current_s = statistics.median(current)
    print(f"\nogr2ogr of all {pg_count} {data.layer} ({data.label}), median of {runs}")
    print(f"  OAPIF PAGE_SIZE=1000, ours: {ours_s:6.2f} s  {ours_count} features")
    print(f"  PostgreSQL (the floor):     {floor_s:6.2f} s")
    print(f"  ours / floor: {ours_s / floor_s:.2f}x  (target <= 3x)")
    print(
        f"  GDAL alone (replay server): {alone:6.2f} s = {alone / floor_s:.2f}x the floor; "
        f"our server's share {ours_s - alone:5.2f} s"
    )
    print(
        f"  GDAL {pyogrio.__gdal_version_string__} (pyogrio) at its defaults: {current_s:6.2f} s "
        f"{current_count} features = {current_s / floor_s:.2f}x the floor"
    )
    if tipg_s is not None:
        print(
            f"  tipg, PAGE_SIZE=1000: {tipg_s:6.2f} s  {tipg_count} features; "
            f"ours / tipg: {ours_s / tipg_s:.2f}x"
        )


def _osm(runs: int) -> None:
    with osm_like(1) as data:
        cold_env = {**data.db.env(), "DIGITALCITY_ITEMS_CACHE_MB": "0"}
        tipg = {**tipg_env(data.db, [data.city]), "TIPG_MAX_FEATURES_PER_QUERY": "10000"}
        with (
            uvicorn_server("digitalcity.api.main:app_factory", cold_env, factory=True) as base,
            uvicorn_server("tipg.main:app", tipg) as tipg_base,
        ):
            whole_layer(base, tipg_base, data, runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api.clients")
    parser.add_argument("--repeat", type=int, default=15, help="requests per page measured")
    parser.add_argument("--limit", type=int, default=100, help="features per page")
    parser.add_argument("--runs", type=int, default=3, help="ogr2ogr runs of each kind")
    parser.add_argument("--dataset", choices=("cambridge", "osm", "both"), default="both")
    args = parser.parse_args(argv)
    if args.dataset in ("osm", "both"):
        _osm(args.runs)
    if args.dataset == "osm":
        return 0
    with city_db(CITY) as db:
        parcels = collection_id(db.catalog.layer(CITY, "parcels"))
        ids = _ids(db)
        # every page uncached: a first fetch, not one the page cache answers
        cold_env = {**db.env(), "DIGITALCITY_ITEMS_CACHE_MB": "0"}
        with uvicorn_server("digitalcity.api.main:app_factory", cold_env, factory=True) as base:
            deep_pages(base, parcels, ids, args.limit, args.repeat)
            floor_s = full_copy(base, db, parcels, args.runs)
            gpkg_export(base, parcels, args.runs, floor_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
