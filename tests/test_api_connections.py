"""The API's database connections run without parallel workers unless configured: parallel
plans cost every page, tile and card the start of a worker (DIGITALCITY_API_PARALLEL_WORKERS);
and they are kept for concurrent requests (DIGITALCITY_DB_POOL_SIZE)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import sqlalchemy as sa

from digitalcity.db.engine import make_engine
from digitalcity.db.routing import api_parallel_workers


def _workers(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar_one())


def test_api_connections_plan_without_parallel_workers(client, engine) -> None:  # noqa: ANN001
    assert _workers(client.app.state.engine) == "0"
    assert _workers(engine) != "0"  # other connections (loads, notebooks) keep the server's


def test_the_setting_is_honoured(settings) -> None:  # noqa: ANN001
    two = settings.model_copy(update={"api_parallel_workers": 2})
    assert api_parallel_workers(two) == 2
    engine = make_engine(two, parallel_workers=api_parallel_workers(two))
    try:
        assert _workers(engine) == "2"
    finally:
        engine.dispose()
    assert api_parallel_workers(settings.model_copy(update={"api_parallel_workers": -1})) is None


@contextmanager
def _connects(engine: sa.Engine) -> Iterator[list[int]]:
    """A list that grows by one each time ``engine`` opens a database connection."""
    opened: list[int] = []

    def count(*_: object) -> None:
        opened.append(1)

    sa.event.listen(engine, "connect", count)
    try:
        yield opened
    finally:
        sa.event.remove(engine, "connect", count)


def _use_eight_at_once(engine: sa.Engine) -> None:
    held = [engine.connect() for _ in range(8)]
    for conn in held:
        conn.exec_driver_sql("SELECT 1")
    for conn in held:
        conn.close()


def test_the_api_keeps_connections_for_concurrent_requests(client, settings) -> None:  # noqa: ANN001
    """Eight connections in use at once, returned, then eight again: the second round opens
    none. A pool keeping fewer closes the extra ones when returned, and every request above
    it pays a new PostgreSQL backend (3 ms of PostgreSQL CPU a Cambridge page at c=8)."""
    engine = client.app.state.engine
    assert engine.pool.size() == settings.db_pool_size >= 8
    _use_eight_at_once(engine)
    with _connects(engine) as opened:
        _use_eight_at_once(engine)
    assert opened == []


def test_concurrent_pages_open_no_connection_once_warm(app, live_server) -> None:  # noqa: ANN001
    """Eight 1,000-feature pages requested at once over HTTP, three rounds (each round's pages
    new to the page cache): after the first, no request opens a database connection."""

    def pages(round_: int) -> list[str]:
        return [
            f"{live_server}/collections/cambridge__parcels/items"
            f"?limit={1000 - round_}&offset={n * 1000}"
            for n in range(8)
        ]

    def fetch(url: str) -> int:
        return httpx.get(url, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(fetch, pages(0))) == {200}
        with _connects(app.state.engine) as opened:
            for round_ in (1, 2):
                assert set(pool.map(fetch, pages(round_))) == {200}
    assert opened == []
