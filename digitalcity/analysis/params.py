"""Up-front validation of analysis parameters: each check returns the clean value or raises
``InvalidParameter`` / ``OutsideCity`` with a one-line message. Nothing is computed on garbage."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

import numpy as np
import shapely
import shapely.errors
import shapely.geometry
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection

from digitalcity.analysis.errors import InvalidParameter, OutsideCity
from digitalcity.city import City
from digitalcity.crs import WGS84, SourceCRS, coordinates_in_range, parse_crs, transform_geometries
from digitalcity.errors import DigitalCityError

MAX_DISTANCE_M = 50_000.0
MINUTES_RANGE = (1.0, 120.0)
WALK_SPEED_RANGE_KMH = (1.0, 10.0)

PolygonLike: TypeAlias = BaseGeometry | Mapping[str, Any] | str | bytes
T = TypeVar("T")

_EXTENTS = sa.text(
    "SELECT min(extent[1]), min(extent[2]), max(extent[3]), max(extent[4]) "
    "FROM digitalcity.layer_versions WHERE city = :city AND is_current AND extent IS NOT NULL"
)


def number(value: Any, name: str, low: float, high: float, *, low_open: bool = False) -> float:
    """A finite real within [low, high] (``(low, high]`` with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidParameter(f"{name} must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise InvalidParameter(f"{name} must be finite, got {value!r}")
    if out < low or out > high or (low_open and out == low):
        bracket = "(" if low_open else "["
        raise InvalidParameter(f"{name} must be in {bracket}{low:g}, {high:g}], got {value!r}")
    return out


def distance(value: Any, name: str = "distance_m", *, maximum: float = MAX_DISTANCE_M) -> float:
    """A distance in metres, > 0 and at most ``maximum`` (50 km by default)."""
    return number(value, name, 0.0, maximum, low_open=True)


def minutes(values: Any, name: str = "minutes") -> tuple[float, ...]:
    """One or more walking times in minutes, each within 1-120, sorted and de-duplicated."""
    many = isinstance(values, (list, tuple, set, frozenset, np.ndarray))
    items = list(values) if many else [values]
    if not items:
        raise InvalidParameter(f"{name} must name at least one time")
    return tuple(sorted({number(v, name, *MINUTES_RANGE) for v in items}))


def walk_speed(kmh: Any) -> float:
    """Walking speed in km/h within 1-10."""
    return number(kmh, "walk_speed_kmh", *WALK_SPEED_RANGE_KMH)


def choice(value: Any, name: str, options: Iterable[T]) -> T:
    """``value`` if it is one of ``options``."""
    allowed = list(options)
    if value not in allowed:
        raise InvalidParameter(f"{name} must be one of {allowed}, got {value!r}")
    return value  # type: ignore[no-any-return]


def crs(value: Any, name: str = "crs") -> SourceCRS:
    """A CRS (EPSG code, 'EPSG:n', WKT, PROJ string, 'GCJ-02', 'BD-09')."""
    if not isinstance(value, (str, int)) or isinstance(value, bool) or value == "":
        raise InvalidParameter(
            f"{name} must be a CRS code or name such as 'EPSG:4326', got {value!r}"
        )
    try:
        return parse_crs(value, what=name)
    except DigitalCityError as exc:
        raise InvalidParameter(str(exc).splitlines()[0]) from None


def _check_rings(value: Mapping, name: str) -> None:
    """GeoJSON rings are closed and have at least 4 positions (RFC 7946 §3.1.6); shapely would
    silently close an open one, so a malformed polygon is refused here instead."""
    kind, coords = value.get("type"), value.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon") or not isinstance(coords, list):
        return
    polygons = coords if kind == "MultiPolygon" else [coords]
    for polygon in polygons:
        for ring in polygon if isinstance(polygon, list) else ():
            if not isinstance(ring, list) or len(ring) < 4 or ring[0] != ring[-1]:
                raise InvalidParameter(
                    f"{name} has a ring that is not closed or has fewer than 4 positions"
                )


def _as_geometry(value: PolygonLike, name: str) -> BaseGeometry:
    try:
        if isinstance(value, BaseGeometry):
            return value
        if isinstance(value, bytes):
            return shapely.from_wkb(value)
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                return _as_geometry(json.loads(text), name)
            return shapely.from_wkt(text)
        if isinstance(value, Mapping):
            if value.get("type") == "Feature":
                value = value.get("geometry") or {}
            _check_rings(value, name)
            return shapely.geometry.shape(value)
    except (shapely.errors.ShapelyError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidParameter(f"{name} is not a readable geometry: {exc}") from None
    raise InvalidParameter(
        f"{name} must be a shapely geometry, GeoJSON, WKT or WKB, got {type(value).__name__}"
    )


def polygon(
    conn: Connection,
    city: City,
    value: PolygonLike,
    crs_value: Any = "EPSG:4326",
    name: str = "polygon",
) -> BaseGeometry:
    """A valid, non-empty (multi)polygon that overlaps the city, returned in the local CRS.

    ``value`` is in ``crs_value`` (lon/lat by default; GCJ-02 / BD-09 accepted). Invalid rings
    are refused, not repaired; so are polygons outside the extent of the city's loaded layers.
    """
    source = crs(crs_value, f"{name}_crs")
    geom = _as_geometry(value, name)
    if geom is None or geom.is_empty:
        raise InvalidParameter(f"{name} is empty")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidParameter(f"{name} must be a Polygon or MultiPolygon, got {geom.geom_type}")
    if geom.has_z:
        geom = shapely.force_2d(geom)
    if not coordinates_in_range(np.array([geom], dtype=object), source)[0]:
        raise InvalidParameter(f"{name} has coordinates out of range for {source}")
    if not geom.is_valid:
        raise InvalidParameter(f"{name} is not a valid polygon: {shapely.is_valid_reason(geom)}")
    lonlat = transform_geometries(np.array([geom], dtype=object), source, WGS84)[0]
    local = transform_geometries(np.array([geom], dtype=object), source, city.local_crs)[0]
    if not np.isfinite(shapely.get_coordinates(local)).all() or local.area <= 0:
        raise InvalidParameter(f"{name} has no area in {city.local_crs}")
    extent = conn.execute(_EXTENTS, {"city": city.id}).one()
    if extent[0] is None:
        raise OutsideCity(f"city {city.id!r} has no loaded layer to place {name} in")
    if not shapely.box(*extent).intersects(lonlat):
        lon, lat = lonlat.representative_point().coords[0]
        raise OutsideCity(
            f"{name} (near lon {lon:.4f}, lat {lat:.4f}) does not overlap city {city.id!r} "
            f"(extent {', '.join(f'{v:.3f}' for v in extent)}); check the CRS and the x/y order"
        )
    return local


def describe(geom: BaseGeometry | None, city: City) -> dict[str, Any] | None:
    """A validated polygon for the provenance: WKT (cm precision) in the local CRS, area."""
    if geom is None:
        return None
    return {
        "wkt": shapely.to_wkt(geom, rounding_precision=2),
        "crs": city.local_crs,
        "area_m2": float(geom.area),
    }


def fids(values: Any, name: str = "fids") -> list[int] | None:
    """None, or a non-empty list of whole feature ids."""
    if values is None:
        return None
    items = [values] if isinstance(values, (int, np.integer)) else values
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)) or not items:
        raise InvalidParameter(f"{name} must be a feature id or a non-empty list of them")
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise InvalidParameter(f"{name} must hold whole feature ids, got {v!r}")
        out.append(int(v))
    return out
