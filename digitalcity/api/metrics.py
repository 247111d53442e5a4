"""Request metrics (``digitalcity.metrics``): a pure ASGI middleware that times every request
to its last byte and counts it by route template, method and status.

It sits inside ``HeadAsGet``, so it sees the scope the router fills in (``scope["route"]``: a
HEAD request counts as the GET it runs as), and outside everything else, so that a 401 for a
bad key or a problem page counts too. A request no route took counts as ``unmatched``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from typing import Any

from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from digitalcity import metrics

UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The template of the route that took the request (``/collections/{collectionId}/items``,
    a mount's prefix such as ``/static``), else ``UNMATCHED``."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestMetrics:
    """Counts and times every HTTP request; keeps the pool gauges current as requests end."""

    def __init__(self, app: ASGIApp, engine_of: Callable[[], Engine]) -> None:
        self.app = app
        self.engine_of = engine_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before any answer: the server error that follows

        async def recording(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        metrics.IN_PROGRESS.inc()
        try:
            await self.app(scope, receive, recording)
        finally:
            metrics.IN_PROGRESS.dec()
            seconds = time.perf_counter() - started
            metrics.request_done(route_template(scope), scope["method"], status, seconds)
            pool: Any = self.engine_of().pool
            if hasattr(pool, "checkedout"):  # a QueuePool (a NullPool keeps nothing)
                metrics.pool_state(pool.checkedout(), pool.checkedin())
