"""Checks of one edited feature against its layer definition; every fault is listed.

Geometry goes through the loader's own checks (``ingest.geometry.check_geometries``): the
edit's CRS to the storage CRS, inside the city's extent, repaired the way a load repairs (and
reported), cast to the layer's geometry type.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry import shape

from digitalcity.catalog.access import Role, visible_fields
from digitalcity.catalog.codes import CodeTable
from digitalcity.catalog.model import CityDef, FieldDef, LayerDef
from digitalcity.crs.transform import resolve_crs
from digitalcity.ingest.geometry import check_geometries
from digitalcity.query.crs_ref import CRSRef

INT64 = 2**63
_MULTI = {
    "Point": shapely.multipoints,
    "LineString": shapely.multilinestrings,
    "Polygon": shapely.multipolygons,
}


@dataclass
class Checked:
    """A feature ready to write: field values (only those given), the geometry in the storage
    CRS (None when not given), what was repaired, and the faults (empty when writable)."""

    values: dict[str, Any] = field(default_factory=dict)
    geometry: shapely.Geometry | None = None
    repaired: bool = False
    faults: list[str] = field(default_factory=list)


def _value(f: FieldDef, value: Any) -> tuple[Any, str | None]:
    """The value as the column holds it, or a fault."""
    if value is None:
        return None, None
    kind = f.type
    if kind == "string":
        return (
            (str(value), None) if isinstance(value, str) and "\x00" not in value else (None, "text")
        )
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool) and -INT64 <= value < INT64
        return (value, None) if ok else (None, "a whole number (64-bit)")
    if kind == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return (float(value), None) if ok and math.isfinite(value) else (None, "a finite number")
    if kind == "boolean":
        return (value, None) if isinstance(value, bool) else (None, "true or false")
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value)), None
        except ValueError:
            return None, "a date (YYYY-MM-DD)"
    try:
        stamp = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None, "an RFC 3339 timestamp"
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)), None


def check_properties(
    layer: LayerDef,
    role: Role,
    properties: Any,
    codes: dict[str, CodeTable],
    out: Checked,
) -> None:
    if properties is None:
        return
    if not isinstance(properties, dict):
        out.faults.append("properties must be a JSON object")
        return
    writable = {f.name: f for f in visible_fields(role, layer)}
    cls = layer.classification
    for name, value in properties.items():
        definition = writable.get(name)
        if definition is None:  # unknown and hidden alike: a hidden field is not admitted to
            out.faults.append(f"{name!r}: no such field in {layer.id}")
            continue
        if definition.read_only or definition.derived:  # derived: kept from its source field
            out.faults.append(f"{name!r}: read-only")
            continue
        cast, fault = _value(definition, value)
        if fault:
            out.faults.append(f"{name!r}: {value!r} is not {fault}")
            continue
        if cls is not None and name == cls.field and cast is not None:
            table = codes.get(cls.system)
            code = cls.normaliser(str(cast))
            if table is not None and code not in table:
                out.faults.append(f"{name!r}: {value!r} is not a code of {cls.system}")
                continue
        out.values[name] = cast


def check_geometry(
    layer: LayerDef, city: CityDef, geometry: Any, crs: CRSRef, out: Checked
) -> None:
    if not isinstance(geometry, dict) or "type" not in geometry:
        out.faults.append("geometry must be a GeoJSON geometry object")
        return
    try:
        geom = shape(geometry)
    except (
        ValueError, TypeError, AttributeError, KeyError, IndexError, shapely.errors.ShapelyError
    ) as exc:  # fmt: skip
        out.faults.append(f"geometry cannot be read: {str(exc)[:200] or type(exc).__name__}")
        return
    if geom.is_empty:
        out.faults.append("geometry is empty")
        return
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        out.faults.append("geometry has non-finite coordinates")
        return
    if crs.swap_axes:
        geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
    source = resolve_crs(f"EPSG:{crs.srid}", None)
    geographic = pyproj.CRS.from_user_input(city.storage_crs).is_geographic
    result = check_geometries(
        np.array([geom], dtype=object), source, city, layer.geometry_type, geographic
    )
    if result.rejected:
        out.faults.append(f"geometry: {result.rejected[0]}")
        return
    geom = result.geometry[0]
    if layer.geometry_type.startswith("Multi") and not geom.geom_type.startswith("Multi"):
        geom = _MULTI[geom.geom_type]([geom])
    out.geometry = geom
    out.repaired = bool(result.repaired)


def check_feature(
    layer: LayerDef,
    city: CityDef,
    role: Role,
    feature: Any,
    crs: CRSRef,
    codes: dict[str, CodeTable],
    *,
    needs_geometry: bool,
) -> Checked:
    """A GeoJSON Feature (or a merge patch of one, ``needs_geometry=False``) checked."""
    out = Checked()
    if not isinstance(feature, dict):
        out.faults.append("a feature must be a JSON object")
        return out
    if feature.get("type", "Feature") != "Feature":
        out.faults.append("type must be Feature")
    check_properties(layer, role, feature.get("properties"), codes, out)
    if "geometry" in feature and feature["geometry"] is not None:
        check_geometry(layer, city, feature["geometry"], crs, out)
    elif needs_geometry or "geometry" in feature:
        out.faults.append("geometry is required")
    return out
