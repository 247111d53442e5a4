"""Bounded work: a statement timeout for the caller's role on every statement the API runs for
it, and cancellation of a request's statements when its client goes away.

Both ride on context variables set per request (``CallerMiddleware``, ``cancellable``), so the
library code that runs the statements (items, tiles, analyses) needs no parameter for them:

- ``statement_timeout_ms``: applied with ``SET LOCAL`` when a SQLAlchemy transaction begins.
  A hot read (``driver.py``: item pages, tiles) runs in autocommit on a session whose own
  ``statement_timeout`` is the caller's: each pooled connection remembers the value it was
  last given and is set again only when the next caller's differs, so the reads of one role
  (most are anonymous) cost no SET and no ROLLBACK round trip: a 10-row read through
  ``streamed_rows`` took 0.49–0.61 ms against 1.64–1.76 ms with ``SET LOCAL`` and ROLLBACK
  (same machine, same run). A transaction begun for a
  caller without a timeout sets it back to none locally, so a remembered session value never
  bounds work it did not bound before. Behind PgBouncer's transaction pooling a session is
  not ours to keep: there every read runs in a transaction opened by ``SET LOCAL``.
- ``CancelScope``: every connection checked out while a scope is current is registered in it;
  ``cancel()`` sends PostgreSQL a cancel request for each (psycopg ``cancel_safe``), so the
  backend stops at once instead of running on for a client that left.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

statement_timeout_ms: ContextVar[int | None] = ContextVar("statement_timeout_ms", default=None)


class CancelScope:
    """The connections one request uses; ``cancel`` stops their running statements."""

    def __init__(self) -> None:
        self._connections: set[Any] = set()
        self._lock = threading.Lock()
        self.cancelled = False

    def add(self, connection: Any) -> None:
        with self._lock:
            self._connections.add(connection)
            cancelled = self.cancelled
        if cancelled:
            _cancel(connection)

    def discard(self, connection: Any) -> None:
        with self._lock:
            self._connections.discard(connection)

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            connections = list(self._connections)
        for connection in connections:
            _cancel(connection)


def _cancel(connection: Any) -> None:
    try:
        if isinstance(connection, psycopg.Connection) and not connection.closed:
            connection.cancel_safe(timeout=5.0)
    except (psycopg.Error, OSError):
        pass  # the statement ended or the connection is gone: nothing left to stop


current_scope: ContextVar[CancelScope | None] = ContextVar("cancel_scope", default=None)


@contextmanager
def scope() -> Iterator[CancelScope]:
    """A cancel scope current for the block (and the threads started from its context)."""
    made = CancelScope()
    token = current_scope.set(made)
    try:
        yield made
    finally:
        current_scope.reset(token)


_session_timeout: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
_local_only: weakref.WeakSet[Engine] = weakref.WeakSet()  # behind transaction pooling


def set_local_timeout(cursor_or_conn: Any) -> None:
    """``SET LOCAL statement_timeout`` for the current caller, inside an open transaction."""
    timeout = statement_timeout_ms.get()
    if timeout:
        cursor_or_conn.execute(
            "SELECT set_config('statement_timeout', %s, true)", (f"{int(timeout)}ms",)
        )


def session_timeouts(engine: Engine) -> bool:
    """Whether hot reads on ``engine`` may keep the caller's timeout on the session."""
    return engine not in _local_only


def use_session_timeout(driver: Any) -> None:
    """The session's ``statement_timeout`` made the current caller's (none: 0), on an
    autocommit psycopg connection; a round trip only when it differs from the last one set."""
    wanted = int(statement_timeout_ms.get() or 0)
    if _session_timeout.get(driver) != wanted:
        driver.execute("SELECT set_config('statement_timeout', %s, false)", (f"{wanted}ms",))
        _session_timeout[driver] = wanted


def install(engine: Engine, *, transaction_pooling: bool = False) -> None:
    """Apply the caller's timeout to every transaction of ``engine``, and register its
    checked-out connections with the current cancel scope."""
    if transaction_pooling:
        _local_only.add(engine)

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.engine.Connection) -> None:
        driver = conn.connection.driver_connection
        if driver is None:
            return
        try:
            if statement_timeout_ms.get():
                set_local_timeout(driver)
            elif _session_timeout.get(driver):  # a read left its caller's bound on the session
                driver.execute("SELECT set_config('statement_timeout', '0', true)")
        except psycopg.Error as exc:
            # run on the driver, outside SQLAlchemy's own wrapping: raised as SQLAlchemy
            # raises it, so whoever handles a lost database (the 503 handler, the version
            # poller's loop) handles this too (a primary stopped under the poller killed it)
            raise sa.exc.DBAPIError.instance(None, None, exc, psycopg.Error) from exc

    @sa.event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        active = current_scope.get()
        if active is not None:
            active.add(dbapi_conn)
            record.info["cancel_scope"] = active

    @sa.event.listens_for(engine, "checkin")
    def _checkin(dbapi_conn: Any, record: Any) -> None:
        active = record.info.pop("cancel_scope", None)
        if active is not None:
            active.discard(dbapi_conn)
