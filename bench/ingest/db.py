"""A throwaway embedded PostGIS cluster for the benchmark, in a fresh temporary directory."""

from __future__ import annotations

import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digitalcity.config import Settings
from digitalcity.db.cluster import EmbeddedCluster
from digitalcity.db.engine import ensure_ready, make_engine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BenchDB:
    settings: Settings
    cluster: EmbeddedCluster
    engine: Engine

    @property
    def password(self) -> str:
        return self.cluster.password

    def ogr_conninfo(self) -> str:
        """GDAL's ``PG:`` datasource (the password goes in ``PGPASSWORD``, not argv)."""
        s = self.settings
        return f"PG:host={s.db_host} port={s.db_port} user={s.db_user} dbname={s.db_name}"

    def count(self, table: str) -> int:
        schema, name = table.split(".")
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(sa.table(name, schema=schema))
                ).scalar_one()
            )

    def server_version(self) -> str:
        with self.engine.connect() as conn:
            full = conn.exec_driver_sql("SELECT postgis_lib_version()").scalar_one()
            return str(full)

    def close(self, keep: bool) -> None:
        self.engine.dispose()
        if not keep:
            self.cluster.destroy()
            shutil.rmtree(self.settings.data_dir, ignore_errors=True)


def start() -> BenchDB:
    """Start a cluster under a new ``/tmp/digitalcity-bench-*`` (traversable by the server user)."""
    data_dir = Path(tempfile.mkdtemp(prefix="digitalcity-bench-"))
    settings = Settings(data_dir=data_dir, db_port=free_port(), progress=False)
    cluster = EmbeddedCluster(settings)
    cluster.start()
    engine = make_engine(settings)
    ensure_ready(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS bench")
    return BenchDB(settings, cluster, engine)
