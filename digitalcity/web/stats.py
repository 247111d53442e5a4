"""Statistics of a polygon drawn on the planner map: land-use area by class, residents and
facilities inside.

The polygon is GeoJSON in CRS84 (lon/lat). Areas are square metres measured in the city's
local metric CRS on exact intersections (``ST_Intersection``); residents are interpolated by
area share from the population layer. Layers and fields come from the city's ``roles`` and the
layers' classification and semantics, through the caller's access; SQL is SQLAlchemy Core with
the polygon as a bound parameter.
"""

from __future__ import annotations

from typing import Any

import pyproj
import shapely
import sqlalchemy as sa
from geoalchemy2 import Geometry
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from sqlalchemy.engine import Connection

from digitalcity.catalog.access import visible_fields, visible_layer
from digitalcity.catalog.ids import collection_id
from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.city import City
from digitalcity.db.schema import layer_table
from digitalcity.errors import DigitalCityError

MAX_VERTICES = 20_000
MAX_AREA_SHARE = 1.0  # of the area of the city's bbox
MAX_LISTED = 100  # facilities listed per type (all are counted)


class InvalidPolygon(DigitalCityError):
    title = "Invalid polygon"


def parse_polygon(doc: Any, city: CityDef) -> BaseGeometry:
    """A valid, non-empty lon/lat (Multi)Polygon near ``city`` from a GeoJSON geometry or
    Feature; ``InvalidPolygon`` (400) otherwise."""
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = doc.get("geometry")
    if not isinstance(doc, dict) or doc.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidPolygon("expected a GeoJSON Polygon or MultiPolygon (or a Feature of one)")
    try:
        geom = shape(doc)
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.ShapelyError) as exc:
        raise InvalidPolygon(f"unreadable polygon coordinates: {exc}") from None
    if geom.is_empty:
        raise InvalidPolygon("the polygon is empty")
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise InvalidPolygon(f"the polygon has more than {MAX_VERTICES} vertices")
    west, south, east, north = geom.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise InvalidPolygon("coordinates must be lon/lat (CRS84) within ±180 / ±90")
    if not geom.is_valid:
        raise InvalidPolygon(f"the polygon is not valid: {explain_validity(geom)}")
    if geom.area == 0:
        raise InvalidPolygon("the polygon is empty (no area)")
    if city.bbox:
        extent = box(*city.bbox)
        if not geom.intersects(extent):
            raise InvalidPolygon(f"the polygon lies outside {city.title.en} (bbox {city.bbox})")
        local = pyproj.Transformer.from_crs("EPSG:4326", city.local_crs, always_xy=True)
        limit = shapely.transform(extent, local.transform, interleaved=False).area
        if (
            shapely.transform(geom, local.transform, interleaved=False).area
            > limit * MAX_AREA_SHARE
        ):
            raise InvalidPolygon(f"the polygon is larger than the extent of {city.title.en}")
    return geom


def _area_cte(city: City, wkt: str) -> sa.CTE:
    given = sa.func.ST_SetSRID(sa.func.ST_GeomFromText(sa.bindparam("wkt", wkt)), 4326)
    return sa.select(
        sa.func.ST_Transform(given, city.storage_srid, type_=Geometry()).label("storage"),
        sa.func.ST_Transform(given, city.local_srid, type_=Geometry()).label("local"),
    ).cte("area")


def _layer(city: City, layer_id: str | None) -> LayerDef | None:
    if not layer_id:
        return None
    layer = city.catalog.layer(city.id, layer_id)
    return layer if visible_layer(city.role, layer) else None


