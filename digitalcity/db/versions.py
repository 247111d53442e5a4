"""Layer versions: the swap of a freshly loaded staging table into place, and the history.

The swap's statements run on the caller's connection, inside the caller's transaction, so a
load either replaces the layer completely or leaves it as it was. Versions past those kept
are dropped after it commits (``retire_versions``), each in a transaction of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.db.schema import version_table_name
from digitalcity.errors import LoadError
from digitalcity.history.loads import record_load

log = logging.getLogger(__name__)

_CURRENT = sa.text(
    "SELECT version, fingerprint, rows_loaded, loaded_at, revision FROM digitalcity.layer_versions "
    "WHERE city = :city AND layer = :layer AND is_current"
)
_NEXT_VERSION = sa.text(
    "SELECT coalesce(max(version), 0) + 1 FROM digitalcity.layer_versions "
    "WHERE city = :city AND layer = :layer"
)
_DEMOTE = sa.text(
    "UPDATE digitalcity.layer_versions SET is_current = false, table_name = :table_name "
    "WHERE city = :city AND layer = :layer AND is_current"
)
_INSERT = sa.text(
    "INSERT INTO digitalcity.layer_versions "
    "(city, layer, version, table_name, is_current, fingerprint, rows_loaded, extent, report) "
    "VALUES (:city, :layer, :version, :table_name, true, :fingerprint, :rows, :extent, "
    "CAST(:report AS jsonb))"
)
_KEPT = sa.text(
    "SELECT version, table_name FROM digitalcity.layer_versions "
    "WHERE city = :city AND layer = :layer AND NOT is_current AND NOT dropped "
    "ORDER BY version DESC"
)
_MARK_DROPPED = sa.text(
    "UPDATE digitalcity.layer_versions SET dropped = true "
    "WHERE city = :city AND layer = :layer AND version = :version"
)
_FIRST_LOAD = sa.text(
    "SELECT min(loaded_at) FROM digitalcity.layer_versions "
    "WHERE city = :city AND layer = ANY(:layers)"
)
NOTIFY_CHANNEL = "digitalcity_layer_versions"
_NOTIFY = sa.text(f"SELECT pg_notify('{NOTIFY_CHANNEL}', :payload)")
_LIST = sa.text(
    "SELECT city, layer, version, table_name, is_current, dropped, rows_loaded, loaded_at, "
    "extent, fingerprint FROM digitalcity.layer_versions "
    "WHERE (CAST(:city AS text) IS NULL OR city = :city) ORDER BY city, layer, version"
)


@dataclass(frozen=True)
class CurrentVersion:
    version: int
    fingerprint: str
    rows: int
    revision: int = 0  # edits since the load


def current_version(conn: Connection, layer: LayerDef) -> CurrentVersion | None:
    row = conn.execute(_CURRENT, {"city": layer.city, "layer": layer.id}).first()
    if row is None:
        return None
    return CurrentVersion(row.version, row.fingerprint, row.rows_loaded, int(row.revision or 0))


def _qualified(conn: Connection, schema: str, table: str) -> str:
    quote = conn.dialect.identifier_preparer.quote
    return f"{quote(schema)}.{quote(table)}"


_LAYER_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))")


def lock_layer(conn: Connection, layer: LayerDef) -> None:
    """Take ``layer``'s lock until ``conn``'s transaction ends: loads, swaps, retirements
    and tile copies of one layer run one at a time."""
    conn.execute(_LAYER_LOCK, {"key": layer.qualified_id})


def record_swap(conn: Connection, layer: LayerDef, city: CityDef, staging: str) -> None:
    """The first half of a swap, in its transaction before ``swap_in``: record in the layer's
    history what the ``staging`` table changes (``history.loads.record_load``).

    Loads of the layer wait for this transaction from here on, and the current table is
    locked against edits (EXCLUSIVE mode), not against readers: it cannot change between
    the comparison and the renames, and readers wait only for the renames. The comparison
    (0.2 s on 246,900 SYNTHETIC roads) ran after the renames, holding readers up for it,
    and could not start before the load's last statistics were gathered."""
    lock_layer(conn, layer)
    live: str | None = None
    if current_version(conn, layer) is not None:
        live = layer.id
        conn.exec_driver_sql(
            f"LOCK TABLE {_qualified(conn, city.schema_name, live)} IN EXCLUSIVE MODE"
        )
    record_load(conn, layer, city, live, staging)


