"""The parcel card: what a planner sees on clicking a parcel.

Layers and columns come from the city's ``roles`` and each layer's ``semantics``; every part
goes through the caller's access (a hidden layer or field is simply absent). Distances and
areas are metres / square metres in the city's local metric CRS.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.engine import Connection

from digitalcity.catalog.access import visible_fields, visible_layer
from digitalcity.catalog.ids import collection_id
from digitalcity.catalog.model import LayerDef
from digitalcity.catalog.semantics import CONTROL_KEYS
from digitalcity.city import City
from digitalcity.errors import NotFound
from digitalcity.planning.surroundings import nearest_facilities, residents_within

CONTROL_MEANINGS = CONTROL_KEYS
RESIDENTS_RADIUS_M = 400.0


def _visible_row(city: City, layer: LayerDef, row: Any) -> dict[str, Any]:
    return {f.name: row._mapping[f.name] for f in visible_fields(city.role, layer)}


def _code_entry(city: City, system: str, code: Any, lang: str) -> dict[str, Any] | None:
    if code is None:
        return None
    table = city.code_tables.get(system)
    found = table.get(str(code)) if table else None
    return {
        "code": str(code),
        "system": system,
        "name": found.name(lang) if found else None,
        "colour": table.colour_for(str(code)) if table else None,
    }


def _land_use(
    city: City, layer: LayerDef, props: dict[str, Any], lang: str
) -> dict[str, Any] | None:
    cls = layer.classification
    if cls is None or cls.field not in props:
        return None
    out: dict[str, Any] = {
        "native": _code_entry(city, cls.system, props.get(cls.field), lang),
        "primary": city.definition.land_use_primary if cls.crosswalk else "native",
    }
    if cls.crosswalk:
        out["standard_level1"] = _code_entry(
            city, cls.crosswalk.to, props.get(cls.crosswalk.level1_field), lang
        )
        out["standard_level2"] = _code_entry(
            city, cls.crosswalk.to, props.get(cls.crosswalk.level2_field), lang
        )
    return out


def zoning_layer(city: City) -> LayerDef | None:
    """The city's zoning layer if the caller may see it."""
    layer_id = city.definition.roles.zoning
    if not layer_id or not visible_layer(city.role, layer := city.catalog.layer(city.id, layer_id)):
        return None
    return layer


def _zoning(
    conn: Connection, city: City, parcel_geom: sa.ColumnElement, lang: str
) -> dict[str, Any] | None:
    layer = zoning_layer(city)
    if layer is None:
        return None
    table = city.relation(layer)
    overlap = sa.func.ST_Area(sa.func.ST_Intersection(table.c.geom, parcel_geom))
    stmt = (
        sa.select(table)
        .where(sa.func.ST_Intersects(table.c.geom, parcel_geom))
        .order_by(overlap.desc())
        .limit(1)
    )
    row = conn.execute(stmt).first()
    return None if row is None else zone_entry(city, layer, row, lang)


def zone_entry(city: City, layer: LayerDef, row: Any, lang: str) -> dict[str, Any]:
    """One zoning district as cards show it: its code and name (in ``lang``), colour, the
    controls with value, unit, status and source, the plain description, and every field the
    caller may read."""
    props = _visible_row(city, layer, row)
    source = layer.semantic("controls_source")
    note = layer.semantic("controls_note")
    zone = layer.semantic("zone_code")
    name = layer.semantic("zone_name")
    code = props.get(zone.name) if zone else None
    cls = layer.classification
    described = city.code_descriptions.get(cls.system) if cls else None
    plain = described.describe(code, lang) if described else None
    no_limit = set(plain["no_limit"]) if plain else set()
    controls = []
    for meaning in CONTROL_MEANINGS:
        f = layer.semantic(meaning)
        if f is None or f.name not in props:
            continue
        value = props[f.name]
        controls.append(
            {
                "control": meaning,
                "field": f.name,
                "title": f.title.get(lang),
                "unit": f.unit,
                "value": value,
                # a limit that does not apply is not an unknown one (the descriptions say so)
                "status": "value"
                if value is not None
                else ("no_limit" if meaning in no_limit else "unknown"),
                "known": value is not None,
                "source": props.get(source.name) if source else None,
            }
        )
    return {
        "collection": collection_id(layer),
        "fid": row.fid,
        "zone_code": code,
        # the code table's name in the caller's language, else the data's own
        "zone_name": (
            (_code_entry(city, cls.system, code, lang) or {}).get("name") if cls else None
        )
        or (props.get(name.name) if name else None),
        "colour": (_code_entry(city, cls.system, code, lang) or {}).get("colour") if cls else None,
        "controls": controls,
        "controls_note": props.get(note.name) if note else None,
        "plain": plain,
        "properties": props,
    }


def _overlays(conn: Connection, city: City, parcel_geom: sa.ColumnElement) -> list[dict[str, Any]]:
    out = []
    for layer_id in city.definition.roles.overlays:
        layer = city.catalog.layer(city.id, layer_id)
        if not visible_layer(city.role, layer):
            continue
        table = city.relation(layer)
        for row in conn.execute(
            sa.select(table).where(sa.func.ST_Intersects(table.c.geom, parcel_geom))
        ):
            props = _visible_row(city, layer, row)
            out.append(
                {
                    "collection": collection_id(layer),
                    "fid": row.fid,
                    "name": props.get(layer.label_field) if layer.label_field else None,
                    "properties": props,
                }
            )
    return out


