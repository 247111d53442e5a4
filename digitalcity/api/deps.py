"""Shared dependencies: settings, catalog, engine and the caller's role.

They are ``async``: FastAPI runs a plain ``def`` dependency on the thread pool, a hop that
costs more than these lookups themselves.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from digitalcity.catalog import Catalog, LayerDef, Role, visible_layer
from digitalcity.catalog.ids import parse_collection_id
from digitalcity.config import Settings
from digitalcity.db.keys import hash_key, role_for_key
from digitalcity.errors import DigitalCityError, NotFound

KEY_CACHE_SECONDS = 30.0


class Unauthorized(DigitalCityError):
    status = 401
    title = "Unauthorized"


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_catalog(request: Request) -> Catalog:
    return request.app.state.catalog


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key") or request.query_params.get("api_key")


async def get_role(request: Request) -> Role:
    """The caller's role: anonymous without a key, the key's role with a valid one, 401 otherwise.

    Keys come as ``Authorization: Bearer <key>``, ``X-API-Key`` or ``?api_key=`` (for map tiles);
    lookups are cached for ``KEY_CACHE_SECONDS`` so tile requests do not each hit the database.
    """
    key = _presented_key(request)
    if not key:
        return "anonymous"
    cache: dict[str, tuple[float, Role | None]] = request.app.state.key_cache
    digest = hash_key(key)
    hit = cache.get(digest)
    now = time.monotonic()
    if hit and now - hit[0] < KEY_CACHE_SECONDS:
        role = hit[1]
    else:
        role = await run_in_threadpool(role_for_key, request.app.state.engine, key)
        if len(cache) > 10_000:
            cache.clear()
        cache[digest] = (now, role)
    if role is None:
        raise Unauthorized("invalid or revoked API key")
    return role


def base_url(request: Request) -> str:
    """Absolute base for links: ``DIGITALCITY_PUBLIC_BASE_URL`` or the request's own."""
    configured = request.app.state.settings.public_base_url
    return (configured or str(request.base_url)).rstrip("/")


async def _base_url_dependency(request: Request) -> str:
    return base_url(request)


def visible_layer_or_404(collection: str, catalog: Catalog, role: Role) -> LayerDef:
    """The layer of a collection id; 404 alike for unknown layers and layers hidden from ``role``."""
    layer = parse_collection_id(collection, catalog)
    if not visible_layer(role, layer):
        raise NotFound(f"unknown collection {collection[:100]!r}")
    return layer


SettingsDep = Annotated[Settings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
EngineDep = Annotated[Engine, Depends(get_engine)]
RoleDep = Annotated[Role, Depends(get_role)]
BaseUrlDep = Annotated[str, Depends(_base_url_dependency)]
