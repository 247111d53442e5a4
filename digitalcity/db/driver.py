"""Rows straight from the DB-API driver (psycopg), for hot paths where SQLAlchemy's result
machinery costs more than the query: the statement is already compiled to text."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy.engine import Engine

from digitalcity.db.bounds import set_local_timeout, statement_timeout_ms

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


def fetch_value(engine: Engine, sql: str, params: Mapping[str, Any]) -> Any:
    """The first column of the first row of ``sql`` (None without rows), in autocommit."""
    with _autocommit(engine) as driver:
        row = driver.execute(sql, params).fetchone()
    return row[0] if row else None


@contextmanager
def _autocommit(engine: Engine) -> Iterator[psycopg.Connection]:
    """A pooled psycopg connection in autocommit mode: a read needs no BEGIN and ROLLBACK
    round trips. Back in the pool it is transactional again, as SQLAlchemy expects.

    With a statement timeout for the caller (``bounds.statement_timeout_ms``) the read runs in
    a transaction instead, opened by ``SET LOCAL statement_timeout`` and rolled back after:
    one more round trip, and no setting left on the pooled connection."""
    conn = engine.raw_connection()
    driver: psycopg.Connection = conn.driver_connection  # type: ignore[assignment]
    timeout = statement_timeout_ms.get()
    try:
        if timeout:
            set_local_timeout(driver)
        else:
            driver.autocommit = True
        yield driver
    finally:
        try:
            if timeout:
                driver.rollback()
            else:
                driver.autocommit = False
        except psycopg.Error:  # interrupted mid-statement: the connection is not reusable
            conn.invalidate()
        conn.close()
