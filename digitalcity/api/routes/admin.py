"""Administration: reload the catalog without a restart (admin key only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from digitalcity.api.deps import RoleDep
from digitalcity.api.reload import reload_catalog
from digitalcity.errors import DigitalCityError

router = APIRouter(tags=["admin"])


class AdminOnly(DigitalCityError):
    """The caller is not an administrator."""

    status = 403
    title = "Forbidden"


@router.post("/admin/reload")
def reload(request: Request, role: RoleDep) -> dict[str, Any]:
    """Re-read layer definitions, city.toml and code tables; 400 (old catalog kept) if broken."""
    if role != "admin":
        raise AdminOnly("only an admin key may reload the catalog / 仅管理员可重新加载图层目录")
    catalog = reload_catalog(request.app)
    return {
        "status": "reloaded",
        "cities": {city: len(layers) for city, layers in catalog.layers.items()},
    }
