"""``python -m bench.edits``: see the package docstring."""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import morecantile
import psycopg
from psycopg import sql

from bench.common.city import CITY, CityDB, city_db, osmlike_db
from bench.common.osmlike import CITY as OSM_CITY
from bench.common.runner import Result, http_caller, http_jobs, run, thread_connection
from bench.common.servers import uvicorn_server
from digitalcity.catalog.ids import collection_id
from digitalcity.db.keys import create_key
from digitalcity.tiles.tms import TileIndex, tile_box_3857

ROLE = "land_bureau"


@dataclass(frozen=True)
class EditDataset:
    """One dataset's run: PATCHes of ``field`` on ``layer``, as-of pages of about ``page``
    (lon, lat degrees) centred in ``centres`` (lon/lat box)."""

    label: str
    open_db: Callable[[], AbstractContextManager[CityDB]]
    city: str
    layer: str
    field: str
    centres: tuple[float, float, float, float]
    page: tuple[float, float]
    many: str  # a CQL2 filter that is also SQL: the features one change to many sets


DATASETS = {
    "cambridge": EditDataset(
        "Cambridge parcels (real)", city_db, CITY, "parcels", "use_desc",
        (-71.13, 42.36, -71.09, 42.39), (0.012, 0.008), "use_code = '101'",
    ),
    "osm": EditDataset(
        "SYNTHETIC OSM-like roads (bench/common/osmlike.py)",
        lambda: osmlike_db(editable=True), OSM_CITY, "roads",
        "name", (8.50, 47.34, 8.58, 47.40), (0.012, 0.008),
        "highway = 'cycleway' AND name IS NOT NULL",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Names:
    """The layer's tables as SQL identifiers."""

    data: EditDataset

    def table(self, suffix: str = "") -> sql.Composable:
        return sql.Identifier(self.data.city, self.data.layer + suffix)


def _floor_job(
    conn_of: Callable[[], psycopg.Connection], names: Names, fids: list[int], columns: list[str]
) -> Callable[[], int]:
    """The statements a PATCH runs, through psycopg: row lock and ETag, change set, history
    insert, UPDATE, rowmeta; one transaction per edit."""
    data = names.data
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    lock = sql.SQL("SELECT md5(t::text) FROM {} t WHERE t.fid = %(fid)s FOR UPDATE").format(
        names.table()
    )
    changeset = (
        "INSERT INTO digitalcity.changesets (kind, city, layer, key_id, role, reason) "
        "VALUES ('edit', %(city)s, %(layer)s, 1, %(role)s, 'bench') RETURNING id"
    )
    history = sql.SQL(
        "INSERT INTO {history} ({cols}, valid, changeset, op) "
        "SELECT {cols}, tstzrange(coalesce(m.valid_from, '-infinity'), now()), %(cs)s, 'update' "
        "FROM {table} t LEFT JOIN {rowmeta} m USING (fid) WHERE t.fid = %(fid)s"
    ).format(
        history=names.table("__history"),
        cols=cols,
        table=names.table(),
        rowmeta=names.table("__rowmeta"),
    )
    update = sql.SQL("UPDATE {} SET {} = %(v)s WHERE fid = %(fid)s").format(
        names.table(), sql.Identifier(data.field)
    )
    rowmeta = sql.SQL(
        "INSERT INTO {} (fid, valid_from, changeset) VALUES (%(fid)s, now(), %(cs)s) "
        "ON CONFLICT (fid) DO UPDATE SET valid_from = excluded.valid_from, "
        "changeset = excluded.changeset"
    ).format(names.table("__rowmeta"))
    counter = itertools.count()
    who = {"city": data.city, "layer": data.layer, "role": ROLE}

    def job() -> int:
        fid = fids[next(counter) % len(fids)]
        conn = conn_of()
        with conn.transaction():
            conn.execute(lock, {"fid": fid})
            cs = conn.execute(changeset, who).fetchone()[0]  # type: ignore[index]
            conn.execute(history, {"fid": fid, "cs": cs})
            conn.execute(update, {"v": f"bench {cs}", "fid": fid})
            conn.execute(rowmeta, {"fid": fid, "cs": cs})
        return 200

    return job


def _api_job(base: str, items: str, key: str, field: str, fids: list[int]) -> Callable[[], int]:
    call = http_caller(base)
    counter = itertools.count()

    def job() -> int:
        fid = fids[next(counter) % len(fids)]
        body = json.dumps({"properties": {field: f"api {fid}"}}).encode()
        headers = {"X-API-Key": key, "If-Match": "*", "Content-Type": "application/json"}
        return call("PATCH", f"{items}/{fid}", body, headers)

    return job


def _shape_job(
    base: str, items: str, key: str, shapes: dict[int, bytes], snap: str
) -> Callable[[], int]:
    """PATCHes of each feature's own shape (as the API gave it: GeoJSON's 7 decimals), with
    ``snap`` as the request's tolerance ("": the layer's)."""
    call = http_caller(base)
    counter = itertools.count()
    fids = list(shapes)
    query = f"?snap={snap}" if snap else ""

    def job() -> int:
        fid = fids[next(counter) % len(fids)]
        headers = {"X-API-Key": key, "If-Match": "*", "Content-Type": "application/json"}
        return call("PATCH", f"{items}/{fid}{query}", shapes[fid], headers)

    return job


def _shapes(base: str, items: str, key: str, fids: list[int], edits: int, rounds: int) -> None:
    """Shape edits with snapping (吸附, the layer's tolerance) and the topology rule against
    overlaps (where the layer has one) against the same edits with ``snap=0``, in turns."""
    shapes = {}
    for fid in fids:
        item = httpx.get(f"{base}{items}/{fid}", headers={"X-API-Key": key}, timeout=60).json()
        shapes[fid] = json.dumps({"geometry": item["geometry"]}).encode()
    series: dict[str, list[Result]] = {"snap=0": [], "the layer's": []}
    for _ in range(rounds):
        for label, snap in (("snap=0", "0"), ("the layer's", "")):
            result = run([_shape_job(base, items, key, shapes, snap)] * edits, 1)
            assert set(result.statuses) == {200}, result.statuses
            series[label].append(result)
    best = {label: min(runs, key=lambda r: r.median_ms()) for label, runs in series.items()}
    plain, snapped = best["snap=0"], best["the layer's"]
    print(f"  shape PATCH ({edits} per run, c=1, best of {rounds} rounds in turns):")
    print(f"    snap=0          {plain.median_ms():7.2f} ms median, {plain.p95_ms():7.2f} ms p95")
    print(
        f"    layer's snap    {snapped.median_ms():7.2f} ms median, {snapped.p95_ms():7.2f} ms p95"
        f" = {snapped.median_ms() / plain.median_ms():.2f}x snap=0"
    )


def _columns(conn: psycopg.Connection, data: EditDataset) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (data.city, data.layer),
        )
    ]