def swap_in(
    conn: Connection,
    layer: LayerDef,
    city: CityDef,
    staging: str,
    *,
    fingerprint: str,
    rows: int,
    extent: list[float] | None,
    report: dict[str, Any],
    prepare: Callable[[Connection, int], None] | None = None,
) -> int:
    """Make ``staging`` the layer's current table. Returns the version. The versions past
    those kept are dropped once this transaction has committed (``retire_versions``).
    ``record_swap`` has recorded the change in this transaction. The current table is
    locked for the renames first, in short tries (``_lock_for_renames``), so that a long
    query reading it delays the swap and not every other reader.

    ``prepare(conn, version)`` runs in the same transaction once the version is known and
    before the tables are renamed (so readers of the live table wait only for the renames):
    what a load prepares for readers (the tile copy) commits with it or not at all."""
    params = {"city": layer.city, "layer": layer.id}
    # Serialise concurrent loads of the same layer.
    lock_layer(conn, layer)
    version = int(conn.execute(_NEXT_VERSION, params).scalar_one())
    previous = current_version(conn, layer)
    if previous is not None:
        _lock_for_renames(conn, layer, _qualified(conn, city.schema_name, layer.id))
    if prepare is not None:
        prepare(conn, version)
    quote = conn.dialect.identifier_preparer.quote
    old_name: str | None = None
    if previous is not None:
        old_name = version_table_name(layer, previous.version)
        conn.exec_driver_sql(
            f"ALTER TABLE {_qualified(conn, city.schema_name, layer.id)} RENAME TO {quote(old_name)}"
        )
        conn.execute(_DEMOTE, {**params, "table_name": old_name})
    conn.exec_driver_sql(
        f"ALTER TABLE {_qualified(conn, city.schema_name, staging)} RENAME TO {quote(layer.id)}"
    )
    conn.execute(
        _INSERT,
        {
            **params,
            "version": version,
            "table_name": layer.id,
            "fingerprint": fingerprint,
            "rows": rows,
            "extent": extent,
            "report": json.dumps(report, default=str),
        },
    )
    # Tell listening API processes (tile caches) that this layer changed; delivered on commit.
    conn.execute(_NOTIFY, {"payload": f"{layer.qualified_id}:{version}"})
    return version


# How long the drop of an expired version waits for a query still reading its table; a
# version not dropped then is dropped after the layer's next load.
RETIRE_LOCK_TIMEOUT_MS = 1000


def retire_versions(engine: Engine, layer: LayerDef, city: CityDef, keep: int) -> list[int]:
    """After a swap has committed: drop the tables of the layer's earlier versions past the
    ``keep`` newest, each in a transaction of its own, and mark them dropped. Returns the
    versions dropped; one whose table a query still reads after ``RETIRE_LOCK_TIMEOUT_MS``,
    or that the database would not drop, is left for the next load.

    Dropped in the swap's own transaction, their files were removed at its commit, before
    it released the layer's live table, so the layer's readers waited for that too: the swap
    held the 246,900 SYNTHETIC roads' table 49 ms (median of 5 reloads) instead of 3.3 ms
    (``bench.ingest.readers``), and a query reading an expired version held up the swap
    until it ended."""
    params = {"city": layer.city, "layer": layer.id}
    try:
        with engine.connect() as conn:
            expired = conn.execute(_KEPT, params).all()[keep:]
    except sa.exc.SQLAlchemyError as exc:  # the load has committed: it stays a success
        left_for_next_load(layer, "earlier versions", exc)
        return []
    dropped = []
    for old in expired:

        def drop(conn: Connection, old: Any = old) -> None:
            conn.exec_driver_sql(
                f"DROP TABLE IF EXISTS {_qualified(conn, city.schema_name, old.table_name)}"
            )
            conn.execute(_MARK_DROPPED, {**params, "version": old.version})

        if retire(engine, layer, f"version {old.version}", drop):
            dropped.append(int(old.version))
    return dropped


