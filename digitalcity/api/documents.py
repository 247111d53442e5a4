"""JSON documents of the OGC API: landing page, conformance, collections, queryables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from digitalcity.catalog.access import Role, visible_fields
from digitalcity.catalog.codes import Code, CodeTable
from digitalcity.catalog.field_codes import field_codes
from digitalcity.catalog.ids import collection_id
from digitalcity.catalog.legend import legend_for
from digitalcity.catalog.model import CityDef, FieldDef, LayerDef
from digitalcity.crs import epsg_code
from digitalcity.query.crs_ref import CRS84, crs_uri, supported_crs
from digitalcity.query.items import queryables

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/sortables",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]

JSON_SCHEMA_TYPES = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "float": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
}
GEOMETRY_SCHEMA = {
    "Point": "https://geojson.org/schema/Point.json",
    "LineString": "https://geojson.org/schema/LineString.json",
    "Polygon": "https://geojson.org/schema/Polygon.json",
    "MultiPoint": "https://geojson.org/schema/MultiPoint.json",
    "MultiLineString": "https://geojson.org/schema/MultiLineString.json",
    "MultiPolygon": "https://geojson.org/schema/MultiPolygon.json",
}

# OGC API - Features Part 5's geometry formats, by layer geometry type
GEOMETRY_FORMAT = {kind: f"geometry-{kind.lower()}" for kind in GEOMETRY_SCHEMA}
SchemaKind = Literal["schema", "queryables", "sortables"]

TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"


def landing(base: str, lang: str, cities: Iterable[CityDef] = ()) -> dict[str, Any]:
    """The landing page; each city's multi-layer vector tileset is linked as ``tilesets-vector``."""
    title = "数字城市 地理数据接口" if lang == "zh" else "digitalcity geo API"
    tilesets = [
        {
            "rel": TILESETS_VECTOR,
            "type": "application/json",
            "title": city.title.get(lang),
            "href": f"{base}/tiles/{city.id}",
        }
        for city in cities
    ]
    return {
        "title": title,
        "description": "Land use, planning, infrastructure and population layers of the cities "
        "served here (OGC API – Features and Tiles).",
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{base}/?f=json"},
            {"rel": "alternate", "type": "text/html", "href": f"{base}/?f=html"},
            {
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
                "href": f"{base}/api",
            },
            {"rel": "service-doc", "type": "text/html", "href": f"{base}/api.html"},
            {"rel": "conformance", "type": "application/json", "href": f"{base}/conformance"},
            {"rel": "data", "type": "application/json", "href": f"{base}/collections"},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/conformance",
                "type": "application/json",
                "href": f"{base}/conformance",
            },
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/data",
                "type": "application/json",
                "href": f"{base}/collections",
            },
            *tilesets,
        ],
    }


