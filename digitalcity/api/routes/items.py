"""Features of a collection: GeoJSON (streamed), CSV (streamed) and HTML."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import shapely
import shapely.geometry
import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy.engine import Connection, CursorResult, Engine

from digitalcity.api import html
from digitalcity.api.deps import (
    BaseUrlDep,
    CatalogDep,
    EngineDep,
    RoleDep,
    SettingsDep,
    visible_layer_or_404,
)
from digitalcity.api.exports import export_response
from digitalcity.api.item_pages import geojson_page, next_pages, page_links
from digitalcity.api.negotiation import FormatDep, ItemsFormatDep, LangDep
from digitalcity.api.openapi_ogc import CollectionIdPath, FeatureIdPath
from digitalcity.api.params import items_query
from digitalcity.db.driver import fetch_row
from digitalcity.errors import NotFound
from digitalcity.exports import FORMATS
from digitalcity.query.items import WGS84_REF, ItemsQuery, QueryError


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """No page is rendered ahead (``digitalcity.api.prefetch``) after shutdown."""
    yield
    next_pages(app).close()


router = APIRouter(tags=["features"], lifespan=_lifespan)
CHUNK_ROWS = 1000
HTML_MAX_ROWS = 500


def _open(engine: Engine, statement: sa.Select) -> tuple[Connection, CursorResult, Sequence[Any]]:
    """Execute and fetch the first chunk, so database errors become 400s before streaming."""
    conn = engine.connect()
    try:
        result = conn.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(
            statement
        )
        first = result.fetchmany(CHUNK_ROWS)
    except sa.exc.DBAPIError as exc:
        conn.close()
        if isinstance(exc, sa.exc.DataError | sa.exc.ProgrammingError):
            message = str(exc.orig).strip().splitlines()[0]
            raise QueryError(f"the query cannot be evaluated: {message}") from None
        raise
    return conn, result, first


def _rows(conn: Connection, result: CursorResult, first: Sequence[Any]) -> Iterator[Any]:
    try:
        yield from first
        while chunk := result.fetchmany(CHUNK_ROWS):
            yield from chunk
    finally:
        result.close()
        conn.close()


def _csv(engine: Engine, query: ItemsQuery, name: str) -> StreamingResponse:
    conn, result, first = _open(engine, query.rows_select())
    columns = list(result.keys())

    def body() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for n, row in enumerate(_rows(conn, result, first), 1):
            writer.writerow(row)
            if n % CHUNK_ROWS == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"',
            "Content-Crs": f"<{query.crs.uri}>",
        },
    )


def _html(
    request: Request, engine: Engine, base: str, collection: str, query: ItemsQuery, lang: str
) -> Response:
    # lon/lat, for the page's map: the table shows no geometry
    limited = replace(query, limit=min(query.limit, HTML_MAX_ROWS), crs=WGS84_REF)
    conn, result, first = _open(engine, limited.rows_select().limit(limited.limit + 1))
    rows = [dict(r._mapping) for r in _rows(conn, result, first)]
    has_next = len(rows) > limited.limit
    geometries = []
    for row in rows[: limited.limit]:
        href = html.html_href(f"{base}/collections/{collection}/items/{row['id']}", lang)
        row["_link"] = html.link(href, str(row["id"]))
        wkt = row.pop("wkt", None)
        geometries.append(shapely.geometry.mapping(shapely.from_wkt(wkt)) if wkt else None)
    fields = limited.output_fields()
    columns = ["_link"] + [f.name for f in fields]
    headers = {"_link": html.word("id", lang), **html.field_labels(fields, lang)}
    shown = rows[: limited.limit]
    last_id = shown[-1]["id"] if shown else None
    nav = html.links_nav(
        page_links(request.query_params, base, collection, limited, has_next, last_id), lang
    )
    preview = html.map_preview(base, query.layer.city, lang, geometries)
    body = nav + preview + html.table(shown, columns, lang, headers)
    return html.page(f"{query.layer.title.get(lang)}", body, lang)


@router.get("/collections/{collectionId}/items", summary="Features, filtered and paged")
def items(
    collection_id: CollectionIdPath,
    request: Request,
    catalog: CatalogDep,
    engine: EngineDep,
    role: RoleDep,
    settings: SettingsDep,
    base: BaseUrlDep,
    fmt: ItemsFormatDep,
    lang: LangDep,
) -> Response:
    layer = visible_layer_or_404(collection_id, catalog, role)
    query = items_query(request.query_params, layer, catalog.city(layer.city), role, settings)
    if fmt in FORMATS:
        return export_response(request, engine, query, collection_id, fmt)
    if "attachments" in request.query_params:
        raise QueryError("attachments= is for GeoPackage exports (f=gpkg)")
    if fmt == "csv":
        return _csv(engine, query, collection_id)
    if fmt == "html":
        return _html(request, engine, base, collection_id, query, lang)
    return geojson_page(request, engine, base, collection_id, query)


@router.get("/collections/{collectionId}/items/{featureId}", summary="One feature")
def one_item(
    collection_id: CollectionIdPath,
    feature_id: FeatureIdPath,
    request: Request,
    catalog: CatalogDep,
    engine: EngineDep,
    role: RoleDep,
    settings: SettingsDep,
    base: BaseUrlDep,
    fmt: FormatDep,
    lang: LangDep,
) -> Response:
    layer = visible_layer_or_404(collection_id, catalog, role)
    if not feature_id.isdigit() or len(feature_id) > 18:
        raise NotFound(f"no feature {feature_id!r} in {collection_id!r}")
    params = request.query_params
    unexpected = [
        k for k in params if k not in ("f", "crs", "properties", "lang", "api_key", "as-of")
    ]
    if unexpected:
        raise QueryError(f"unknown query parameters {sorted(unexpected)}")
    query = items_query(
        params, layer, catalog.city(layer.city), role, settings, feature_id=int(feature_id)
    )
    if fmt == "html":  # lon/lat, for the page's map: the page shows no coordinates
        query = replace(query, crs=WGS84_REF)
    sql, values = query.page_sql(engine.dialect)
    row = fetch_row(engine, sql, values)  # one round trip: the feature and its ETag together
    if row is None:
        raise NotFound(f"no feature {feature_id!r} in {collection_id!r}")
    feature = json.loads(row[0])
    href = f"{base}/collections/{collection_id}/items/{feature_id}"
    feature["links"] = [
        {"rel": "self", "type": "application/geo+json", "href": href},
        {"rel": "alternate", "type": "text/html", "href": f"{href}?f=html"},
        {
            "rel": "collection",
            "type": "application/json",
            "href": f"{base}/collections/{collection_id}",
        },
    ]
    if fmt == "html":
        labels = html.field_labels(layer.all_fields, lang)
        preview = html.map_preview(base, layer.city, lang, [feature.get("geometry")])
        body = (
            html.links_nav(feature["links"], lang)
            + preview
            + html.definition_list(feature["properties"], lang, labels)
        )
        return html.page(f"{layer.title.get(lang)} #{feature_id}", body, lang)
    headers = {"Content-Crs": f"<{query.crs.uri}>"}
    if query.as_of is None:  # the ETag an edit's If-Match names (digitalcity.editing)
        headers["ETag"] = f'"{row[2]}"'
    return JSONResponse(feature, media_type="application/geo+json", headers=headers)
