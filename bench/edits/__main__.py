"""``python -m bench.edits``: see the package docstring."""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
from collections.abc import Callable
from urllib.parse import quote

import morecantile
import psycopg

from bench.common.city import city_db
from bench.common.cluster import BenchDB
from bench.common.runner import Result, http_caller, http_jobs, run, thread_connection
from bench.common.servers import uvicorn_server
from digitalcity.db.keys import create_key
from digitalcity.tiles.tms import TileIndex, tile_box_3857

LAYER = "parcels"
ITEMS = "/collections/cambridge__parcels/items"
FIELD = "use_desc"

FLOOR = [
    "SELECT md5(t::text) FROM cambridge.parcels t WHERE t.fid = %(fid)s FOR UPDATE",
    "INSERT INTO digitalcity.changesets (kind, city, layer, key_id, role, reason) "
    "VALUES ('edit', 'cambridge', 'parcels', 1, 'land_bureau', 'bench') RETURNING id",
]


def _floor_job(
    conn_of: Callable[[], psycopg.Connection], fids: list[int], columns: str
) -> Callable[[], int]:
    counter = itertools.count()

    def job() -> int:
        fid = fids[next(counter) % len(fids)]
        conn = conn_of()
        with conn.transaction():
            conn.execute(FLOOR[0], {"fid": fid})
            changeset = conn.execute(FLOOR[1]).fetchone()[0]  # type: ignore[index]
            conn.execute(
                f"INSERT INTO cambridge.parcels__history ({columns}, valid, changeset, op) "  # noqa: S608 - bench's own names
                f"SELECT {columns}, tstzrange(coalesce(m.valid_from, '-infinity'), now()), %(cs)s, 'update' "
                "FROM cambridge.parcels t LEFT JOIN cambridge.parcels__rowmeta m USING (fid) WHERE t.fid = %(fid)s",
                {"fid": fid, "cs": changeset},
            )
            conn.execute(
                f"UPDATE cambridge.parcels SET {FIELD} = %(v)s WHERE fid = %(fid)s",  # noqa: S608
                {"v": f"bench {changeset}", "fid": fid},
            )
            conn.execute(
                "INSERT INTO cambridge.parcels__rowmeta (fid, valid_from, changeset) VALUES (%(fid)s, now(), %(cs)s) "
                "ON CONFLICT (fid) DO UPDATE SET valid_from = excluded.valid_from, changeset = excluded.changeset",
                {"fid": fid, "cs": changeset},
            )
        return 200

    return job


def _api_job(base: str, key: str, fids: list[int]) -> Callable[[], int]:
    call = http_caller(base)
    counter = itertools.count()

    def job() -> int:
        fid = fids[next(counter) % len(fids)]
        body = json.dumps({"properties": {FIELD: f"api {fid}"}}).encode()
        headers = {
            "X-API-Key": key,
            "If-Match": "*",
            "Content-Type": "application/json",
        }
        return call("PATCH", f"{ITEMS}/{fid}", body, headers)

    return job


def _columns(db: BenchDB) -> str:
    with psycopg.connect(db.libpq_url()) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'cambridge' AND table_name = 'parcels' ORDER BY ordinal_position"
            )
        ]
    return ", ".join(f'"{n}"' for n in names)


def _times(name: str, runs: dict[int, Result], floor: dict[int, Result] | None = None) -> None:
    for c, result in runs.items():
        ratio = f"  ratio to floor {result.rps / floor[c].rps:.2f}" if floor else ""
        print(f"  {name:<28} c={c}: {result.rps:7.1f} /s  p95 {result.p95_ms():7.1f} ms{ratio}")


