"""The ingest benchmark's database: a throwaway cluster with a ``bench`` schema for ogr2ogr."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from bench.common.cluster import BenchDB, throwaway_cluster


@contextmanager
def bench_cluster(*, keep: bool) -> Iterator[BenchDB]:
    """A throwaway cluster under a new ``/tmp/digitalcity-bench-*`` with schema ``bench``.

    Durable settings (fsync on), as a real load has; ``keep`` leaves it running and on disk.
    """
    with throwaway_cluster("digitalcity-bench-", fast_unsafe=False, keep=keep) as db:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS bench")
        yield db


def ogr_conninfo(db: BenchDB) -> str:
    """GDAL's ``PG:`` datasource (the password goes in ``PGPASSWORD``, not argv)."""
    s = db.settings
    return f"PG:host={s.db_host} port={s.db_port} user={s.db_user} dbname={s.db_name}"


def count(db: BenchDB, table: str) -> int:
    """Rows in ``schema.name``."""
    schema, name = table.split(".")
    with db.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(sa.table(name, schema=schema))
            ).scalar_one()
        )


def postgis_version(db: BenchDB) -> str:
    with db.engine.connect() as conn:
        return str(conn.exec_driver_sql("SELECT postgis_lib_version()").scalar_one())


_AUTOVACUUM_BUSY = sa.text(
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
)


def settle(db: BenchDB, *, timeout_s: float = 60.0) -> None:
    """Leave the server quiet before a measured load: every table vacuumed and analysed, so
    no autovacuum of the last load's table runs beside the next load, and dirty buffers
    written out by a checkpoint. Untimed, and done before every load alike (ours and
    ogr2ogr's), so each is measured on its own and not with the previous one's aftermath."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)")
        conn.exec_driver_sql("CHECKPOINT")
        deadline = time.monotonic() + timeout_s
        while conn.execute(_AUTOVACUUM_BUSY).scalar_one() and time.monotonic() < deadline:
            time.sleep(0.1)
