"""Collections (one per visible layer), their schemas, queryables and sortables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import QueryParams

from digitalcity.api import html
from digitalcity.api.deps import (
    BaseUrlDep,
    CatalogDep,
    EngineDep,
    RoleDep,
    SettingsDep,
    visible_layer_or_404,
)
from digitalcity.api.documents import SchemaKind, collection, geojson_schema_doc, schema_doc
from digitalcity.api.negotiation import FormatDep, LangDep
from digitalcity.api.openapi_ogc import CollectionIdPath
from digitalcity.api.params import AsOfQuery, items_query
from digitalcity.catalog import visible_layer
from digitalcity.catalog.field_codes import field_codes
from digitalcity.catalog.model import KIND_TITLES
from digitalcity.errors import LayerNotLoaded
from digitalcity.query.items import queryables
from digitalcity.query.values import MAX_CONTAINS, MAX_VALUES, field_values

router = APIRouter(tags=["collections"])
# the items parameters that choose features, which a values request takes too
SELECTING = ("bbox", "bbox-crs", "filter", "filter-lang", "filter-crs", "datetime", "as-of")


@router.get("/collections", summary="The collections (layers) the caller may see")
def collections(
    request: Request,
    catalog: CatalogDep,
    role: RoleDep,
    base: BaseUrlDep,
    fmt: FormatDep,
    lang: LangDep,
) -> Any:
    loaded = request.app.state.layers.current()
    tables = request.app.state.codes
    docs = [
        collection(layer, catalog.city(layer.city), role, base, lang, loaded[key].extent, tables)
        for layer in catalog
        if visible_layer(role, layer) and (key := (layer.city, layer.id)) in loaded
    ]
    body = {
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{base}/collections"},
            {"rel": "alternate", "type": "text/html", "href": f"{base}/collections?f=html"},
        ],
        "collections": docs,
    }
    if fmt == "html":
        rows = [
            {
                "_link": html.link(html.html_href(d["links"][0]["href"], lang), d["title"]),
                "city": d["cityTitle"],
                "kind": KIND_TITLES[d["kind"]][lang],
                "geometry": d["geometryType"],
            }
            for d in docs
        ]
        columns = ["_link", "city", "kind", "geometry"]
        headers = {c: html.word(c, lang) for c in columns[1:]}
        headers["_link"] = html.word("layer", lang)
        return html.page(
            html.word("collections", lang), html.table(rows, columns, lang, headers), lang
        )
    return body


@router.get("/collections/{collectionId}", summary="One collection")
def one_collection(
    collection_id: CollectionIdPath,
    request: Request,
    catalog: CatalogDep,
    role: RoleDep,
    base: BaseUrlDep,
    fmt: FormatDep,
    lang: LangDep,
) -> Any:
    layer = visible_layer_or_404(collection_id, catalog, role)
    loaded = request.app.state.layers.get(layer)
    doc = collection(
        layer,
        catalog.city(layer.city),
        role,
        base,
        lang,
        loaded.extent if loaded else None,
        request.app.state.codes,
    )
    if fmt == "html":
        summary = {
            "id": doc["id"],
            "description": doc["description"],
            "kind": KIND_TITLES[doc["kind"]][lang],
            "geometry": doc["geometryType"],
            "features": loaded.rows if loaded else 0,
            "version": loaded.version if loaded else None,
            "extent": doc.get("extent", {}).get("spatial", {}).get("bbox"),
        }
        labels = {k: html.word(k, lang) for k in summary}
        maps = html.map_links(base, layer.city, lang, public=visible_layer("anonymous", layer))
        body = (
            html.links_nav(doc["links"], lang) + maps + html.definition_list(summary, lang, labels)
        )
        return html.page(doc["title"], body, lang)
    return doc


@dataclass
class _SchemaRequest:
    """What every schema route takes: the collection, the caller and how to write it."""

    collection_id: CollectionIdPath
    request: Request
    catalog: CatalogDep
    role: RoleDep
    base: BaseUrlDep
    lang: LangDep

    def answer(self, kind: SchemaKind | Literal["schema/geojson"]) -> JSONResponse:
        """The JSON Schema ``kind`` of what the caller may use: a flat one
        (``documents.schema_doc``), or one GeoJSON feature's (``geojson_schema_doc``)."""
        layer = visible_layer_or_404(self.collection_id, self.catalog, self.role)
        href = f"{self.base}/collections/{self.collection_id}/{kind}"
        if kind == "schema/geojson":
            doc = geojson_schema_doc(layer, self.role, href, self.lang)
        else:
            doc = schema_doc(layer, self.role, href, self.lang, kind, self.request.app.state.codes)
        return JSONResponse(doc, media_type="application/schema+json")