def _far(parcels: LayerDef, props: dict[str, Any], zoning: dict[str, Any] | None) -> dict[str, Any]:
    land, floor = parcels.semantic("land_area"), parcels.semantic("floor_area")
    land_value = props.get(land.name) if land else None
    floor_value = props.get(floor.name) if floor else None
    built = (
        (floor_value / land_value)
        if land_value and floor_value is not None and land_value > 0
        else None
    )
    maximum, limit_status = None, "unknown"
    if zoning:
        control = next((c for c in zoning["controls"] if c["control"] == "max_far"), None)
        if control:
            maximum, limit_status = control["value"], control["status"]
    if limit_status == "no_limit":
        status = "no_limit"
    elif built is None or maximum is None:
        status = "unknown"
    else:
        status = "over" if built > maximum + 1e-9 else "within"
    return {
        "built_far": round(built, 3) if built is not None else None,
        "max_far": maximum,
        "status": status,
        "ratio_to_max": round(built / maximum, 3) if built is not None and maximum else None,
        "basis": "gross floor area / land area (assessor figures)",
    }


def parcel_card(city: City, fid: int, lang: str = "en") -> dict[str, Any]:
    """Everything about one parcel; NotFound if it does not exist or is hidden."""
    roles = city.definition.roles
    if not roles.parcels:
        raise NotFound(f"city {city.id!r} has no parcel layer")
    parcels = city.layer(roles.parcels)
    table = city.relation(parcels)
    local = sa.func.ST_Transform(table.c.geom, city.local_srid, type_=Geometry())
    center = sa.func.ST_Transform(sa.func.ST_PointOnSurface(table.c.geom), 4326, type_=Geometry())
    box = sa.func.Box2D(sa.func.ST_Transform(table.c.geom, 4326, type_=Geometry()))
    stmt = sa.select(
        table,
        sa.func.ST_Area(local).label("_area_m2"),
        sa.func.ST_X(center).label("_lon"),
        sa.func.ST_Y(center).label("_lat"),
        sa.func.ST_AsGeoJSON(sa.func.ST_Transform(table.c.geom, 4326, type_=Geometry()), 7).label(
            "_geojson"
        ),
        sa.func.ST_XMin(box).label("_x1"),
        sa.func.ST_YMin(box).label("_y1"),
        sa.func.ST_XMax(box).label("_x2"),
        sa.func.ST_YMax(box).label("_y2"),
    ).where(table.c.fid == fid)
    with city.engine.connect() as conn:
        row = conn.execute(stmt).first()
        if row is None:
            raise NotFound(f"no parcel {fid} in {city.id!r}")
        props = _visible_row(city, parcels, row)
        geom = sa.select(table.c.geom).where(table.c.fid == fid).scalar_subquery()
        zoning = _zoning(conn, city, geom, lang)
        overlays = _overlays(conn, city, geom)
        nearest = nearest_facilities(conn, city, geom, lang)
        residents = residents_within(conn, city, geom, RESIDENTS_RADIUS_M)
    return {
        "city": city.id,
        "collection": collection_id(parcels),
        "fid": fid,
        "label": props.get(parcels.label_field) if parcels.label_field else None,
        "properties": props,
        "area_m2": round(float(row._area_m2), 1),
        "centroid": [row._lon, row._lat],
        "bbox": [row._x1, row._y1, row._x2, row._y2],
        "geometry": json.loads(row._geojson),
        "land_use": _land_use(city, parcels, props, lang),
        "zoning": zoning,
        "overlays": overlays,
        "far": _far(parcels, props, zoning),
        "nearest": nearest,
        "residents": residents,
        "units": {
            "area_m2": "m²",
            "distance_m": "m",
            "crs_measure": city.definition.local_crs,
            "centroid": "lon/lat (CRS84)",
        },
    }


def identify(city: City, x: float, y: float, srid: int = 4326, lang: str = "en") -> dict[str, Any]:
    """The card of the parcel at a point given in ``srid`` (x east, y north)."""
    roles = city.definition.roles
    if not roles.parcels:
        raise NotFound(f"city {city.id!r} has no parcel layer")
    parcels = city.layer(roles.parcels)
    table = city.relation(parcels)
    point = sa.func.ST_Transform(
        sa.func.ST_SetSRID(sa.func.ST_MakePoint(x, y), srid), city.storage_srid, type_=Geometry()
    )
    stmt = (
        sa.select(table.c.fid)
        .where(sa.func.ST_Intersects(table.c.geom, point))
        .order_by(sa.func.ST_Area(table.c.geom), table.c.fid)
        .limit(1)
    )
    with city.engine.connect() as conn:
        fid = conn.execute(stmt).scalar()
    if fid is None:
        raise NotFound("no parcel at this point")
    return parcel_card(city, int(fid), lang)