def _times(name: str, runs: dict[int, Result], floor: dict[int, Result] | None = None) -> None:
    for c, result in runs.items():
        ratio = f"  ratio to floor {result.rps / floor[c].rps:.2f}" if floor else ""
        print(f"  {name:<28} c={c}: {result.rps:7.1f} /s  p95 {result.p95_ms():7.1f} ms{ratio}")


def _purged_per_edit(db: CityDB, data: EditDataset) -> None:
    """Tiles whose key one PATCH moves (those its boxes touch, with the tile margin), against
    every tile of the city's bbox, z10-z16: before, every tile of the layer moved."""
    with psycopg.connect(db.libpq_url()) as conn:
        boxes = conn.execute(
            "SELECT x1, y1, x2, y2 FROM digitalcity.edit_extents WHERE city = %(c)s "
            "AND layer = %(l)s AND revision = (SELECT max(revision) FROM "
            "digitalcity.edit_extents WHERE city = %(c)s AND layer = %(l)s)",
            {"c": data.city, "l": data.layer},
        ).fetchall()
    bbox = db.catalog.city(data.city).bbox
    assert bbox is not None
    purged = total = 0
    for z in range(10, 17):
        tiles = list(morecantile.tms.get("WebMercatorQuad").tiles(*bbox, [z]))
        moved = 0
        for t in tiles:
            x1, y1, x2, y2 = tile_box_3857(TileIndex(t.z, t.x, t.y))
            moved += any(a <= x2 and c >= x1 and b <= y2 and d >= y1 for a, b, c, d in boxes)
        purged, total = purged + moved, total + len(tiles)
    print(
        f"  tiles purged per edit (z10-z16): {purged} of the city's {total} "
        f"({purged / total:.2%}; before: all {total})"
    )


