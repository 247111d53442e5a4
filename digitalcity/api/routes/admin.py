"""Administration (admin key only): reload the catalog without a restart; the metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from digitalcity import metrics
from digitalcity.api.deps import EngineDep, RoleDep
from digitalcity.api.reload import reload_catalog
from digitalcity.db.versions import list_versions
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


@router.get(
    "/metrics",
    summary="Prometheus metrics (admin key only)",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format: requests, caches, pool, layers, standbys",
            "content": {metrics.CONTENT_TYPE: {"schema": {"type": "string"}}},
        }
    },
)
def metrics_page(request: Request, role: RoleDep, engine: EngineDep) -> Response:
    """Every metric of ``digitalcity.metrics``, the layers' versions and the standbys' lag read
    now; for Prometheus to scrape with an admin key (``Authorization: Bearer``)."""
    if role != "admin":
        raise AdminOnly("only an admin key may read the metrics / 仅管理员可读取运行指标")
    with engine.connect() as conn:
        current = [v for v in list_versions(conn) if v["is_current"]]
    metrics.layers_state(
        (
            v["city"],
            v["layer"],
            int(v["version"]),
            int(v["rows_loaded"] or 0),
            v["loaded_at"].timestamp(),
        )
        for v in current
    )
    metrics.standbys_state(request.app.state.router.standby_states())
    return Response(
        metrics.exposition(), media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"}
    )