SchemaRequest = Annotated[_SchemaRequest, Depends()]


@router.get("/collections/{collectionId}/schema", summary="The features' schema (Part 5)")
def collection_schema(request: SchemaRequest) -> JSONResponse:
    return request.answer("schema")


@router.get(
    "/collections/{collectionId}/schema/geojson", summary="JSON Schema of a GeoJSON feature"
)
def collection_geojson_schema(request: SchemaRequest) -> JSONResponse:
    return request.answer("schema/geojson")


@router.get("/collections/{collectionId}/queryables", summary="Properties usable in filters")
def collection_queryables(request: SchemaRequest) -> JSONResponse:
    return request.answer("queryables")


@router.get("/collections/{collectionId}/sortables", summary="Properties usable in sortby")
def collection_sortables(request: SchemaRequest) -> JSONResponse:
    return request.answer("sortables")


@router.get(
    "/collections/{collectionId}/queryables/{property}/values",
    summary="A queryable's values, most frequent first, and its range",
)
def queryable_values(
    collection_id: CollectionIdPath,
    request: Request,
    catalog: CatalogDep,
    engine: EngineDep,
    role: RoleDep,
    settings: SettingsDep,
    lang: LangDep,
    name: Annotated[str, Path(alias="property", max_length=200)],
    limit: Annotated[int, Query(ge=1, le=MAX_VALUES)] = 100,
    contains: Annotated[
        str | None,
        Query(
            max_length=MAX_CONTAINS,
            pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$",
            description="only values whose text holds this (case-insensitive)",
        ),
    ] = None,
    # documented here; read with the rest of SELECTING by the items' own parser
    as_of: AsOfQuery = None,
    bbox: Annotated[str | None, Query(description="as on items: only features in it")] = None,
    filter_: Annotated[
        str | None, Query(alias="filter", description="as on items: only features it keeps")
    ] = None,
    filter_lang: Annotated[str | None, Query(alias="filter-lang")] = None,
) -> dict[str, Any]:
    """What a query builder offers for one property: up to ``limit`` values with how many
    features hold each (a coded field's named in ``lang``), whether that is all of them, the
    count of features with and without a value, and a number's or date's min and max; over
    the features an items request with the same ``bbox``, ``filter`` and ``datetime`` would
    return (a query's matches broken down by the property), else over all. A property the
    caller may not query is a 400 naming those it may; a hidden layer a 404."""
    layer = visible_layer_or_404(collection_id, catalog, role)
    if request.app.state.layers.get(layer) is None:
        raise LayerNotLoaded(f"collection {collection_id!r} has no data loaded")
    selecting = QueryParams(
        [(k, v) for k, v in request.query_params.multi_items() if k in SELECTING]
    )
    query = items_query(selecting, layer, catalog.city(layer.city), role, settings)
    table = query.table
    with engine.connect() as conn:
        found = field_values(
            conn,
            table,
            queryables(layer, role),
            name,
            limit=limit,
            contains=contains,
            where=query.where(table),
        )
    codes = field_codes(layer, request.app.state.codes).get(name, ())
    return found.to_dict(lang, codes)
