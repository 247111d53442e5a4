"""What the OpenAPI document says about the OGC API resources: path parameter names as OGC
spells them, the query parameters of items (routes parse them themselves, so FastAPI cannot
see them), and OpenAPI 3.0 schemas of the documents and of RFC 7807 problems."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from digitalcity.config import Settings
from digitalcity.exports import FORMATS

CollectionIdPath = Annotated[
    str, Path(alias="collectionId", description="collection id: `<city>__<layer>`", max_length=200)
]
FeatureIdPath = Annotated[
    str, Path(alias="featureId", description="feature id (an integer)", max_length=40)
]

Json = dict[str, Any]
PARAMETER_REF = "#/components/parameters/"
SCHEMA_REF = "#/components/schemas/"
PROBLEM_TYPE = "application/problem+json"


def _ref(name: str) -> Json:
    return {"$ref": SCHEMA_REF + name}


def _query(name: str, description: str, schema: Json, **extra: Any) -> Json:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema, **extra}  # fmt: skip


def items_parameters(settings: Settings) -> dict[str, Json]:
    """Query parameters of ``/collections/{collectionId}/items``, by name (components)."""
    text = {"type": "string"}
    return {
        "f": _query(
            "f",
            "output format; gpkg, shp (zip), fgb and kml are file exports of every match, txt "
            "their boundary points (界址点坐标, polygon layers, a projected CRS)",
            {"type": "string", "enum": ["json", "html", "csv", "gpkg", "shp", "fgb", "kml", "txt"]},
        ),
        "encoding": _query(
            "encoding",
            "text encoding of a shapefile export",
            {"type": "string", "enum": ["UTF-8", "GBK"]},
        ),
        "attachments": _query(
            "attachments",
            "a GeoPackage export (f=gpkg) with the files kept with the features, as related "
            "media tables (GeoPackage Related Tables Extension)",
            {"type": "boolean", "default": False},
        ),
        "limit": _query(
            "limit",
            "features per page; a value above the maximum is clamped to it",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": settings.items_max_limit,
                "default": settings.items_default_limit,
            },
        ),
        "offset": _query(
            "offset",
            "features to skip (the `next` links page by key instead)",
            {"type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0},
        ),  # fmt: skip
        "as-of": _query(
            "as-of",
            "the layer as it was at this instant (RFC 3339), from its history",
            {"type": "string", "format": "date-time"},
        ),
        "after": _query(
            "after",
            "keyset paging: features whose id is larger than this (default order only; "
            "the `next` links use it)",
            {"type": "integer", "format": "int64"},
        ),
        "bbox": _query(
            "bbox",
            "minx,miny,maxx,maxy (or 6 numbers with heights) in `bbox-crs`",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            style="form",
            explode=False,
        ),
        "bbox-crs": _query("bbox-crs", "CRS of `bbox` (URI)", {**text, "format": "uri"}),
        "crs": _query("crs", "CRS of the geometries returned (URI)", {**text, "format": "uri"}),
        "datetime": _query(
            "datetime", "an instant or an interval `start/end` (`..` open), RFC 3339", text
        ),
        "filter": _query("filter", "CQL2 filter expression", text),
        "filter-lang": _query(
            "filter-lang",
            "language of `filter`",
            {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"},
        ),
        "filter-crs": _query("filter-crs", "CRS of geometries in `filter` (URI)", text),
        "properties": _query(
            "properties",
            "properties to return (comma-separated)",
            {"type": "array", "items": {"type": "string"}},
            style="form",
            explode=False,
        ),
        "sortby": _query(
            "sortby",
            "sort keys, comma-separated, `-` for descending (see sortables)",
            {"type": "array", "items": {"type": "string"}},
            style="form",
            explode=False,
        ),
        "lang": _query("lang", "language of titles (`zh` or `en`)", text),
    }


ITEMS_PARAMETERS = (
    "f", "limit", "offset", "after", "bbox", "bbox-crs", "crs", "datetime", "filter",
    "filter-lang", "filter-crs", "properties", "sortby", "lang", "encoding", "attachments",
    "as-of",
)  # fmt: skip
FEATURE_PARAMETERS = ("f", "crs", "properties", "lang", "as-of")


def parameter_refs(names: tuple[str, ...]) -> list[Json]:
    return [{"$ref": PARAMETER_REF + name} for name in names]


def queryable_parameter(name: str, schema: Json, title: str) -> Json:
    """An equality filter on a queryable property (``?name=value``, OGC API – Features Part 1
    /rec/core/fc-filters), which is how GDAL's OAPIF driver filters ``-where a = b`` on the
    server."""
    return _query(name, f"features whose {title} equals this value", schema)


SCHEMAS: dict[str, Json] = {
    "Problem": {
        "type": "object",
        "description": "RFC 7807 problem details",
        "required": ["title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
        },
    },
    "Link": {
        "type": "object",
        "required": ["href"],
        "properties": {
            "href": {"type": "string"},
            "rel": {"type": "string"},
            "type": {"type": "string"},
            "title": {"type": "string"},
            "hreflang": {"type": "string"},
            "templated": {"type": "boolean"},
        },
    },
    "LandingPage": {
        "type": "object",
        "required": ["links"],
        "properties": {
            "title": {"type": "string"},
            "description": {"type": "string"},
            "links": {"type": "array", "items": _ref("Link")},
        },
    },
    "ConformanceClasses": {
        "type": "object",
        "required": ["conformsTo"],
        "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
    },
    "Collection": {
        "type": "object",
        "required": ["id", "links"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "itemType": {"type": "string"},
            "crs": {"type": "array", "items": {"type": "string"}},
            "storageCrs": {"type": "string"},
            "extent": {"type": "object"},
            "links": {"type": "array", "items": _ref("Link")},
        },
    },
    "Collections": {
        "type": "object",
        "required": ["links", "collections"],
        "properties": {
            "links": {"type": "array", "items": _ref("Link")},
            "collections": {"type": "array", "items": _ref("Collection")},
        },
    },
    "Feature": {
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "geometry": {"type": "object", "nullable": True},
            "properties": {"type": "object", "nullable": True},
            "links": {"type": "array", "items": _ref("Link")},
        },
    },
    "FeatureCollection": {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": _ref("Feature")},
            "links": {"type": "array", "items": _ref("Link")},
            "numberMatched": {"type": "integer", "minimum": 0},
            "numberReturned": {"type": "integer", "minimum": 0},
            "timeStamp": {"type": "string", "format": "date-time"},
        },
    },
    "JSONSchema": {
        "type": "object",
        "description": "a JSON Schema (2020-12) of the properties",
        "required": ["type", "properties"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "properties": {"type": "object"},
        },
    },
}

_TEXT = {"schema": {"type": "string"}}
_FILE = {"schema": {"type": "string", "format": "binary"}}
EXPORT_MEDIA_TYPES = [f.media_type for f in FORMATS.values()]


def _ok(description: str, **content: Json) -> Json:
    return {"description": description, "content": content}


# 200 responses of the operations whose route returns a plain ``Response`` (FastAPI cannot
# tell their shape), by (path, method).
RESPONSES: dict[tuple[str, str], dict[str, Json]] = {
    ("/", "get"): {
        "200": _ok(
            "the landing page",
            **{"application/json": {"schema": _ref("LandingPage")}, "text/html": _TEXT},
        )
    },
    ("/conformance", "get"): {
        "200": _ok(
            "conformance classes",
            **{"application/json": {"schema": _ref("ConformanceClasses")}, "text/html": _TEXT},
        )
    },
    ("/collections", "get"): {
        "200": _ok(
            "the collections",
            **{"application/json": {"schema": _ref("Collections")}, "text/html": _TEXT},
        )
    },
    ("/collections/{collectionId}", "get"): {
        "200": _ok(
            "a collection",
            **{"application/json": {"schema": _ref("Collection")}, "text/html": _TEXT},
        )
    },
    ("/collections/{collectionId}/schema", "get"): {
        "200": _ok(
            "the features' schema", **{"application/schema+json": {"schema": _ref("JSONSchema")}}
        )
    },
    ("/collections/{collectionId}/schema/geojson", "get"): {
        "200": _ok(
            "a GeoJSON feature's JSON Schema",
            **{"application/schema+json": {"schema": _ref("JSONSchema")}},
        )
    },
    ("/collections/{collectionId}/queryables", "get"): {
        "200": _ok("queryables", **{"application/schema+json": {"schema": _ref("JSONSchema")}})
    },
    ("/collections/{collectionId}/sortables", "get"): {
        "200": _ok("sortables", **{"application/schema+json": {"schema": _ref("JSONSchema")}})
    },
    ("/collections/{collectionId}/items", "get"): {
        "200": _ok(
            "a page of features",
            **{
                "application/geo+json": {"schema": _ref("FeatureCollection")},
                "text/html": _TEXT,
                "text/csv": _TEXT,
                **{m: _FILE for m in EXPORT_MEDIA_TYPES},
            },
        ),
        "304": {"description": "not modified (If-None-Match)"},
    },
    ("/collections/{collectionId}/items/{featureId}", "get"): {
        "200": _ok(
            "a feature",
            **{"application/geo+json": {"schema": _ref("Feature")}, "text/html": _TEXT},
        )
    },
}
TILE_RESPONSES: dict[str, Json] = {
    "200": _ok(
        "a Mapbox Vector Tile",
        **{
            "application/vnd.mapbox-vector-tile": {"schema": {"type": "string", "format": "binary"}}
        },
    ),
    "204": {"description": "an empty tile"},
    "304": {"description": "not modified (If-None-Match)"},
}
ERROR_RESPONSES: dict[str, Json] = {
    status: {
        "description": description,
        # text/html: the page a request for HTML gets instead (digitalcity.api.problem_pages)
        "content": {PROBLEM_TYPE: {"schema": _ref("Problem")}, "text/html": _TEXT},
    }
    for status, description in (
        ("400", "invalid parameter or body"),
        ("401", "invalid or revoked API key"),
        ("404", "not found (or hidden from the caller)"),
        ("default", "an error, as RFC 7807 problem details"),
    )
}
SECURITY_SCHEMES: dict[str, Json] = {
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key"},
    "bearer": {"type": "http", "scheme": "bearer"},
}
