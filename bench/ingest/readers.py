"""``python -m bench.ingest.readers [--repeat 5]``: how long a reader of a layer waits while
the layer is reloaded.

A reload swaps its new table in at the end, in one transaction: the renames take an
ACCESS EXCLUSIVE lock on the current table, so a reader arriving then waits until the swap
commits. This bench loads each GeoPackage layer of the SYNTHETIC OSM-like set
(``bench.common.osmlike``) into a throwaway cluster, then runs a reader on a connection of
its own: a bbox query of 100 rows (an item page's shape), one every 2 ms. It reports the
reader's median latency with no load running (the floor), and its longest wait during each
forced reload (``load_layer(force=True)``), as milliseconds and as a ratio to that floor.

Then the same beside a long query (an export, say): another connection reads the table in a
transaction it keeps open until ``HOLD_S`` after the reload's swap has asked for its lock.
The swap must wait for it; the reader should not.

It also reports how long each reload's swap holds the layer's live table (its ACCESS
EXCLUSIVE lock, from the lock's grant until the swap's connection is back in the pool after
its commit): the longest any reader can wait for the swap. The reader's own figure adds the
machine's scheduling noise (its longest latency with no load running, ``idle longest``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from unittest import mock

import psycopg
import sqlalchemy as sa

from bench.common.cluster import BenchDB
from bench.common.osmlike import CITY, COUNTS, write_dataset
from bench.ingest.db import bench_cluster, settle
from digitalcity.catalog import load_catalog
from digitalcity.config import Settings
from digitalcity.db import versions
from digitalcity.ingest import load_layer

_PAUSE_S = 0.002
HOLD_S = 1.0


class _Reader:
    """A thread querying ``table`` in a loop on its own connection, keeping each latency."""

    def __init__(self, db: BenchDB, table: str, bbox: tuple[float, float, float, float]) -> None:
        self._conn = psycopg.connect(db.libpq_url(), autocommit=True)
        self._sql = (
            f"SELECT fid FROM {table} "  # noqa: S608 - the bench's own table name
            "WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) ORDER BY fid LIMIT 100"
        )
        self._bbox = bbox
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            self._conn.execute(self._sql, self._bbox).fetchall()
            self.latencies.append(time.perf_counter() - started)
            time.sleep(_PAUSE_S)

    def __enter__(self) -> _Reader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._conn.close()


class _SwapHold:
    """Within: how long each swap holds the layer's live table (seconds, in ``holds``), from
    the grant of the renames' lock (``versions._lock_for_renames``, wrapped) until the swap's
    connection is checked back into the pool, after its commit has released the lock."""

    def __init__(self, db: BenchDB) -> None:
        self._pool = db.engine.pool
        self._granted: dict[int, float] = {}  # DB-API connection id -> when the lock was granted
        self.holds: list[float] = []
        original = versions._lock_for_renames

        def timed(conn: sa.Connection, *args: object) -> None:
            original(conn, *args)  # type: ignore[arg-type]
            self._granted[id(conn.connection.dbapi_connection)] = time.perf_counter()

        self._patch = mock.patch.object(versions, "_lock_for_renames", timed)

    def _checked_in(self, dbapi_connection: object, _record: object) -> None:
        granted = self._granted.pop(id(dbapi_connection), None)
        if granted is not None:
            self.holds.append(time.perf_counter() - granted)

    def __enter__(self) -> _SwapHold:
        self._patch.start()
        sa.event.listen(self._pool, "checkin", self._checked_in)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self._pool, "checkin", self._checked_in)
        self._patch.stop()


def _bbox(db: BenchDB, table: str) -> tuple[float, float, float, float]:
    """A box around the table's middle feature, 1/20 of its extent wide (lon/lat)."""
    with db.engine.connect() as conn:
        row = conn.exec_driver_sql(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "  # noqa: S608
            f"FROM (SELECT ST_Extent(geom) AS e FROM {table}) s"
        ).one()
    west, south, east, north = (float(v) for v in row)
    x, y = (west + east) / 2, (south + north) / 2
    w, h = (east - west) / 40, (north - south) / 40
    return (x - w, y - h, x + w, y + h)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest.readers", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="reloads per layer")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    with tempfile.TemporaryDirectory(prefix="digitalcity-bench-readers-") as work:
        osm_layers = write_dataset(Path(work) / "osmlike", places=False)
        with bench_cluster(keep=False) as db:
            print("a reader's bbox query (100 rows) every 2 ms, on a connection of its own")
            print(
                f"{'layer':24s} {'rows':>7s} {'idle median ms':>15s} {'idle longest ms':>16s} "
                f"{'reload longest ms (median / max)':>33s} {'ratio':>6s} {'load s':>7s} "
                f"{'beside a long query: longest ms':>32s} {'swap holds the table ms':>24s}"
            )
            cambridge = db.settings.model_copy(update={"progress": False})
            _measure(db, cambridge, "cambridge", ["parcels"], args.repeat)
            osm = cambridge.model_copy(update={"layers_dir": osm_layers})
            _measure(db, osm, CITY, list(COUNTS), args.repeat)