def collection(
    layer: LayerDef,
    city: CityDef,
    role: Role,
    base: str,
    lang: str,
    extent: list[float] | None,
    tables: dict[str, CodeTable],
) -> dict[str, Any]:
    """The collection document of one layer, as ``role`` may see it."""
    cid = collection_id(layer)
    href = f"{base}/collections/{cid}"
    doc: dict[str, Any] = {
        "id": cid,
        "title": layer.title.get(lang),
        "description": layer.description.get(lang) if layer.description else layer.title.get(lang),
        "itemType": "feature",
        "city": city.id,
        "cityTitle": city.title.get(lang),
        "kind": layer.kind,
        "geometryType": layer.geometry_type,
        "access": layer.access,
        "crs": list(supported_crs(city)),
        "storageCrs": crs_uri(epsg_code(city.storage_crs)),
        "links": [
            {"rel": "self", "type": "application/json", "href": href},
            {"rel": "alternate", "type": "text/html", "href": f"{href}?f=html"},
            {"rel": "items", "type": "application/geo+json", "href": f"{href}/items"},
            {"rel": "items", "type": "text/html", "href": f"{href}/items?f=html"},
            {"rel": "items", "type": "text/csv", "href": f"{href}/items?f=csv"},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/schema",
                "type": "application/schema+json",
                "href": f"{href}/schema",
            },
            # GDAL 3.6 matches this relation's spelling exactly (relations compare
            # case-insensitively: RFC 8288), and then types its fields from the schema
            {
                "rel": "describedBy",
                "type": "application/schema+json",
                "href": f"{href}/schema/geojson",
            },
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "href": f"{href}/queryables",
            },
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/sortables",
                "type": "application/schema+json",
                "href": f"{href}/sortables",
            },
            {"rel": TILESETS_VECTOR, "type": "application/json", "href": f"{href}/tiles"},
        ],
    }
    if extent:
        doc["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    legend = legend_for(layer, tables, lang)
    if legend:
        doc["legend"] = {
            "field": legend.field,
            "system": legend.system,
            "entries": [
                {"code": e.code, "label": e.label, "colour": e.colour} for e in legend.entries
            ],
        }
    return doc


def _field_schema(
    field: FieldDef, lang: str, codes: tuple[Code, ...] | None = None
) -> dict[str, Any]:
    """One field as a JSON Schema property: its type, title, description and unit; a coded
    field's codes as ``enum`` and, named in ``lang``, as ``oneOf`` (``const`` and ``title``:
    JSON Schema's way to name the values of a list)."""
    schema: dict[str, Any] = dict(JSON_SCHEMA_TYPES[field.type])
    schema["title"] = field.title.get(lang)
    if field.description:
        schema["description"] = field.description.get(lang)
    if field.unit:
        schema["x-ogc-unit"] = field.unit
    if field.read_only:
        schema["readOnly"] = True
    if codes:
        schema["enum"] = [c.code for c in codes]
        schema["oneOf"] = [{"const": c.code, "title": c.name(lang)} for c in codes]
    return schema


def geojson_schema_doc(layer: LayerDef, role: Role, href: str, lang: str) -> dict[str, Any]:
    """JSON Schema of one GeoJSON feature of ``layer`` as ``role`` receives it: every field
    it may read, typed (a property without a value is null, or absent on pages after the
    first). GDAL 3.6 reads a layer's field types from it (the collection's ``describedBy``
    link) instead of guessing them from the first page, where an all-null field is text;
    it does not read the flat form of ``schema_doc``."""
    return _json_schema(
        href,
        layer.title.get(lang),
        required=["type", "geometry", "properties"],
        properties={
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": {"$ref": GEOMETRY_SCHEMA[layer.geometry_type]},
            "properties": {
                "type": "object",
                "properties": {f.name: _field_schema(f, lang) for f in visible_fields(role, layer)},
            },
        },
    )


def schema_doc(
    layer: LayerDef,
    role: Role,
    href: str,
    lang: str,
    kind: SchemaKind,
    tables: Mapping[str, CodeTable] | None = None,
) -> dict[str, Any]:
    """A flat JSON Schema of ``layer``'s features as ``role`` may use them (OGC API -
    Features Part 5 for ``schema``, Part 3 for the others): the geometry and the id marked by
    ``x-ogc-role``, then ``schema`` every field ``role`` may read (in the layer's order,
    ``x-ogc-propertySeq``, read-only ones ``readOnly``), ``queryables`` those it may filter
    on, ``sortables`` those it may sort on (no geometry). With the code ``tables``, coded
    fields list their codes (``_field_schema``)."""
    coded = field_codes(layer, tables) if tables else {}
    if kind == "queryables":
        fields = list(queryables(layer, role).values())
    else:
        fields = list(visible_fields(role, layer))
    properties: dict[str, Any] = {}
    if kind != "sortables":
        properties["geometry"] = {
            "$ref": GEOMETRY_SCHEMA[layer.geometry_type],
            "format": GEOMETRY_FORMAT[layer.geometry_type],
            "x-ogc-role": "primary-geometry",
        }
    properties["id"] = {"type": "integer", "title": "Feature id", "x-ogc-role": "id"}
    properties.update((f.name, _field_schema(f, lang, coded.get(f.name))) for f in fields)
    if kind == "schema":
        for seq, member in enumerate(properties.values(), 1):
            member["x-ogc-propertySeq"] = seq
    return _json_schema(
        href, layer.title.get(lang), properties=properties, additionalProperties=False
    )


def _json_schema(href: str, title: str, **members: Any) -> dict[str, Any]:
    """A JSON Schema (2020-12) document of an object, identified by ``href``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": href,
        "type": "object",
        "title": title,
        **members,
    }
