"""TileJSON 3 and OGC API – Tiles tileset documents, built from the catalog and layer extents.

URLs are absolute and passed in by the caller (built from the request's base URL). Tile URL
templates use XYZ order ``{z}/{x}/{y}``; in OGC links the same path is written with the
OGC variable names, ``{tileMatrix}/{tileCol}/{tileRow}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from digitalcity.catalog import CityDef, FieldDef
from digitalcity.db.live import Versions
from digitalcity.tiles.content import (
    POINT_TYPES,
    LayerPlan,
    label_fields,
    label_points_layer,
    label_zooms,
    mvt_type,
)
from digitalcity.tiles.tms import TMS_ID, limits, tile_matrix_set

MVT = "application/vnd.mapbox-vector-tile"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
REL_TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
REL_TILESET = "http://www.opengis.net/def/rel/ogc/1.0/tileset"
WORLD = (-180.0, -85.0511287798066, 180.0, 85.0511287798066)
_JSON_TYPES = {"string": "string", "date": "string", "datetime": "string", "integer": "integer"}
_LABEL_POINTS = {"zh": "{title}（标注点）", "en": "{title} (label points)"}


@dataclass(frozen=True)
class TilesetInfo:
    """What a tileset document describes: city, layers, title and its URLs."""

    city: CityDef
    plans: Sequence[LayerPlan]
    title: str
    description: str
    tiles_url: str  # template with {z}/{x}/{y}
    self_url: str  # the OGC tileset document
    tilejson_url: str
    base_url: str
    lang: str = "en"


def bounds(info: TilesetInfo, versions: Versions) -> tuple[float, float, float, float]:
    """Union of the layers' recorded lon/lat extents; the city bbox or the world if none."""
    boxes = [
        s.extent
        for p in info.plans
        if (s := versions.get((p.layer.city, p.layer.id))) is not None and s.extent
    ]
    if not boxes:
        return tuple(info.city.bbox) if info.city.bbox else WORLD  # type: ignore[return-value]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def zoom_range(info: TilesetInfo) -> tuple[int, int]:
    if not info.plans:
        return (0, 0)
    return (min(p.layer.min_zoom for p in info.plans), max(p.layer.max_zoom for p in info.plans))


def attribution(city: CityDef, lang: str) -> str:
    """The city's attribution (``attribution`` in city.toml once the model has it)."""
    declared = getattr(city, "attribution", None)
    if declared:
        return declared.get(lang) if hasattr(declared, "get") else str(declared)
    return f"{city.title.get(lang)} — digitalcity"


