"""Prometheus metrics of the API: requests, their durations, caches, the database pool, the
layers' versions and the standbys' lag.

One process keeps its metrics in memory. ``digitalcity serve --workers N`` runs N processes,
so it sets ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode) and any worker's
``/metrics`` answers for all of them; a deployment that starts its workers some other way sets
that variable itself.

Labels hold route templates, cache names, layer ids and standby numbers: never a path, query,
key or value a caller sent, so the set of series stays bounded and holds nothing of a caller.
Durations are in seconds, sizes in bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from digitalcity import __version__

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUESTS = Counter(
    "digitalcity_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
DURATION = Histogram(
    "digitalcity_http_request_duration_seconds",
    "Time from a request's arrival to the last byte of its answer (s), by route template",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
IN_PROGRESS = Gauge(
    "digitalcity_http_requests_in_progress",
    "Requests being answered",
    multiprocess_mode="livesum",
)
CACHE_LOOKUPS = Counter(
    "digitalcity_cache_lookups",
    "Cache lookups, by cache (tiles: the tile cache; items: rendered item pages) and result",
    ["cache", "result"],
)
POOL = Gauge(
    "digitalcity_db_pool_connections",
    "Connections of the API's pool to the primary, by state (in_use, idle)",
    ["state"],
    multiprocess_mode="livesum",
)
LAYER_ROWS = Gauge(
    "digitalcity_layer_rows",
    "Features each layer's current version was loaded with (read at each scrape)",
    ["city", "layer"],
    multiprocess_mode="mostrecent",
)
LAYER_VERSION = Gauge(
    "digitalcity_layer_version",
    "Each layer's current version number (read at each scrape)",
    ["city", "layer"],
    multiprocess_mode="mostrecent",
)
LAYER_LOADED = Gauge(
    "digitalcity_layer_loaded_timestamp_seconds",
    "When each layer's current version was loaded (Unix time, s; read at each scrape)",
    ["city", "layer"],
    multiprocess_mode="mostrecent",
)
STANDBY_LAG = Gauge(
    "digitalcity_standby_lag_bytes",
    "WAL bytes each configured standby's replay is behind the primary (last check)",
    ["standby"],
    multiprocess_mode="mostrecent",
)
STANDBY_SERVING = Gauge(
    "digitalcity_standby_serving",
    "1 when the standby takes reads (in recovery, within the allowed lag), else 0",
    ["standby"],
    multiprocess_mode="mostrecent",
)
BUILD = Gauge(
    "digitalcity_build_info",
    "The digitalcity version serving (value 1)",
    ["version"],
    multiprocess_mode="mostrecent",
)
BUILD.labels(__version__).set(1)
disable_created_metrics()  # the *_created series: noise for a scraper that keeps its own

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# the labelled series of each (route, method, status) seen: ``labels()`` looks its child up
# under a lock at every call (counting a request 3.1 µs that way, 1.2 µs from this dict)
_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def request_done(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request (``route``: its template; a method outside ``METHODS``
    counts as ``OTHER``)."""
    series = _SERIES.get((route, method, status))
    if series is None:
        named = method if method in METHODS else "OTHER"
        series = REQUESTS.labels(route, named, str(status)), DURATION.labels(route, named)
        _SERIES[(route, method, status)] = series
    series[0].inc()
    series[1].observe(seconds)


def cache_lookup(cache: str, hit: bool) -> None:
    """Count one lookup of ``cache`` ("tiles" or "items")."""
    CACHE_LOOKUPS.labels(cache, "hit" if hit else "miss").inc()


_POOL_IN_USE, _POOL_IDLE = POOL.labels("in_use"), POOL.labels("idle")


def pool_state(in_use: int, idle: int) -> None:
    _POOL_IN_USE.set(in_use)
    _POOL_IDLE.set(idle)


def layers_state(layers: Iterable[tuple[str, str, int, int, float]]) -> None:
    """(city, layer, version, rows, loaded at as Unix time) of every current layer version;
    a layer no longer listed leaves the gauges."""
    for gauge in (LAYER_ROWS, LAYER_VERSION, LAYER_LOADED):
        gauge.clear()
    for city, layer, version, rows, loaded_at in layers:
        LAYER_ROWS.labels(city, layer).set(rows)
        LAYER_VERSION.labels(city, layer).set(version)
        LAYER_LOADED.labels(city, layer).set(loaded_at)


def standbys_state(standbys: Iterable[tuple[bool, int]]) -> None:
    """(serving, lag in bytes) of each configured standby, in configuration order."""
    for number, (serving, lag) in enumerate(standbys):
        STANDBY_SERVING.labels(str(number)).set(1 if serving else 0)
        STANDBY_LAG.labels(str(number)).set(lag)


def exposition() -> bytes:
    """Every metric in Prometheus' text format: of all workers in multiprocess mode."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
