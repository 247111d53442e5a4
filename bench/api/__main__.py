"""Geo API benchmark: bbox item pages (limit 1000) and identify requests.

In one run against one database (a throwaway cluster with Cambridge loaded by our loaders):
our server with its page cache off (cold) and on (warm, after one pass), tipg on the same
tables, and the statement our server runs executed straight through psycopg (the floor).
Prints req/s, median and p95 at concurrency 1 and 8, and the ratios.

    python -m bench.api [--pages 40] [--points 60]
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable

import sqlalchemy as sa

from bench.common.city import CITY, CityDB, city_db
from bench.common.runner import Result, http_jobs, run, thread_connection
from bench.common.servers import tipg_env, uvicorn_server
from digitalcity.catalog.ids import collection_id
from digitalcity.db.schema import layer_table
from digitalcity.query.items import ItemsQuery

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


def identify_points(db: CityDB, count: int) -> list[tuple[float, float]]:
    layer = db.catalog.layer("cambridge", "parcels")
    table = layer_table(layer, db.catalog.city("cambridge"))
    point = sa.func.ST_PointOnSurface(table.c.geom)
    stmt = sa.select(sa.func.ST_X(point), sa.func.ST_Y(point)).order_by(table.c.fid)
    with db.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    rng = random.Random(7)
    return [tuple(r) for r in rng.sample(rows, count)]


def floor_jobs(db: CityDB, boxes: list[tuple[float, ...]]) -> list[Callable[[], int]]:
    """The statements our server runs for each page (features as GeoJSON text built in
    PostGIS; the match count only when the page is full), executed straight through psycopg,
    rows joined as ours."""
    layer = db.catalog.layer("cambridge", "parcels")
    city = db.catalog.city("cambridge")
    conn = thread_connection(db.libpq_url())

    def job(box: tuple[float, ...]) -> Callable[[], int]:
        query = ItemsQuery(layer=layer, city=city, role="anonymous", bbox=box, limit=LIMIT)
        sql, params = query.page_sql(db.engine.dialect, extra_row=True)
        count = query.count_select().compile(dialect=db.engine.dialect)
        count_sql, count_params = str(count), dict(count.params)

        def go() -> int:
            rows = conn().execute(sql, params).fetchall()
            body = ",".join(r[0] for r in rows[:LIMIT])
            if len(rows) > LIMIT:
                conn().execute(count_sql, count_params).fetchone()
            return 200 if body or not rows else 500

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
    with city_db(CITY) as db:
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
        cold_env = {**db.env(), "DIGITALCITY_ITEMS_CACHE_MB": "0"}
        with uvicorn_server("digitalcity.api.main:app_factory", cold_env, factory=True) as base:
            run(http_jobs(base, identify_paths[:3] + ours_paths[:3], 1), 1)  # connect, compile
            for concurrency in (1, 8):
                results[("cold", concurrency)] = run(
                    http_jobs(base, ours_paths, concurrency), concurrency
                )
                results[("identify", concurrency)] = run(
                    http_jobs(base, identify_paths, concurrency), concurrency
                )
        with uvicorn_server("digitalcity.api.main:app_factory", db.env(), factory=True) as base:
            run(http_jobs(base, ours_paths, 1), 1)  # fill the page cache
            for concurrency in (1, 8):
                results[("warm", concurrency)] = run(
                    http_jobs(base, ours_paths, concurrency), concurrency
                )
        tipg_note = None
        env = {**tipg_env(db, [CITY]), "TIPG_MAX_FEATURES_PER_QUERY": str(LIMIT * 10)}
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
        names = (
            ("sql", "raw SQL floor (same statement)"),
            ("cold", "digitalcity items, cold"),
            ("warm", "digitalcity items, warm cache"),
            ("tipg", "tipg items"),
            ("identify", "digitalcity identify"),
        )
        for key, name in names:
            if (key, concurrency) in results:
                print(line(name, results[(key, concurrency)]))
        cold, warm = results[("cold", concurrency)], results[("warm", concurrency)]
        sql = results[("sql", concurrency)]
        print(f"  cold / SQL floor: {cold.rps / sql.rps:.2f}x  (target >= 0.8x)")
        if ("tipg", concurrency) in results:
            tipg = results[("tipg", concurrency)]
            print(f"  cold / tipg:      {cold.rps / tipg.rps:.2f}x")
            print(f"  warm / tipg:      {warm.rps / tipg.rps:.2f}x  (target >= 5x)")
            print(f"  tipg / SQL floor: {tipg.rps / sql.rps:.2f}x")
        print(
            f"  identify p95: {results[('identify', concurrency)].p95_ms():.1f} ms (target < 50 ms)"
        )
    if tipg_note:
        print(tipg_note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
