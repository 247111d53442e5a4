"""Who is calling: the API key check for every route, and the caching headers that keep
one caller's answers away from another.

A pure ASGI middleware, so that no route escapes it (pages, static files and ``/api`` too):

- a presented key is checked against the database on every request — no in-process cache,
  so a revoked key stops working at once on every worker (the lookup is one indexed row by
  hash, read in autocommit on the driver: one round trip; the 30 s cache it replaced let a
  revoked key keep working);
- an invalid or revoked key is a 401 problem on every route, whatever the route would answer;
- every response varies on the key headers, and a keyed caller's responses are ``private``
  (a shared cache may keep only anonymous answers).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import psycopg
import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from digitalcity.api.negotiation import VARY_STATE
from digitalcity.api.problems import database_problem, problem, typed_response
from digitalcity.catalog.access import Role
from digitalcity.db.bounds import statement_timeout_ms
from digitalcity.db.keys import key_for

KEY_QUERY_PARAMETER = "api_key"
KEY_HEADERS = ("Authorization", "X-API-Key")
ROLE_STATE = "role"
KEY_ID_STATE = "key_id"

Lookup = Callable[[str], Awaitable[Role | None]]


def presented_key(headers: Headers, query: QueryParams) -> str | None:
    """The key a caller sent: ``Authorization: Bearer``, ``X-API-Key`` or ``?api_key=``."""
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return headers.get("x-api-key") or query.get(KEY_QUERY_PARAMETER) or None


def _merge_vary(headers: MutableHeaders, chosen_by: Iterable[str] = ()) -> None:
    """``Vary`` names the headers every answer may differ by, and ``chosen_by``: those this
    answer's format or language was negotiated from (``negotiation.VARY_STATE``)."""
    present = [v.strip() for v in headers.get("vary", "").split(",") if v.strip()]
    lowered = {v.lower() for v in present}
    wanted = ("Accept-Encoding", *KEY_HEADERS, *sorted(chosen_by))
    present += [h for h in wanted if h.lower() not in lowered]
    headers["Vary"] = ", ".join(present)


def _make_private(headers: MutableHeaders) -> None:
    """A keyed answer: ``public`` becomes ``private``; no directive at all becomes
    ``private, no-cache`` (a browser may keep it, and must revalidate)."""
    current = headers.get("cache-control")
    if not current:
        headers["Cache-Control"] = "private, no-cache"
        return
    parts = [p.strip() for p in current.split(",") if p.strip()]
    parts = [p for p in parts if p.lower() not in ("public", "private")]
    if not any(p.lower() == "no-store" for p in parts):
        parts.insert(0, "private")
    headers["Cache-Control"] = ", ".join(parts)


class CallerMiddleware:
    """Resolves the caller's role once per request into ``request.state.role``."""

    def __init__(
        self,
        app: ASGIApp,
        engine_of: Callable[[], Any],
        fallback_of: Callable[[], Any] | None = None,
        timeout_of: Callable[[Role], int] | None = None,
        written_lsn: Callable[[int], int | None] | None = None,
    ) -> None:
        self.app = app
        self.engine_of = engine_of
        self.fallback_of = fallback_of
        self.timeout_of = timeout_of
        self.written_lsn = written_lsn

    def _lookup(self, key: str) -> tuple[int, Role] | None:
        """Keys live on the primary (a revocation counts there at once); with the primary
        unreachable, a standby's copy answers, as of its last replayed commit."""
        try:
            return key_for(self.engine_of(), key)
        except (sa.exc.OperationalError, psycopg.OperationalError):
            if self.fallback_of is None:
                raise
            fallback = self.fallback_of()
            if fallback is self.engine_of():
                raise
            return key_for(fallback, key)

    async def _role(self, key: str) -> tuple[int, Role] | None:
        return await run_in_threadpool(self._lookup, key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = presented_key(Headers(scope=scope), QueryParams(scope.get("query_string", b"")))
        role: Role = "anonymous"
        key_id: int | None = None
        if key:
            try:
                found = await self._role(key)
            except (sa.exc.DBAPIError, psycopg.Error) as exc:
                typed = database_problem(exc)
                if typed is None:
                    raise
                await typed_response(typed, scope.get("path", ""))(scope, receive, send)
                return
            if found is None:
                response = problem(
                    401, "Unauthorized", "invalid or revoked API key", scope.get("path")
                )
                response.headers["WWW-Authenticate"] = 'Bearer realm="digitalcity"'
                response.headers["Cache-Control"] = "no-store"
                _merge_vary(response.headers)
                await response(scope, receive, send)
                return
            key_id, role = found
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state[ROLE_STATE] = role
        state[KEY_ID_STATE] = key_id
        if key_id is not None and self.written_lsn is not None:  # read-your-writes
            state["min_lsn"] = self.written_lsn(key_id)
        keyed = key is not None
        # the role's statement timeout, for every statement run for this request
        token = statement_timeout_ms.set(self.timeout_of(role) if self.timeout_of else None)

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                _merge_vary(headers, state.get(VARY_STATE, ()))
                if keyed:
                    _make_private(headers)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            statement_timeout_ms.reset(token)