def _many(db: CityDB, data: EditDataset, base: str, items: str, runs: int) -> None:
    """One change to every feature ``data.many`` matches, through the API (``PATCH …/items``,
    history kept), against the same statements through psycopg and a plain UPDATE without
    history; then the revert of the API's last change (median seconds of ``runs`` each, the
    field set to another value each time, so every run changes every match)."""
    names = Names(data)
    where = sql.SQL(data.many)  # a constant of this bench
    field = sql.Identifier(data.field)
    with psycopg.connect(db.libpq_url(), autocommit=True) as conn:
        count = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(names.table(), where)
        matched = conn.execute(count).fetchone()[0]  # type: ignore[index]
        columns = _columns(conn, data)
    key = create_key(db.engine, ROLE, "bench-many").key
    admin = create_key(db.engine, "admin", "bench-many-undo").key
    ours, kept, plain = [], [], []
    with httpx.Client(base_url=base, timeout=600) as client:
        for n in range(runs):
            started = time.perf_counter()
            done = client.patch(
                items,
                params={"filter": data.many, "expected": matched},
                json={"properties": {data.field: f"many api {n}"}},
                headers={"X-API-Key": key, "X-Change-Reason": "bench"},
            )
            ours.append(time.perf_counter() - started)
            assert done.status_code == 200 and done.json()["changed"] == matched, done.text
        with psycopg.connect(db.libpq_url()) as conn:
            cols = sql.SQL(", ").join(map(sql.Identifier, columns))
            for n in range(runs):
                started = time.perf_counter()
                with conn.transaction():
                    fids = [
                        r[0]
                        for r in conn.execute(
                            sql.SQL("SELECT fid FROM {} WHERE {} ORDER BY fid FOR UPDATE").format(
                                names.table(), where
                            )
                        )
                    ]
                    cs = conn.execute(
                        "INSERT INTO digitalcity.changesets (kind, city, layer, key_id, role, "
                        "reason) VALUES ('edit', %s, %s, 1, %s, 'bench') RETURNING id",
                        (data.city, data.layer, ROLE),
                    ).fetchone()[0]  # type: ignore[index]
                    conn.execute(
                        sql.SQL(
                            "INSERT INTO {history} ({cols}, valid, changeset, op) SELECT {cols}, "
                            "tstzrange(coalesce(m.valid_from, '-infinity'), now()), %s, 'update' "
                            "FROM {table} t LEFT JOIN {rowmeta} m USING (fid) WHERE t.fid = ANY(%s)"
                        ).format(
                            history=names.table("__history"), cols=cols, table=names.table(),
                            rowmeta=names.table("__rowmeta"),
                        ),
                        (cs, fids),
                    )  # fmt: skip
                    conn.execute(
                        sql.SQL("UPDATE {} SET {} = %s WHERE fid = ANY(%s)").format(
                            names.table(), field
                        ),
                        (f"many floor {n}", fids),
                    )
                    conn.execute(
                        sql.SQL(
                            "INSERT INTO {} (fid, valid_from, changeset) SELECT f, now(), %s "
                            "FROM unnest(%s::bigint[]) f ON CONFLICT (fid) DO UPDATE SET "
                            "valid_from = excluded.valid_from, changeset = excluded.changeset"
                        ).format(names.table("__rowmeta")),
                        (cs, fids),
                    )
                kept.append(time.perf_counter() - started)
                started = time.perf_counter()
                with conn.transaction():
                    conn.execute(
                        sql.SQL("UPDATE {} SET {} = %s WHERE {}").format(
                            names.table(), field, where
                        ),
                        (f"many plain {n}",),
                    )
                plain.append(time.perf_counter() - started)
        # a change through the API undone: the floor's runs changed the same features since
        # the API's runs, so one more is made to be reverted
        again = client.patch(
            items,
            params={"filter": data.many, "expected": matched},
            json={"properties": {data.field: "many api undone"}},
            headers={"X-API-Key": key, "X-Change-Reason": "bench"},
        )
        changeset = int(again.json()["changeset"])
        started = time.perf_counter()
        undone = client.post(
            f"/collections/{items.split('/')[2]}/changesets/{changeset}/revert",
            headers={"X-API-Key": admin},
        )
        undo = time.perf_counter() - started
        assert undone.status_code == 200, undone.text
    floor = statistics.median(kept)
    print(f"  one change to the {matched:,} features matching {data.many} (median of {runs}):")
    print(f"    {'ours (HTTP PATCH, history kept)':<38} {statistics.median(ours):6.2f} s"
          f"  ratio to floor {statistics.median(ours) / floor:.2f}")  # fmt: skip
    print(f"    {'SQL floor, history kept (psycopg)':<38} {floor:6.2f} s")
    print(f"    {'plain UPDATE, no history (psycopg)':<38} {statistics.median(plain):6.2f} s")
    print(f"    {'ours: the change reverted (HTTP POST)':<38} {undo:6.2f} s")