def _measure(
    db: BenchDB, settings: Settings, city_id: str, layer_ids: list[str], repeat: int
) -> None:
    """Load each layer once, then print the reader's figures for ``repeat`` reloads."""
    catalog = load_catalog(settings.layers_dir)
    city = catalog.city(city_id)
    for layer_id in layer_ids:
        layer = catalog.layer(city_id, layer_id)
        report = load_layer(layer, city, db.engine, settings, force=True)
        table = f"{city.schema_name}.{layer_id}"
        bbox = _bbox(db, table)
        settle(db)
        with _Reader(db, table, bbox) as idle:
            time.sleep(2.0)
        floor = statistics.median(idle.latencies)
        longest, loads = [], []
        with _SwapHold(db) as swaps:
            for _ in range(repeat):
                settle(db)
                with _Reader(db, table, bbox) as reader:
                    time.sleep(0.2)
                    started = time.perf_counter()
                    load_layer(layer, city, db.engine, settings, force=True)
                    loads.append(time.perf_counter() - started)
                    time.sleep(0.2)
                longest.append(max(reader.latencies))
        worst = statistics.median(longest)
        settle(db)
        reload = partial(load_layer, layer, city, db.engine, settings, force=True)
        beside = _beside_a_long_query(db, reload, table, bbox)
        print(
            f"{layer.qualified_id:24s} {report.rows_loaded:7d} {floor * 1000:15.2f} "
            f"{max(idle.latencies) * 1000:16.1f} "
            f"{worst * 1000:22.1f} / {max(longest) * 1000:8.1f} "
            f"{worst / floor:6.1f} {statistics.median(loads):7.2f} {beside * 1000:32.1f} "
            f"{_median_max_ms(swaps.holds):>24s}",
            flush=True,
        )


def _median_max_ms(seconds: list[float]) -> str:
    """``median / max`` of ``seconds`` in milliseconds ("n/a" without any)."""
    if not seconds:
        return "n/a"
    return f"{statistics.median(seconds) * 1000:.1f} / {max(seconds) * 1000:.1f}"


def _beside_a_long_query(
    db: BenchDB, reload: Callable[[], object], table: str, bbox: tuple[float, float, float, float]
) -> float:
    """The reader's longest wait (s) during ``reload`` while another connection's transaction
    holds ``table``, until ``HOLD_S`` after the swap has asked for its lock."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            reload()
        except BaseException as exc:  # noqa: BLE001 - raised on the bench's thread
            failed.append(exc)

    with _Reader(db, table, bbox) as reader, psycopg.connect(db.libpq_url()) as long:
        long.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - held until rollback
        loading = threading.Thread(target=run)
        loading.start()
        deadline = time.monotonic() + 120
        while not _lock_requested(db, table) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(HOLD_S)
        long.rollback()
        loading.join()
        time.sleep(0.2)
    if failed:
        raise failed[0]
    return max(reader.latencies)


def _lock_requested(db: BenchDB, table: str) -> bool:
    """Whether a lock on ``table`` is being waited for."""
    with db.engine.connect() as conn:
        waiting = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_locks WHERE relation = to_regclass(%(t)s) AND NOT granted",
            {"t": table},
        ).scalar_one()
    return bool(waiting)


if __name__ == "__main__":
    main()
