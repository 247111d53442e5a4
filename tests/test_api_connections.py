"""The API's database connections run without parallel workers unless configured: parallel
plans cost every page, tile and card the start of a worker (DIGITALCITY_API_PARALLEL_WORKERS)."""

from __future__ import annotations

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
