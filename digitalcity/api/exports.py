"""Items as a file download (``f=gpkg|shp|fgb|kml|txt``): written to a temporary file by
``digitalcity.exports`` from the request's ``ItemsQuery``, sent, then deleted."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse
from sqlalchemy.engine import Engine
from starlette.background import BackgroundTask

from digitalcity.crs import epsg_code
from digitalcity.exports import FORMATS, export_items
from digitalcity.query.crs_ref import crs_uri, parse_crs
from digitalcity.query.items import ItemsQuery, QueryError

ALL_ROWS = (
    2**31 - 2
)  # an export without ``limit`` holds every matching feature (LIMIT is an integer)


def with_attachments(request: Request) -> bool:
    """``attachments=true|false``: whether a GeoPackage carries the features' files."""
    text = request.query_params.get("attachments", "false").lower()
    if text not in ("true", "false"):
        raise QueryError(f"attachments must be true or false, not {text[:20]!r}")
    return text == "true"


def export_response(
    request: Request, engine: Engine, query: ItemsQuery, collection: str, fmt: str
) -> FileResponse:
    """The export of ``query`` in ``fmt`` as an attachment named ``<collection><suffix>``."""
    most = request.app.state.settings.export_max_features
    if "limit" not in request.query_params:  # every match, up to the export bound
        query = replace(query, limit=min(ALL_ROWS, most))
    else:
        query = replace(query, limit=min(query.limit, most))
    if fmt == "txt" and "crs" not in request.query_params:  # boundary points: in metres
        query = replace(query, crs=parse_crs(crs_uri(epsg_code(query.city.local_crs))))
    encoding = request.query_params.get("encoding", "UTF-8")
    attachments = with_attachments(request)
    spec = FORMATS[fmt]
    folder = Path(tempfile.mkdtemp(prefix="digitalcity-download-"))
    out = folder / f"{collection}{spec.suffix}"
    try:
        export_items(
            engine,
            query,
            fmt,
            out,
            layer_name=collection,
            encoding=encoding,
            attachments=attachments,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        out,
        media_type=spec.media_type,
        filename=out.name,
        headers={"Content-Crs": f"<{query.crs.uri}>"},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
