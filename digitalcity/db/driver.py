"""Rows straight from the DB-API driver (psycopg), for hot paths where SQLAlchemy's result
machinery costs more than the query: the statement is already compiled to text."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy.engine import Engine

from digitalcity.db.bounds import (
    session_timeouts,
    set_local_timeout,
    statement_timeout_ms,
    use_session_timeout,
)

# libpq 17 streams rows in chunks (psycopg's binary wheels bundle a recent one).
CHUNKED_ROWS = psycopg.pq.version() >= 170000

# Errors of a statement the data cannot satisfy (a bad cast, a division by zero in a filter).
STATEMENT_ERRORS = (psycopg.DataError, psycopg.ProgrammingError)


def streamed_rows(
    engine: Engine, sql: str, params: Mapping[str, Any], *, chunk: int = 100
) -> Generator[tuple[Any, ...], None, None]:
    """Rows of ``sql`` as PostgreSQL produces them, fetched ``chunk`` at a time, on a pooled
    connection held until the rows are exhausted or the iterator is closed. The statement runs
    at the first ``next()``, which raises one of ``STATEMENT_ERRORS`` if it fails."""
    with _autocommit(engine) as driver:
        cursor = driver.cursor()
        if CHUNKED_ROWS:
            yield from cursor.stream(sql, params, size=chunk)
            return
        cursor.execute(sql, params)  # an older libpq: all rows at once, handed out in chunks
        while rows := cursor.fetchmany(chunk):
            yield from rows


def fetch_row(engine: Engine, sql: str, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The first row of ``sql`` (None without rows), in autocommit: one round trip."""
    with _autocommit(engine) as driver:
        return driver.execute(sql, params).fetchone()


def fetch_value(engine: Engine, sql: str, params: Mapping[str, Any]) -> Any:
    """The first column of the first row of ``sql`` (None without rows), in autocommit."""
    row = fetch_row(engine, sql, params)
    return row[0] if row else None


@contextmanager
def _autocommit(engine: Engine) -> Iterator[psycopg.Connection]:
    """A pooled psycopg connection in autocommit mode: a read needs no BEGIN and ROLLBACK
    round trips. Back in the pool it is transactional again, as SQLAlchemy expects. The
    caller's statement timeout is the session's (``bounds.use_session_timeout``: set only
    when it changes).

    Behind PgBouncer's transaction pooling (``bounds.session_timeouts`` false) a read with a
    timeout runs in a transaction instead, opened by ``SET LOCAL statement_timeout`` and
    rolled back after: no setting left on a server connection others share."""
    conn = engine.raw_connection()
    driver: psycopg.Connection = conn.driver_connection  # type: ignore[assignment]
    local = bool(statement_timeout_ms.get()) and not session_timeouts(engine)
    try:
        if local:
            set_local_timeout(driver)
        else:
            driver.autocommit = True
            if session_timeouts(engine):  # behind PgBouncer no session setting is left behind
                use_session_timeout(driver)
        yield driver
    finally:
        try:
            if local:
                driver.rollback()
            else:
                driver.autocommit = False
        except psycopg.Error:  # interrupted mid-statement: the connection is not reusable
            conn.invalidate()
        conn.close()
