"""RFC 7807 problem details for every error the API returns."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from digitalcity.errors import DigitalCityError

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, instance: str | None = None) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install(app: FastAPI) -> None:
    """Register handlers turning typed errors into problem JSON."""

    @app.exception_handler(DigitalCityError)
    async def _typed(request: Request, exc: DigitalCityError) -> JSONResponse:
        return problem(exc.status, exc.title, str(exc), request.url.path)

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