def retire(engine: Engine, layer: LayerDef, what: str, drop: Callable[[Connection], None]) -> bool:
    """Run ``drop`` (dropping ``what`` of ``layer`` after its load has committed) in a
    transaction of its own, under the layer's lock, each statement waiting at most
    ``RETIRE_LOCK_TIMEOUT_MS`` for a query still reading what it drops. True when done;
    a failure is logged (``left_for_next_load``), never raised: the load stays a success."""
    try:
        with engine.begin() as conn:
            lock_layer(conn, layer)
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{RETIRE_LOCK_TIMEOUT_MS}ms'")
            drop(conn)
    except sa.exc.SQLAlchemyError as exc:
        left_for_next_load(layer, what, exc)
        return False
    return True


def left_for_next_load(layer: LayerDef, what: str, exc: BaseException) -> None:
    """Log that ``what`` of ``layer`` (past versions, tile copies) could not be dropped after
    its load, and why; the layer's next load drops it."""
    log.warning(
        "%s: %s not dropped yet, left for the next load: %s",
        layer.qualified_id,
        what,
        _first_line(exc),
    )


def _first_line(exc: BaseException) -> str:
    """The first line of the database's message for ``exc`` (its class name without one)."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


# The renames take an ACCESS EXCLUSIVE lock on the current table. A request for it waits for
# every query reading the table, and every later query waits behind the request: one long
# reader (an export of the layer) stalled all the layer's readers until it ended. The lock is
# asked for in tries of LOCK_TRY_S, with LOCK_PAUSE_S between them, in which the readers
# queued meanwhile go on; a swap that has not got it after SWAP_WAIT_S gives up.
LOCK_TRY_S = 0.1
LOCK_PAUSE_S = 0.1
SWAP_WAIT_S = 600.0
_LOCK_NOT_AVAILABLE = "55P03"


def _lock_for_renames(conn: Connection, layer: LayerDef, table: str) -> None:
    """ACCESS EXCLUSIVE on ``table`` (the layer's current table, qualified) until the
    transaction ends, asked for in short tries (each in a savepoint, so a try that times out
    leaves the transaction usable); LoadError after ``SWAP_WAIT_S``."""
    deadline = time.monotonic() + SWAP_WAIT_S
    while True:
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{round(LOCK_TRY_S * 1000)}ms'")
                conn.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                raise
            if time.monotonic() > deadline:
                raise LoadError(
                    f"{layer.qualified_id}: its table was read by a query for more than "
                    f"{SWAP_WAIT_S:.0f} s, so the new version could not replace it; previous "
                    "version kept"
                ) from None
            time.sleep(LOCK_PAUSE_S)
            continue
        conn.exec_driver_sql("SET LOCAL lock_timeout TO DEFAULT")
        return


def list_versions(conn: Connection, city: str | None = None) -> list[dict[str, Any]]:
    """Every recorded version (current, kept and dropped), oldest first."""
    return [dict(row._mapping) for row in conn.execute(_LIST, {"city": city})]


def history_since(conn: Connection, city: str, layers: list[str]) -> dt.datetime | None:
    """When the history of ``layers`` of ``city`` begins: the first load of any of them (UTC;
    None before any load). An as-of answer before it holds nothing."""
    return conn.execute(_FIRST_LOAD, {"city": city, "layers": layers}).scalar()