def _boxes(data: EditDataset, rng: random.Random, count: int) -> Iterator[str]:
    west, south, east, north = data.centres
    half_x, half_y = data.page[0] / 2, data.page[1] / 2
    for _ in range(count):
        x, y = rng.uniform(west, east), rng.uniform(south, north)
        yield f"{x - half_x:.5f},{y - half_y:.5f},{x + half_x:.5f},{y + half_y:.5f}"


def measure(data: EditDataset, args: argparse.Namespace) -> None:
    """PATCH throughput against the floor, tiles purged per edit, and as-of pages against
    current ones after ``args.edits`` edits, on one dataset's throwaway cluster."""
    with data.open_db() as db:
        key = create_key(db.engine, ROLE, "bench").key
        names = Names(data)
        with psycopg.connect(db.libpq_url()) as conn:
            ids = sql.SQL("SELECT fid FROM {} ORDER BY fid").format(names.table())
            fids = [r[0] for r in conn.execute(ids)]
            columns = _columns(conn, data)
        rng = random.Random(12)
        sample = rng.sample(fids, 500)
        conn_of = thread_connection(db.libpq_url())
        floor_job = _floor_job(conn_of, names, sample, columns)
        floor = {c: run([floor_job] * args.patches, c) for c in (1, 8)}
        env = {**db.env(), "DIGITALCITY_ITEMS_CACHE_MB": "0"}
        items = f"/collections/{collection_id(db.catalog.layer(data.city, data.layer))}/items"
        with uvicorn_server("digitalcity.api.main:app_factory", env, factory=True) as base:
            ours = {}
            for c in (1, 8):
                job = _api_job(base, items, key, data.field, sample)
                ours[c] = run([job] * args.patches, c)
                assert set(ours[c].statuses) == {200}, ours[c].statuses
        print(f"\n{data.label}: single-feature PATCH of {data.field} ({args.patches} per run):")
        _times("SQL floor (psycopg)", floor)
        _times("ours (HTTP PATCH)", ours, floor)
        _purged_per_edit(db, data)
        with uvicorn_server("digitalcity.api.main:app_factory", env, factory=True) as base:
            _many(db, data, base, items, args.many_runs)
            _shapes(base, items, key, sample[:50], args.shapes, 3)

        instant = dt.datetime.now(dt.UTC)
        job = _floor_job(conn_of, names, fids, columns)
        for _ in range(args.edits):
            job()
        with psycopg.connect(db.libpq_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("ANALYZE {}").format(names.table("__history")))
            conn.execute(sql.SQL("ANALYZE {}").format(names.table("__rowmeta")))
            count = sql.SQL("SELECT count(*) FROM {}").format(names.table("__history"))
            recorded = conn.execute(count).fetchone()[0]  # type: ignore[index]
        current = [f"{items}?limit=1000&bbox={b}" for b in _boxes(data, rng, args.pages)]
        past = [f"{p}&as-of={quote(instant.isoformat())}" for p in current]
        with uvicorn_server("digitalcity.api.main:app_factory", env, factory=True) as base:
            run(http_jobs(base, current + past, 1), 1)  # every page once: both runs warm
            now_run = {1: run(http_jobs(base, current, 1), 1)}
            then_run = {1: run(http_jobs(base, past, 1), 1)}
        print(
            f"  item pages (limit 1000, {args.pages} bboxes) after {args.edits:,} edits "
            f"({recorded:,} history rows):"
        )
        _times("current page", now_run)
        _times("as-of page", then_run, now_run)
        print(
            f"  as-of / current time: {then_run[1].p95_ms() / now_run[1].p95_ms():.2f} (p95), "
            f"{then_run[1].median_ms() / now_run[1].median_ms():.2f} (median)"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.edits", description=__doc__)
    parser.add_argument("--patches", type=int, default=300)
    parser.add_argument("--edits", type=int, default=10_000)
    # p95 of 40 pages was their second slowest: 1.25-1.41x between runs of the same code
    parser.add_argument("--pages", type=int, default=200, help="bboxes for the as-of pages")
    parser.add_argument("--dataset", choices=("cambridge", "osm", "both"), default="both")
    parser.add_argument("--many-runs", type=int, default=5, help="runs of one change to many")
    parser.add_argument("--shapes", type=int, default=100, help="shape PATCHes per run")
    args = parser.parse_args(argv)
    for name, data in DATASETS.items():
        if args.dataset in (name, "both"):
            measure(data, args)


if __name__ == "__main__":
    main()
