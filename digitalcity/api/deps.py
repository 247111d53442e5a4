"""Shared dependencies: settings, catalog, engine and the caller's role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from digitalcity.catalog import Catalog, Role
from digitalcity.config import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_catalog(request: Request) -> Catalog:
    return request.app.state.catalog


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_role(request: Request) -> Role:
    """Anonymous until API keys exist (issue: geo API)."""
    return "anonymous"


SettingsDep = Annotated[Settings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
EngineDep = Annotated[Engine, Depends(get_engine)]
RoleDep = Annotated[Role, Depends(get_role)]
