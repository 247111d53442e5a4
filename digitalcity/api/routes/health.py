"""Liveness and the list of loaded layers the caller may see."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter

from digitalcity import __version__
from digitalcity.api.deps import CatalogDep, EngineDep, RoleDep
from digitalcity.catalog import visible_layer
from digitalcity.db.versions import list_versions
from digitalcity.errors import DatabaseUnavailable

router = APIRouter(tags=["health"])


@router.get("/health")
def health(engine: EngineDep) -> dict[str, Any]:
    """200 with the PostGIS version when the database answers."""
    try:
        with engine.connect() as conn:
            postgis = conn.execute(sa.text("SELECT postgis_lib_version()")).scalar_one()
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseUnavailable("the database does not answer") from exc
    return {"status": "ok", "version": __version__, "postgis": postgis}


@router.get("/layers")
def loaded_layers(catalog: CatalogDep, engine: EngineDep, role: RoleDep) -> dict[str, Any]:
    """Every loaded layer the caller may see, with its current version and row count."""
    with engine.connect() as conn:
        current = {(v["city"], v["layer"]): v for v in list_versions(conn) if v["is_current"]}
    layers = []
    for layer in catalog:
        version = current.get((layer.city, layer.id))
        if version is None or not visible_layer(role, layer):
            continue
        layers.append(
            {
                "city": layer.city,
                "id": layer.id,
                "kind": layer.kind,
                "title": layer.title.model_dump(),
                "geometry_type": layer.geometry_type,
                "version": version["version"],
                "rows": version["rows_loaded"],
                "loaded_at": version["loaded_at"].isoformat(),
                "extent": version["extent"],
            }
        )
    return {"layers": layers}
