"""Geo API benchmark: bbox item pages (limit 1000) and identify requests.

In one run against one database (a throwaway cluster with Cambridge loaded by our loaders):
our server, tipg on the same tables, and the same item queries as raw SQL through psycopg
(the floor). Prints req/s, median and p95 at concurrency 1 and 8, and the ratios.

    python -m bench.api [--pages 40] [--points 60]
"""

from __future__ import annotations

import argparse
import random
import threading
from collections.abc import Callable

import psycopg
import sqlalchemy as sa

from bench.tiles.measure import Result, http_jobs, run
from bench.tiles.servers import BenchDB, bench_db, uvicorn_server
from digitalcity.catalog.ids import collection_id
from digitalcity.db.schema import layer_table

LIMIT = 1000
EXTENT = (-71.16, 42.355, -71.07, 42.40)
SIZE = (0.012, 0.008)  # about 1 km x 0.9 km: several hundred parcels per page


def bboxes(count: int) -> list[tuple[float, float, float, float]]:
    rng = random.Random(20261123)
    out = []
    for _ in range(count):
        x = rng.uniform(EXTENT[0], EXTENT[2] - SIZE[0])
        y = rng.uniform(EXTENT[1], EXTENT[3] - SIZE[1])
        out.append((round(x, 5), round(y, 5), round(x + SIZE[0], 5), round(y + SIZE[1], 5)))
    return out


def identify_points(db: BenchDB, count: int) -> list[tuple[float, float]]:
    layer = db.catalog.layer("cambridge", "parcels")
    table = layer_table(layer, db.catalog.city("cambridge"))
    point = sa.func.ST_PointOnSurface(table.c.geom)
    stmt = sa.select(sa.func.ST_X(point), sa.func.ST_Y(point)).order_by(table.c.fid)
    with db.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    rng = random.Random(7)
    return [tuple(r) for r in rng.sample(rows, count)]


def floor_jobs(db: BenchDB, boxes: list[tuple[float, ...]]) -> list[Callable[[], int]]:
    """The item page as one SQL statement: features as GeoJSON text plus the match count."""
    dsn = db.libpq_url()
    local = threading.local()
    sql = (
        "SELECT (SELECT count(*) FROM cambridge.parcels "
        "        WHERE ST_Intersects(geom, ST_MakeEnvelope(%(x1)s, %(y1)s, %(x2)s, %(y2)s, 4326))),"
        " (SELECT json_agg(f)::text FROM ("
        "   SELECT json_build_object('type', 'Feature', 'id', fid,"
        "          'geometry', ST_AsGeoJSON(geom, 7)::json,"
        "          'properties', to_jsonb(p) - 'geom' - 'land_value' - 'building_value'"
        "                        - 'total_value' - 'sale_date') AS f"
        "   FROM cambridge.parcels p"
        "   WHERE ST_Intersects(geom, ST_MakeEnvelope(%(x1)s, %(y1)s, %(x2)s, %(y2)s, 4326))"
        "   ORDER BY fid LIMIT %(limit)s) page)"
    )

    def conn() -> psycopg.Connection:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(dsn, autocommit=True)
        return local.conn

    def job(box: tuple[float, ...]) -> Callable[[], int]:
        params = {"x1": box[0], "y1": box[1], "x2": box[2], "y2": box[3], "limit": LIMIT}

        def go() -> int:
            count, body = conn().execute(sql, params).fetchone()
            return 200 if body is not None or count == 0 else 500

        return go

    return [job(b) for b in boxes]


def line(name: str, result: Result) -> str:
    bad = {k: v for k, v in result.statuses.items() if k not in (200,)}
    note = f"  statuses {bad}" if bad else ""
    return (
        f"  {name:<34} {result.rps:8.1f} req/s   median {result.median_ms():7.1f} ms"
        f"   p95 {result.p95_ms():7.1f} ms{note}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api")
    parser.add_argument("--pages", type=int, default=40, help="bbox item pages per run")
    parser.add_argument("--points", type=int, default=60, help="identify requests per run")
    args = parser.parse_args(argv)
    boxes = bboxes(args.pages)
    with bench_db() as db:
        parcels = collection_id(db.catalog.layer("cambridge", "parcels"))
        ours_paths = [
            f"/collections/{parcels}/items?bbox={','.join(map(str, b))}&limit={LIMIT}"
            for b in boxes
        ]
        tipg_paths = [
            f"/collections/cambridge.parcels/items?bbox={','.join(map(str, b))}&limit={LIMIT}"
            for b in boxes
        ]
        points = identify_points(db, args.points)
        identify_paths = [f"/cities/cambridge/identify?lon={x}&lat={y}" for x, y in points]
        results: dict[tuple[str, int], Result] = {}
        for concurrency in (1, 8):
            results[("sql", concurrency)] = run(floor_jobs(db, boxes), concurrency)
        with uvicorn_server("digitalcity.api.main:app_factory", db.env(), factory=True) as base:
            for concurrency in (1, 8):
                run(http_jobs(base, ours_paths[:5], 1), 1)  # warm up connections and caches
                results[("ours", concurrency)] = run(
                    http_jobs(base, ours_paths, concurrency), concurrency
                )
                results[("identify", concurrency)] = run(
                    http_jobs(base, identify_paths, concurrency), concurrency
                )
        tipg_note = None
        env = {
            "DATABASE_URL": db.libpq_url(),
            "TIPG_DB_SCHEMAS": '["cambridge"]',
            "TIPG_MAX_FEATURES_PER_QUERY": str(LIMIT * 10),
        }
        try:
            with uvicorn_server("tipg.main:app", env) as base:
                for concurrency in (1, 8):
                    run(http_jobs(base, tipg_paths[:5], 1), 1)
                    results[("tipg", concurrency)] = run(
                        http_jobs(base, tipg_paths, concurrency), concurrency
                    )
        except (ImportError, RuntimeError) as exc:
            tipg_note = f"tipg could not run: {exc}"
    print(
        f"\nGeo API benchmark: {args.pages} bbox pages of parcels (limit {LIMIT}), "
        f"{args.points} identify requests; one database, one run"
    )
    for concurrency in (1, 8):
        print(f"\nconcurrency {concurrency}")
        for key, name in (
            ("sql", "raw SQL floor (items)"),
            ("ours", "digitalcity items"),
            ("tipg", "tipg items"),
            ("identify", "digitalcity identify"),
        ):
            if (key, concurrency) in results:
                print(line(name, results[(key, concurrency)]))
        ours, sql = results[("ours", concurrency)], results[("sql", concurrency)]
        print(f"  ratio ours / SQL floor: {ours.rps / sql.rps:.2f}x  (target >= 0.8x)")
        if ("tipg", concurrency) in results:
            print(
                f"  ratio ours / tipg:      {ours.rps / results[('tipg', concurrency)].rps:.2f}x"
                "  (target >= 5x)"
            )
        print(
            f"  identify p95: {results[('identify', concurrency)].p95_ms():.1f} ms (target < 50 ms)"
        )
    if tipg_note:
        print(tipg_note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
