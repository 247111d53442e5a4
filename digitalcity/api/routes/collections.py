"""Collections (one per visible layer), their queryables and sortables."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from digitalcity.api import html
from digitalcity.api.deps import BaseUrlDep, CatalogDep, RoleDep, visible_layer_or_404
from digitalcity.api.documents import SchemaKind, collection, geojson_schema_doc, schema_doc
from digitalcity.api.negotiation import FormatDep, LangDep
from digitalcity.api.openapi_ogc import CollectionIdPath
from digitalcity.catalog import Catalog, Role, visible_layer

router = APIRouter(tags=["collections"])


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
                "_link": html.link(f"{d['links'][0]['href']}?f=html", d["title"]),
                "city": d["cityTitle"],
                "kind": d["kind"],
                "geometry": d["geometryType"],
            }
            for d in docs
        ]
        return html.page(
            "Collections · 图层", html.table(rows, ["_link", "city", "kind", "geometry"]), lang
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
            "kind": doc["kind"],
            "geometry": doc["geometryType"],
            "features": loaded.rows if loaded else 0,
            "version": loaded.version if loaded else None,
            "extent": doc.get("extent", {}).get("spatial", {}).get("bbox"),
        }
        return html.page(
            doc["title"], html.links_nav(doc["links"]) + html.definition_list(summary), lang
        )
    return doc


def _schema(
    collection_id: str, catalog: Catalog, role: Role, base: str, lang: str, kind: SchemaKind
) -> JSONResponse:
    """The flat JSON Schema ``kind`` (``documents.schema_doc``) of what ``role`` may use."""
    layer = visible_layer_or_404(collection_id, catalog, role)
    href = f"{base}/collections/{collection_id}/{kind}"
    doc = schema_doc(layer, role, href, lang, kind)
    return JSONResponse(doc, media_type="application/schema+json")


@router.get("/collections/{collectionId}/schema", summary="The features' schema (Part 5)")
def collection_schema(
    collection_id: CollectionIdPath,
    catalog: CatalogDep,
    role: RoleDep,
    base: BaseUrlDep,
    lang: LangDep,
) -> JSONResponse:
    return _schema(collection_id, catalog, role, base, lang, "schema")


@router.get(
    "/collections/{collectionId}/schema/geojson", summary="JSON Schema of a GeoJSON feature"
)
def collection_geojson_schema(
    collection_id: CollectionIdPath,
    catalog: CatalogDep,
    role: RoleDep,
    base: BaseUrlDep,
    lang: LangDep,
) -> JSONResponse:
    """One feature as the caller receives it (``documents.geojson_schema_doc``)."""
    layer = visible_layer_or_404(collection_id, catalog, role)
    href = f"{base}/collections/{collection_id}/schema/geojson"
    return JSONResponse(
        geojson_schema_doc(layer, role, href, lang), media_type="application/schema+json"
    )


@router.get("/collections/{collectionId}/queryables", summary="Properties usable in filters")
def collection_queryables(
    collection_id: CollectionIdPath,
    catalog: CatalogDep,
    role: RoleDep,
    base: BaseUrlDep,
    lang: LangDep,
) -> JSONResponse:
    return _schema(collection_id, catalog, role, base, lang, "queryables")


@router.get("/collections/{collectionId}/sortables", summary="Properties usable in sortby")
def collection_sortables(
    collection_id: CollectionIdPath,
    catalog: CatalogDep,
    role: RoleDep,
    base: BaseUrlDep,
    lang: LangDep,
) -> JSONResponse:
    return _schema(collection_id, catalog, role, base, lang, "sortables")
