"""Statistics of a polygon drawn on the planner map: land-use area by class, the zoning
districts it falls in with their controls, residents and facilities inside, composed from the analysis library (the same functions the analysis API and
notebooks call), with the caller's role.

The polygon is GeoJSON in CRS84 (lon/lat), validated up front by ``analysis.params.polygon``;
areas are m² and lengths m in the city's local metric CRS. Sections whose layers or fields the
role may not read, or that the city has no layer for, are ``None`` (facilities: left out).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from digitalcity.analysis import (
    facilities_within,
    landuse_statistics,
    params,
    population_in_polygon,
)
from digitalcity.analysis.bindings import bindings_for
from digitalcity.analysis.classes import Level, class_field
from digitalcity.analysis.population import population_field
from digitalcity.catalog.access import visible_fields, visible_layer
from digitalcity.catalog.ids import collection_id
from digitalcity.catalog.model import LayerDef
from digitalcity.city import City
from digitalcity.crs import parse_crs, transform_geometries
from digitalcity.planning.site import zones_within

LONLAT = "EPSG:4326"
MAX_AREA_SHARE = 1.0  # of the area of the city's bbox
MAX_LISTED = 100  # facilities listed per type (all are counted)
# facilities_within needs a distance > 0: search within 1 mm, keep those at distance 0 (inside)
NEAR_M = 0.001


def validate(city: City, doc: Any) -> shapely.Geometry:
    """The polygon in the city's local CRS, checked as every analysis checks it (InvalidParameter
    / OutsideCity, 400) and, for the map, no larger than the city's extent."""
    with city.engine.connect() as conn:
        local = params.polygon(conn, city, doc, LONLAT)
    bbox = city.definition.bbox
    if bbox:
        extent = np.array([shapely.box(*bbox)], dtype=object)
        limit = transform_geometries(extent, parse_crs(LONLAT), city.local_crs)[0].area
        if local.area > limit * MAX_AREA_SHARE:
            raise params.InvalidParameter(
                f"polygon is larger than the extent of {city.definition.title.en}"
            )
    return local


def _readable(city: City, layer_id: str | None, *fields: str) -> LayerDef | None:
    """The layer if the role may read it and ``fields`` of it."""
    if not layer_id:
        return None
    layer = city.catalog.layer(city.id, layer_id)
    if not visible_layer(city.role, layer):
        return None
    names = {f.name for f in visible_fields(city.role, layer)}
    return layer if names.issuperset(fields) else None


def _landuse(city: City, doc: Any, lang: str) -> dict[str, Any] | None:
    parcels = _readable(city, bindings_for(city).parcels)
    if parcels is None or parcels.classification is None:
        return None
    level: Level = "level1" if parcels.classification.crosswalk else "native"
    cls = class_field(city, parcels, level)
    if _readable(city, parcels.id, cls.field) is None:
        return None
    result = landuse_statistics(city, level=level, polygon=doc, polygon_crs=LONLAT)
    name = "name_zh" if lang == "zh" else "name_en"
    classes = [
        {
            "code": row["code"],
            "name": row[name],
            "colour": row["colour"],
            "area_m2": round(row["area_m2"], 2),
            "share": None if row["share"] is None else round(row["share"], 4),
            "parcels": row["parcels"],
        }
        for row in result.to_dict()["data"]
    ]
    return {
        "collection": collection_id(parcels),
        "field": cls.field,
        "system": cls.system,
        "total_area_m2": round(result.summary["area_m2"], 2),
        "classes": classes,
    }


def _residents(city: City, doc: Any) -> dict[str, Any] | None:
    layer = _readable(city, bindings_for(city).population)
    if layer is None or _readable(city, layer.id, field := population_field(layer)) is None:
        return None
    result = population_in_polygon(city, doc, polygon_crs=LONLAT, method="areal")
    return {
        "collection": collection_id(layer),
        "field": field,
        "residents": round(result.summary["population"], 1),
        "method": result.provenance["method"],
    }


def _facilities(city: City, doc: Any, lang: str) -> dict[str, Any]:
    kinds = {
        kind: [x for i in ids if (x := _readable(city, i)) is not None]
        for kind, ids in city.definition.roles.facilities.items()
    }
    layers = list(dict.fromkeys(x.id for chosen in kinds.values() for x in chosen))
    if not layers:
        return {}
    found = facilities_within(city, NEAR_M, polygon=doc, polygon_crs=LONLAT, layers=layers).frame
    inside = found[found["distance_m"] == 0].sort_values("fid")
    out: dict[str, Any] = {}
    for kind, chosen in kinds.items():
        if not chosen:
            continue
        rows = [(x, r) for x in chosen for r in inside[inside["layer"] == x.id].itertuples()]
        out[kind] = {
            "count": len(rows),
            "items": [
                {"collection": collection_id(x), "layer_title": x.title.get(lang),
                 "fid": int(r.fid), "name": None if pd.isna(r.label) else str(r.label)}
                for x, r in rows[:MAX_LISTED]
            ],
        }  # fmt: skip
    return out


def polygon_statistics(city: City, doc: Any, lang: str = "en") -> dict[str, Any]:
    """Land use by class, zoning districts, residents and facilities inside the GeoJSON
    polygon (or Feature) ``doc`` (lon/lat); areas in m² in the city's local CRS. Reads only;
    no side effects."""
    local = validate(city, doc)
    return {
        "city": city.id,
        "area_m2": round(local.area, 2),
        "perimeter_m": round(local.length, 2),
        "landuse": _landuse(city, doc, lang),
        "zoning": zones_within(city, local, lang),
        "residents": _residents(city, doc),
        "facilities": _facilities(city, doc, lang),
        "units": {"area_m2": "m²", "perimeter_m": "m", "crs_measure": city.local_crs},
    }