def _landuse(conn: Connection, city: City, area: sa.CTE, lang: str) -> dict[str, Any] | None:
    parcels = _layer(city, city.definition.roles.parcels)
    cls = parcels.classification if parcels else None
    if parcels is None or cls is None:
        return None
    field = cls.crosswalk.level1_field if cls.crosswalk else cls.field
    if field not in {f.name for f in visible_fields(city.role, parcels)}:
        return None
    system = cls.crosswalk.to if cls.crosswalk else cls.system
    table = layer_table(parcels, city.definition)
    local = sa.func.ST_Transform(table.c.geom, city.local_srid, type_=Geometry())
    piece = sa.func.ST_Area(sa.func.ST_Intersection(local, area.c.local))
    inside = sa.func.ST_Intersects(sa.func.ST_PointOnSurface(table.c.geom), area.c.storage)
    stmt = (
        sa.select(
            table.c[field].label("code"),
            sa.func.sum(piece).label("area_m2"),
            sa.func.count().filter(inside).label("parcels"),
        )
        .select_from(table.join(area, sa.func.ST_Intersects(table.c.geom, area.c.storage)))
        .group_by(table.c[field])
    )
    codes = city.code_tables.get(system)
    classes: list[dict[str, Any]] = []
    for row in conn.execute(stmt):
        code = str(row.code) if row.code is not None else None
        entry = codes.get(code) if codes and code else None
        classes.append(
            {
                "code": code,
                "name": entry.name(lang) if entry else None,
                "colour": codes.colour_for(code) if codes and code else None,
                "area_m2": round(float(row.area_m2 or 0), 2),
                "parcels": int(row.parcels),
            }
        )
    classes = [c for c in classes if c["area_m2"] > 0 or c["parcels"]]
    classes.sort(key=lambda c: -c["area_m2"])
    total = sum(c["area_m2"] for c in classes)
    for c in classes:
        c["share"] = round(c["area_m2"] / total, 4) if total else None
    return {
        "collection": collection_id(parcels),
        "field": field,
        "system": system,
        "total_area_m2": round(total, 2),
        "classes": classes,
    }


def _residents(conn: Connection, city: City, area: sa.CTE) -> dict[str, Any] | None:
    layer = _layer(city, city.definition.roles.population)
    people = layer.semantic("population") if layer else None
    if layer is None or people is None or people not in visible_fields(city.role, layer):
        return None
    table = layer_table(layer, city.definition)
    unit = sa.func.ST_Transform(table.c.geom, city.local_srid, type_=Geometry())
    share = sa.func.ST_Area(sa.func.ST_Intersection(unit, area.c.local)) / sa.func.nullif(
        sa.func.ST_Area(unit), 0
    )
    stmt = sa.select(
        sa.func.coalesce(sa.func.sum(table.c[people.name] * share), 0).label("residents"),
        sa.func.count().label("units"),
    ).select_from(table.join(area, sa.func.ST_Intersects(table.c.geom, area.c.storage)))
    row = conn.execute(stmt).one()
    return {
        "collection": collection_id(layer),
        "field": people.name,
        "residents": round(float(row.residents), 1),
        "units_touched": int(row.units),
        "method": "areal interpolation (persons × share of the unit's area inside)",
    }


def _facilities(conn: Connection, city: City, area: sa.CTE, lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, layer_ids in city.definition.roles.facilities.items():
        for layer in (x for i in layer_ids if (x := _layer(city, i)) is not None):
            table = layer_table(layer, city.definition)
            names = {f.name for f in visible_fields(city.role, layer)}
            label = table.c[layer.label_field] if layer.label_field in names else sa.null()
            stmt = (
                sa.select(table.c.fid, sa.cast(label, sa.Text).label("name"))
                .select_from(table.join(area, sa.func.ST_Intersects(table.c.geom, area.c.storage)))
                .order_by(table.c.fid)
            )
            rows = conn.execute(stmt).all()
            entry = out.setdefault(kind, {"count": 0, "items": []})
            entry["count"] += len(rows)
            room = MAX_LISTED - len(entry["items"])
            entry["items"].extend(
                {"collection": collection_id(layer), "layer_title": layer.title.get(lang),
                 "fid": r.fid, "name": r.name}
                for r in rows[:room]
            )  # fmt: skip
    return out


def polygon_statistics(city: City, geom: BaseGeometry, lang: str = "en") -> dict[str, Any]:
    """Land use by class, residents and facilities inside ``geom`` (lon/lat, from
    ``parse_polygon``); areas in m² in the city's local CRS. Reads only; no side effects."""
    area = _area_cte(city, geom.wkt)
    measure = sa.select(
        sa.func.ST_Area(area.c.local).label("area"),
        sa.func.ST_Perimeter(area.c.local).label("perimeter"),
    )
    with city.engine.connect() as conn:
        size = conn.execute(measure).one()
        landuse = _landuse(conn, city, area, lang)
        residents = _residents(conn, city, area)
        facilities = _facilities(conn, city, area, lang)
    return {
        "city": city.id,
        "area_m2": round(float(size.area), 2),
        "perimeter_m": round(float(size.perimeter), 2),
        "landuse": landuse,
        "residents": residents,
        "facilities": facilities,
        "units": {"area_m2": "m²", "perimeter_m": "m", "crs_measure": city.local_crs},
    }