def tilejson(info: TilesetInfo, versions: Versions) -> dict[str, Any]:
    """TileJSON 3.0.0 with one ``vector_layers`` entry per layer (fields with their types)."""
    west, south, east, north = bounds(info, versions)
    minzoom, maxzoom = zoom_range(info)
    centre = info.city.center or ((west + east) / 2, (south + north) / 2)
    zoom = min(max(round(info.city.default_zoom), minzoom), maxzoom)
    return {
        "tilejson": "3.0.0",
        "name": info.title,
        "description": info.description,
        "attribution": attribution(info.city, info.lang),
        "scheme": "xyz",
        "tiles": [info.tiles_url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": [west, south, east, north],
        "center": [centre[0], centre[1], zoom],
        "vector_layers": [
            {
                "id": m.id,
                "description": m.title,
                "minzoom": m.minzoom,
                "maxzoom": m.maxzoom,
                "fields": {f.name: mvt_type(f) for f in m.fields},
            }
            for m in _mvt_layers(info)
        ],
    }


def _dimension(plan: LayerPlan) -> int:
    kind = plan.layer.geometry_type
    return 0 if kind in POINT_TYPES else 1 if "LineString" in kind else 2


@dataclass(frozen=True)
class _MvtLayer:
    """One MVT layer of a tileset as its documents describe it."""

    id: str
    title: str
    dimension: int  # 0 points, 1 lines, 2 polygons
    minzoom: int
    maxzoom: int
    fields: Sequence[FieldDef]


def _mvt_layers(info: TilesetInfo) -> list[_MvtLayer]:
    """Each layer's MVT layer, and after it that of its label points where it has them."""
    out = []
    for p in info.plans:
        title = p.layer.title.get(info.lang)
        out.append(
            _MvtLayer(
                p.layer.id, title, _dimension(p), p.layer.min_zoom, p.layer.max_zoom, p.fields
            )
        )
        zooms, fields = label_zooms(p.layer), label_fields(p)
        if zooms and fields:
            label = _LABEL_POINTS.get(info.lang, _LABEL_POINTS["en"]).format(title=title)
            out.append(
                _MvtLayer(label_points_layer(p.layer), label, 0, zooms[0], zooms[-1], fields)
            )
    return out


def _item_template(info: TilesetInfo) -> str:
    return (
        info.tiles_url.replace("{z}", "{tileMatrix}")
        .replace("{x}", "{tileCol}")
        .replace("{y}", "{tileRow}")
    )


def tileset_links(info: TilesetInfo) -> list[dict[str, Any]]:
    return [
        {"rel": "self", "type": "application/json", "title": info.title, "href": info.self_url},
        # GDAL's OGCAPI driver (3.6) picks a tileset from a list by this relation.
        {"rel": REL_TILESET, "type": "application/json", "href": info.self_url},
        {
            "rel": REL_TILING_SCHEME,
            "type": "application/json",
            "href": f"{info.base_url}/tileMatrixSets/{TMS_ID}",
        },
        {"rel": "item", "type": MVT, "templated": True, "href": _item_template(info)},
        {"rel": "describedby", "type": "application/json", "href": info.tilejson_url},
    ]


def ogc_tileset(info: TilesetInfo, versions: Versions) -> dict[str, Any]:
    """OGC API – Tiles tileset metadata (vector, WebMercatorQuad) with layers and limits."""
    west, south, east, north = bounds(info, versions)
    minzoom, maxzoom = zoom_range(info)
    return {
        "title": info.title,
        "description": info.description,
        "dataType": "vector",
        "crs": CRS3857,
        "tileMatrixSetURI": tile_matrix_set(TMS_ID).uri,
        "tileMatrixSetDefinition": f"{info.base_url}/tileMatrixSets/{TMS_ID}",
        "tileMatrixSetLimits": limits((west, south, east, north), range(minzoom, maxzoom + 1)),
        "boundingBox": {"lowerLeft": [west, south], "upperRight": [east, north], "crs": CRS84},
        "attribution": attribution(info.city, info.lang),
        "layers": [
            {
                "id": m.id,
                "title": m.title,
                "dataType": "vector",
                "geometryDimension": m.dimension,
                "minTileMatrix": str(m.minzoom),
                "maxTileMatrix": str(m.maxzoom),
                "propertiesSchema": {
                    "type": "object",
                    "properties": {
                        f.name: {
                            "type": _JSON_TYPES.get(f.type, f.type.replace("float", "number")),
                            "title": f.title.get(info.lang),
                            **({"x-unit": f.unit} if f.unit else {}),
                        }
                        for f in m.fields
                    },
                },
            }
            for m in _mvt_layers(info)
        ],
        "links": tileset_links(info),
    }


def tileset_list(info: TilesetInfo, list_url: str) -> dict[str, Any]:
    """The ``/tiles`` document: the one tileset offered (vector, WebMercatorQuad)."""
    return {
        "tilesets": [
            {
                "title": info.title,
                "dataType": "vector",
                "crs": CRS3857,
                "tileMatrixSetURI": tile_matrix_set(TMS_ID).uri,
                "tileMatrixSetDefinition": f"{info.base_url}/tileMatrixSets/{TMS_ID}",
                "links": tileset_links(info),
            }
        ],
        "links": [{"rel": "self", "type": "application/json", "href": list_url}],
    }
