"""Database URL, engine and the project's own metadata schema."""

from __future__ import annotations

import select
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digitalcity.config import Settings
from digitalcity.db import bounds
from digitalcity.db.cluster import EmbeddedCluster
from digitalcity.errors import ConfigError


def database_url(settings: Settings) -> str:
    """``DIGITALCITY_DATABASE_URL`` when set, else the embedded cluster's URL."""
    if settings.database_url:
        url = settings.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url
    return EmbeddedCluster(settings).url()


def read_sql(name: str) -> str:
    """The text of ``digitalcity/db/sql/<name>``."""
    return resources.files("digitalcity.db").joinpath("sql", name).read_text(encoding="utf-8")


def make_engine(
    settings: Settings, *, pool_size: int | None = None, parallel_workers: int | None = None
) -> Engine:
    """An engine for the configured database; connects lazily. It keeps ``pool_size``
    connections (``db_pool_size`` by default) and opens up to ``db_pool_overflow`` more at
    busy moments. Pooled connections the server has closed are replaced at checkout (see
    ``_drop_closed``). With
    ``db_transaction_pooling`` (PgBouncer), psycopg prepares no named statements: a pooler
    before 1.21 hands the next transaction another server connection, without them.
    ``parallel_workers`` sets ``max_parallel_workers_per_gather`` for every connection (a
    startup option: PgBouncer drops it, so set it on the role there)."""
    connect_args: dict[str, Any] = {}
    if settings.db_transaction_pooling:
        connect_args["prepare_threshold"] = None
    if parallel_workers is not None:
        connect_args["options"] = f"-c max_parallel_workers_per_gather={int(parallel_workers)}"
    engine = sa.create_engine(
        database_url(settings),
        pool_size=settings.db_pool_size if pool_size is None else pool_size,
        max_overflow=settings.db_pool_overflow,
        connect_args=connect_args,
    )
    sa.event.listen(engine, "checkout", _drop_closed)
    bounds.install(engine, transaction_pooling=settings.db_transaction_pooling)
    return engine


def _drop_closed(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """Replace a pooled connection the server has closed, without a round trip per checkout:
    an idle connection's socket becomes readable only when the server says goodbye (restart,
    termination) or hangs up. SQLAlchemy's ``pool_pre_ping`` costs a query every time."""
    if dbapi_conn.closed or dbapi_conn.broken:
        raise sa.exc.DisconnectionError("connection closed")
    try:
        readable, _, _ = select.select([dbapi_conn.fileno()], [], [], 0)
    except (OSError, ValueError) as exc:
        raise sa.exc.DisconnectionError(str(exc)) from None
    if readable:
        raise sa.exc.DisconnectionError("the server closed the connection")


def ensure_ready(engine: Engine) -> None:
    """Create PostGIS (and pgRouting when installed) and the metadata schema if missing."""
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            has_unaccent = conn.exec_driver_sql(  # CQL2 ACCENTI (postgresql-contrib)
                "SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'"
            ).first()
            if has_unaccent:
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
            has_routing = conn.exec_driver_sql(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting'"
            ).first()
            if has_routing:
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pgrouting")
            conn.exec_driver_sql(read_sql("meta.sql"))
    except sa.exc.OperationalError as exc:
        raise ConfigError(
            f"cannot reach the database: {str(exc.orig).strip().splitlines()[0]}"
        ) from None