def _purged_per_edit(db: BenchDB) -> None:
    """Tiles whose key one PATCH moves (those its boxes touch, with the tile margin), against
    every tile of the city, z10-z16: before, every tile of the layer moved."""
    with psycopg.connect(db.libpq_url()) as conn:
        boxes = conn.execute(
            "SELECT x1, y1, x2, y2 FROM digitalcity.edit_extents WHERE city = 'cambridge' "
            "AND layer = 'parcels' AND revision = (SELECT max(revision) FROM "
            "digitalcity.edit_extents WHERE city = 'cambridge' AND layer = 'parcels')"
        ).fetchall()
    west, south, east, north = -71.161, 42.352, -71.063, 42.404  # Cambridge, lon/lat
    purged = total = 0
    for z in range(10, 17):
        tiles = list(morecantile.tms.get("WebMercatorQuad").tiles(west, south, east, north, [z]))
        moved = 0
        for t in tiles:
            x1, y1, x2, y2 = tile_box_3857(TileIndex(t.z, t.x, t.y))
            moved += any(a <= x2 and c >= x1 and b <= y2 and d >= y1 for a, b, c, d in boxes)
        purged, total = purged + moved, total + len(tiles)
    print(
        f"  tiles purged per edit (z10-z16): {purged} of the city's {total} "
        f"({purged / total:.2%}; before: all {total})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.edits", description=__doc__)
    parser.add_argument("--patches", type=int, default=300)
    parser.add_argument("--edits", type=int, default=10_000)
    # p95 of 40 pages was their second slowest: 1.25-1.41x between runs of the same code
    parser.add_argument("--pages", type=int, default=200, help="bboxes for the as-of pages")
    args = parser.parse_args(argv)
    with city_db() as db:
        key = create_key(db.engine, "land_bureau", "bench").key
        with psycopg.connect(db.libpq_url()) as conn:
            fids = [r[0] for r in conn.execute("SELECT fid FROM cambridge.parcels ORDER BY fid")]
        rng = random.Random(12)
        sample = rng.sample(fids, 500)
        columns = _columns(db)
        conn_of = thread_connection(db.libpq_url())
        floor = {c: run([_floor_job(conn_of, sample, columns)] * args.patches, c) for c in (1, 8)}
        env = {**db.env(), "DIGITALCITY_ITEMS_CACHE_MB": "0"}
        with uvicorn_server("digitalcity.api.main:app_factory", env, factory=True) as base:
            ours = {}
            for c in (1, 8):
                ours[c] = run([_api_job(base, key, sample)] * args.patches, c)
                assert set(ours[c].statuses) == {200}, ours[c].statuses
        print(f"\nsingle-feature PATCH on Cambridge parcels ({args.patches} per run):")
        _times("SQL floor (psycopg)", floor)
        _times("ours (HTTP PATCH)", ours, floor)
        _purged_per_edit(db)

        instant = dt.datetime.now(dt.UTC)
        job = _floor_job(conn_of, fids, columns)
        for _ in range(args.edits):
            job()
        with psycopg.connect(db.libpq_url(), autocommit=True) as conn:
            conn.execute("ANALYZE cambridge.parcels__history")
            conn.execute("ANALYZE cambridge.parcels__rowmeta")
            recorded = conn.execute("SELECT count(*) FROM cambridge.parcels__history").fetchone()[0]  # type: ignore[index]
        boxes = []
        for _ in range(args.pages):
            x, y = rng.uniform(-71.13, -71.09), rng.uniform(42.36, 42.39)
            boxes.append(f"{x - 0.006},{y - 0.004},{x + 0.006},{y + 0.004}")
        current = [f"{ITEMS}?limit=1000&bbox={b}" for b in boxes]
        past = [f"{p}&as-of={quote(instant.isoformat())}" for p in current]
        with uvicorn_server("digitalcity.api.main:app_factory", env, factory=True) as base:
            run(http_jobs(base, current + past, 1), 1)  # every page once: both runs warm
            now_run = {c: run(http_jobs(base, current, c), c) for c in (1,)}
            then_run = {c: run(http_jobs(base, past, c), c) for c in (1,)}
        print(
            f"\nitem pages (limit 1000, {args.pages} bboxes) after {args.edits:,} edits ({recorded:,} history rows):"
        )
        _times("current page", now_run)
        _times("as-of page", then_run, now_run)
        print(
            f"  as-of / current time: {then_run[1].p95_ms() / now_run[1].p95_ms():.2f} (p95), "
            f"{then_run[1].median_ms() / now_run[1].median_ms():.2f} (median)"
        )


if __name__ == "__main__":
    main()
