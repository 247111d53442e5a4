"""Shared dependencies: settings, catalog, engine and the caller's role.

They are ``async``: FastAPI runs a plain ``def`` dependency on the thread pool, a hop that
costs more than these lookups themselves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from digitalcity.api.caller import ROLE_STATE
from digitalcity.catalog import Catalog, LayerDef, Role, visible_layer
from digitalcity.catalog.ids import parse_collection_id
from digitalcity.config import Settings
from digitalcity.errors import NotFound


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_catalog(request: Request) -> Catalog:
    return request.app.state.definitions.catalog


READ_METHODS = frozenset({"GET", "HEAD"})


def read_engine(request: Request) -> Engine:
    """Where a read goes: a healthy hot standby that has replayed the caller's last write
    (``digitalcity.db.routing``), else the primary."""
    return request.app.state.router.reader(min_lsn=getattr(request.state, "min_lsn", None))


async def get_engine(request: Request) -> Engine:
    """The engine for the request: reads (GET, HEAD) through the read router; anything else
    (edits, analyses, which stage temporary tables a standby cannot hold) on the primary."""
    if request.method in READ_METHODS:
        return read_engine(request)
    return request.app.state.engine


async def get_role(request: Request) -> Role:
    """The caller's role, resolved by ``CallerMiddleware`` (which answers 401 itself for an
    invalid or revoked key): anonymous without a key, the key's role with a valid one."""
    role: Role | None = getattr(request.state, ROLE_STATE, None)
    if role is None:
        raise RuntimeError("the caller middleware is not installed")
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
