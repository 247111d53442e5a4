"""RFC 7807 problem details for every error the API returns."""

from __future__ import annotations

import psycopg
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from digitalcity.api.negotiation import language
from digitalcity.db.bounds import statement_timeout_ms
from digitalcity.errors import DatabaseUnavailable, DigitalCityError, TimedOut

PROBLEM = "application/problem+json"


def problem(
    status: int, title: str, detail: str, instance: str | None = None, **members: object
) -> JSONResponse:
    """An RFC 7807 problem; ``members`` are extension members (e.g. ``faults``)."""
    body: dict[str, object] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(members)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def database_problem(exc: BaseException) -> DigitalCityError | None:
    """The typed error for a database failure that is not the request's fault: a statement
    stopped by the caller's timeout, or no database to talk to. None for anything else."""
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, psycopg.errors.QueryCanceled):
        budget = statement_timeout_ms.get()
        limit = f" of {budget / 1000:g} s" if budget else ""
        return TimedOut(f"the request ran past its time budget{limit} and was stopped")
    if isinstance(exc, sa.exc.TimeoutError):  # no pooled connection came free
        return DatabaseUnavailable("the database is busy: no connection came free in time")
    if isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError) or isinstance(
        exc, sa.exc.OperationalError | sa.exc.InterfaceError
    ):
        if isinstance(orig, psycopg.errors.ReadOnlySqlTransaction):
            return DatabaseUnavailable("the primary database is unavailable for writes")
        return DatabaseUnavailable("the database is unavailable; try again shortly")
    return None


def typed_response(exc: DigitalCityError, instance: str, lang: str = "en") -> JSONResponse:
    """The problem of ``exc``; members it has in two languages (a rejected edit's faults) in
    ``lang``."""
    in_lang = getattr(exc, "members_in", None)
    members = in_lang(lang) if in_lang else (getattr(exc, "members", None) or {})
    response = problem(exc.status, exc.title, str(exc), instance, **members)
    retry = getattr(exc, "retry_after_s", None)
    if retry:
        response.headers["Retry-After"] = str(retry)
    return response


def install(app: FastAPI) -> None:
    """Register handlers turning typed errors, and database outages and timeouts, into
    problem JSON."""

    @app.exception_handler(DigitalCityError)
    async def _typed(request: Request, exc: DigitalCityError) -> JSONResponse:
        return typed_response(exc, request.url.path, await language(request))

    async def _database(request: Request, exc: Exception) -> JSONResponse:
        typed = database_problem(exc)
        if typed is None:
            raise exc
        return typed_response(typed, request.url.path)

    for kind in (sa.exc.DBAPIError, sa.exc.TimeoutError, psycopg.Error):
        app.add_exception_handler(kind, _database)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return problem(400, "Invalid parameter", detail, request.url.path)

    @app.exception_handler(sa.exc.DataError)
    async def _data(request: Request, exc: sa.exc.DataError) -> JSONResponse:
        # SQLSTATE class 22 (and psycopg's own refusals, e.g. a NUL in text): a value the
        # caller sent that the database cannot take — the caller's error, never a 500.
        message = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "bad value"
        return problem(400, "Invalid value", message, request.url.path)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), str(exc.detail), request.url.path)
