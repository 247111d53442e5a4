"""``GET /metrics``: Prometheus metrics over real HTTP, for admin keys only; requests counted by
route template (never by a caller's path, query or key), caches, the pool, the layers; and one
count across the workers of ``digitalcity serve --workers 2``, whose access log never holds a
key sent in a query string."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from digitalcity.config import Settings
from tests.conftest import free_port

ITEMS = "/collections/{collectionId}/items"
HYDRANTS = "/collections/cambridge__hydrants/items"


@pytest.fixture(scope="module")
def admin_key(engine: sa.Engine, loaded) -> str:  # noqa: ANN001
    from digitalcity.db.keys import create_key

    return create_key(engine, "admin", "metrics tests").key


def _scrape(
    base: str, key: str, client: Any = httpx
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics`` (from ``client``: httpx, or a TestClient with ``base``
    empty): (name, sorted labels) -> value."""
    response = client.get(f"{base}/metrics", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_only_admin_keys_read_the_metrics(live_server: str, planner_key: str) -> None:
    anonymous = httpx.get(f"{live_server}/metrics")
    assert anonymous.status_code == 403
    assert "管理员" in anonymous.json()["detail"] and "admin" in anonymous.json()["detail"]
    planner = httpx.get(f"{live_server}/metrics", headers={"X-API-Key": planner_key})
    assert planner.status_code == 403
    assert httpx.get(f"{live_server}/metrics", headers={"X-API-Key": "dc_nope"}).status_code == 401


def test_requests_count_by_route_template(live_server: str, admin_key: str) -> None:
    before = _scrape(live_server, admin_key)
    secret = "dc_secretkeyofsomeone"
    for _ in range(3):
        page = httpx.get(
            f"{live_server}{HYDRANTS}", params={"limit": 7, "bbox": "-71.2,42.3,-71,42.5"}
        )
        assert page.status_code == 200
    assert httpx.head(f"{live_server}{HYDRANTS}", params={"limit": 7}).status_code == 200
    assert httpx.get(f"{live_server}/no/such/place-xyzzy").status_code == 404
    bad = httpx.get(f"{live_server}{HYDRANTS}", params={"api_key": secret, "q": "qwertyuiop"})
    assert bad.status_code == 401
    assert httpx.request("PROPFIND", f"{live_server}/conformance").status_code == 405
    after = _scrape(live_server, admin_key)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    requests = "digitalcity_http_requests_total"
    assert delta(requests, route=ITEMS, method="GET", status="200") == 4  # HEAD runs as GET
    assert delta("digitalcity_http_request_duration_seconds_count", route=ITEMS, method="GET") == 4
    assert delta(requests, route="unmatched", method="GET", status="404") == 1
    assert delta(requests, route="unmatched", method="GET", status="401") == 1  # the key: refused
    assert delta(requests, route="/conformance", method="OTHER", status="405") == 1
    seconds = delta("digitalcity_http_request_duration_seconds_sum", route=ITEMS, method="GET")
    assert 0 < seconds < 30
    # bounded labels, nothing a caller sent: no path, query value or key
    text = httpx.get(f"{live_server}/metrics", headers={"Authorization": f"Bearer {admin_key}"})
    for sent in ("xyzzy", secret, "qwertyuiop", "PROPFIND", "cambridge__hydrants", admin_key):
        assert sent not in text.text
    routes = {dict(labels).get("route") for (name, labels) in after if name == requests}
    assert all(r == "unmatched" or r.startswith("/") for r in routes)


def test_caches_pool_and_layers(live_server: str, admin_key: str, engine: sa.Engine) -> None:
    before = _scrape(live_server, admin_key)
    box = {"limit": 5, "bbox": "-71.11,42.37,-71.10,42.38"}
    for _ in range(2):  # the page cache: rendered once, then a hit
        assert httpx.get(f"{live_server}{HYDRANTS}", params=box).status_code == 200
    tile = f"{live_server}/tiles/cambridge/16/19829/24234"
    for _ in range(2):  # the tile cache (a tile drawn or empty alike)
        assert httpx.get(tile).status_code in (200, 204)
    after = _scrape(live_server, admin_key)
    lookups = "digitalcity_cache_lookups_total"
    for cache in ("items", "tiles"):
        hits = _value(after, lookups, cache=cache, result="hit")
        misses = _value(after, lookups, cache=cache, result="miss")
        assert hits - _value(before, lookups, cache=cache, result="hit") >= 1, cache
        assert (
            misses
            + hits
            - sum(_value(before, lookups, cache=cache, result=r) for r in ("hit", "miss"))
            == 2
        ), cache
    pool = "digitalcity_db_pool_connections"
    assert _value(after, pool, state="idle") >= 1
    assert (pool, (("state", "in_use"),)) in after
    with engine.connect() as conn:
        version, rows, loaded_at = conn.execute(
            sa.text(
                "SELECT version, rows_loaded, loaded_at FROM digitalcity.layer_versions "
                "WHERE city = 'cambridge' AND layer = 'hydrants' AND is_current"
            )
        ).one()
    assert _value(after, "digitalcity_layer_rows", city="cambridge", layer="hydrants") == rows
    assert _value(after, "digitalcity_layer_version", city="cambridge", layer="hydrants") == version
    loaded = "digitalcity_layer_loaded_timestamp_seconds"
    assert _value(after, loaded, city="cambridge", layer="hydrants") == loaded_at.timestamp()
    assert any(name == "digitalcity_build_info" for name, _ in after)


def test_a_cache_turned_off_counts_no_lookups(settings: Settings, admin_key: str) -> None:
    from fastapi.testclient import TestClient

    from digitalcity.api import create_app

    off = settings.model_copy(update={"items_cache_mb": 0, "tile_cache": False})
    with TestClient(create_app(off)) as client:
        before = _scrape("", admin_key, client)
        for _ in range(2):
            assert client.get(HYDRANTS, params={"limit": 4}).status_code == 200
            assert client.get("/tiles/cambridge/16/19829/24234").status_code in (200, 204)
        after = _scrape("", admin_key, client)
    lookups = [k for k in {*before, *after} if k[0] == "digitalcity_cache_lookups_total"]
    assert all(after.get(k, 0.0) == before.get(k, 0.0) for k in lookups)
    requests = (
        "digitalcity_http_requests_total",
        (("method", "GET"), ("route", ITEMS), ("status", "200")),
    )
    assert after[requests] - before.get(requests, 0.0) == 2  # the pages themselves were counted


SERVE_LOGS: dict[str, Path] = {}


@pytest.fixture(scope="module")
def two_workers(settings: Settings, loaded, tmp_path_factory) -> Iterator[str]:  # noqa: ANN001
    """``digitalcity serve --workers 2`` on the test cluster, in a process of its own; its
    log (uvicorn's access lines too) in ``SERVE_LOGS``."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "DIGITALCITY_DATA_DIR": str(settings.data_dir),
        "DIGITALCITY_DB_PORT": str(settings.db_port),
        "DIGITALCITY_SOURCE_DATA_DIR": str(settings.source_data_dir),
    }
    command = [str(Path(sys.executable).parent / "digitalcity"), "serve", "--workers", "2"]
    command += ["--port", str(port)]
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    output = log.open("w")
    server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "digitalcity serve --workers 2 did not start"
            try:
                if httpx.get(f"{base}/conformance", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        SERVE_LOGS[base] = log
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        output.close()


def test_workers_count_as_one_server(two_workers: str, admin_key: str) -> None:
    first = _scrape(two_workers, admin_key)
    base = _value(first, "digitalcity_http_requests_total", route=ITEMS, method="GET", status="200")
    # new connections each, so both workers answer some (the kernel spreads the accepts)
    for n in range(40):
        response = httpx.get(f"{two_workers}{HYDRANTS}", params={"limit": 3, "offset": n})
        assert response.status_code == 200
    for _ in range(6):  # whichever worker answers the scrape, it counts both workers' requests
        samples = _scrape(two_workers, admin_key)
        counted = _value(
            samples, "digitalcity_http_requests_total", route=ITEMS, method="GET", status="200"
        )
        assert counted - base == 40
        assert _value(samples, "digitalcity_http_requests_in_progress") >= 1  # the scrape itself


def test_keys_never_reach_the_access_log(two_workers: str, planner_key: str) -> None:
    for name in ("api_key", "%61pi%5Fkey"):  # the API decodes names: both are its key
        url = (
            f"{two_workers}/collections/cambridge__utility_poles/items?limit=2&{name}={planner_key}"
        )
        assert httpx.get(url).status_code == 200  # an internal layer: the key was read
    assert httpx.get(f"{two_workers}{HYDRANTS}?limit=9&api_key=dc_not_a_key").status_code == 401
    deadline = time.monotonic() + 10
    log = SERVE_LOGS[two_workers]
    while log.read_text().count("cambridge__utility_poles/items?limit=2") < 2:
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)
    text = log.read_text()
    assert planner_key not in text and "dc_not_a_key" not in text
    assert "limit=2&api_key=[redacted]" in text and "limit=2&%61pi%5Fkey=[redacted]" in text
