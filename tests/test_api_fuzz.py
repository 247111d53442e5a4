"""Fuzz every operation of the OpenAPI document with schemathesis, anonymously and as a
planner: no 5xx, and every answer conforms to its declared status, media type and schema.

A bounded run (``FUZZ_EXAMPLES`` cases per operation, generation only, no shrinking) against
its own live server whose ``limit`` maximum is small, so a case costs milliseconds."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import free_port

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_server(settings, loaded) -> Iterator[str]:  # noqa: ANN001
    from digitalcity.api import create_app

    app = create_app(
        settings.model_copy(update={"items_max_limit": 50, "export_max_features": 200})
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "fuzz server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    app.state.engine.dispose()


def _fuzz(base: str, headers: dict[str, str]) -> tuple[int, Counter[int]]:
    """Run every operation; the number of operations and the statuses seen."""
    doc = httpx.get(f"{base}/api", headers=headers, timeout=30).json()
    schema = schemathesis.openapi.from_dict(doc)
    operations = [result.ok() for result in schema.get_all_operations()]
    statuses: Counter[int] = Counter()
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            phases=[Phase.generate],
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            response = case.call_and_validate(
                base_url=base, headers=headers, checks=CHECKS, timeout=30
            )
            statuses[response.status_code] += 1

        run()
    return len(operations), statuses


def _check_run(operations: int, statuses: Counter[int]) -> None:
    print(f"{operations} operations, statuses {dict(sorted(statuses.items()))}")
    assert operations > 40
    assert sum(statuses.values()) >= operations  # every operation was called
    assert statuses[200] > operations // 2 and not any(s >= 500 for s in statuses)


def test_fuzz_anonymous(fuzz_server):
    _check_run(*_fuzz(fuzz_server, {}))


def test_fuzz_planner(fuzz_server, planner_key):
    _check_run(*_fuzz(fuzz_server, {"X-API-Key": planner_key}))
