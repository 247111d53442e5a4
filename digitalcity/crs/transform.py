"""Resolving a source's CRS and reprojecting geometry arrays, GCJ-02 / BD-09 included.

Coordinates are always handled in always-xy order (x = easting or longitude).
GCJ-02 and BD-09 have no EPSG code: a source in one of them is a ``SourceCRS`` whose
``crs`` is the datum the offset sits on (EPSG:4326 lon/lat degrees) plus an ``offset``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from digitalcity.crs import chinese
from digitalcity.crs.datums import through_wgs84
from digitalcity.crs.zones import GKZone, detect_prefixed_zone, gk3_epsg, gk_zone_of_epsg
from digitalcity.errors import SourceError

__all__ = [
    "WGS84",
    "CRSLike",
    "Offset",
    "SourceCRS",
    "coordinates_in_range",
    "geodesic_area",
    "metric_area",
    "metric_length",
    "parse_crs",
    "resolve_crs",
    "transform_geometries",
]

Offset = Literal["gcj02", "bd09"]
CRSLike = str | int | pyproj.CRS
GeometryArray = NDArray[np.object_]
WGS84 = pyproj.CRS.from_epsg(4326)

_OFFSET_NAMES: dict[str, Offset] = {"gcj02": "gcj02", "bd09": "bd09"}
_GK3_NAME = re.compile(r"^cgcs2000-gk3(?::(\d{2}))?$")
_NO_CRS = "no CRS: the file declares none; set source.crs in the layer definition"


@dataclass(frozen=True)
class SourceCRS:
    """The CRS of source coordinates: a pyproj CRS, plus a Chinese offset if any."""

    crs: pyproj.CRS
    offset: Offset | None = None

    def __str__(self) -> str:
        code = self.crs.to_string()
        return f"{self.offset.upper()} on {code}" if self.offset else code


def _offset_name(text: str) -> Offset | None:
    return _OFFSET_NAMES.get(text.strip().lower().replace("-", "").replace("_", ""))


def _gk3_from_name(text: str, sample_x: ArrayLike | None) -> pyproj.CRS | None:
    """CRS for "CGCS2000-GK3" (zone from prefixed eastings) or "CGCS2000-GK3:<zone>"."""
    match = _GK3_NAME.match(text.strip().lower())
    if match is None:
        return None
    named = int(match.group(1)) if match.group(1) else None
    try:
        detected = detect_prefixed_zone(sample_x) if sample_x is not None else None
    except CRSError as exc:
        raise SourceError(f"CRS {text!r}: {exc}") from exc
    if named is not None and detected is not None and named != detected:
        raise SourceError(f"CRS {text!r} names zone {named} but the eastings carry zone {detected}")
    zone = detected if detected is not None else named
    if zone is None:
        raise SourceError(
            f"CRS {text!r}: the eastings carry no zone prefix; name the zone "
            "(e.g. 'CGCS2000-GK3:39') or give the EPSG code"
        )
    try:
        return pyproj.CRS.from_epsg(gk3_epsg(zone, prefixed=detected is not None))
    except ValueError as exc:
        raise SourceError(f"CRS {text!r}: {exc}") from exc


def parse_crs(
    value: CRSLike | SourceCRS, sample_x: ArrayLike | None = None, *, what: str = "CRS"
) -> SourceCRS:
    """Parse a CRS name, code or object into a ``SourceCRS`` (pseudo names included).

    Raises ``SourceError`` naming ``value`` when it cannot be parsed.
    """
    if isinstance(value, SourceCRS):
        return value
    if isinstance(value, str):
        offset = _offset_name(value)
        if offset is not None:
            return SourceCRS(WGS84, offset)
        gk3 = _gk3_from_name(value, sample_x)
        if gk3 is not None:
            return SourceCRS(gk3)
    try:
        return SourceCRS(pyproj.CRS.from_user_input(value))
    except CRSError as exc:
        raise SourceError(f"{what} {value!r} is not a CRS pyproj understands: {exc}") from exc


def _maybe_gk(source: SourceCRS) -> bool:
    """Whether the CRS could be a CGCS2000 Gauss-Krüger zone: projected on the China 2000
    datum. Checked first because ``to_epsg`` searches the EPSG database (~0.14 s) for a CRS
    without an authority code, such as a shapefile's custom Transverse Mercator."""
    geodetic = source.crs.geodetic_crs
    datum = geodetic.datum if geodetic is not None else None
    return (
        source.offset is None
        and source.crs.is_projected
        and datum is not None
        and datum.name == "China 2000"
    )


def _fix_gk_prefix(source: SourceCRS, sample_x: ArrayLike | None) -> SourceCRS:
    """Swap a CGCS2000 GK EPSG code for its (un)prefixed twin to match the eastings."""
    zone = gk_zone_of_epsg(source.crs.to_epsg()) if _maybe_gk(source) else None
    if zone is None or sample_x is None:
        return source
    xs = np.asarray(sample_x, dtype=np.float64)
    if not np.isfinite(xs).any():
        return source
    try:
        carried = detect_prefixed_zone(xs)
    except CRSError as exc:
        raise SourceError(f"{source.crs.name}: {exc}") from exc
    if carried is not None and carried != zone.zone:
        raise SourceError(
            f"{source.crs.name} is zone {zone.zone} but the eastings carry zone {carried}"
        )
    prefixed = carried is not None
    if prefixed == zone.prefixed:
        return source
    twin = GKZone(zone.width, zone.zone, prefixed=prefixed)
    return SourceCRS(pyproj.CRS.from_epsg(twin.epsg))


def resolve_crs(
    declared: str | None,
    file_crs: str | pyproj.CRS | None,
    sample_x: ArrayLike | None = None,
) -> SourceCRS:
    """The CRS to read a source with: the declared one wins over the file's.

    ``sample_x`` holds some x coordinates (eastings in metres, always-xy) from the
    file; with them, a CGCS2000 Gauss-Krüger EPSG code is switched to its twin with
    or without the zone prefix so that both kinds of eastings load. Raises
    ``SourceError`` when there is no CRS or it cannot be parsed.
    """
    if declared is not None and declared.strip():
        source = parse_crs(declared, sample_x, what="declared CRS")
    elif file_crs is not None and not (isinstance(file_crs, str) and not file_crs.strip()):
        source = parse_crs(file_crs, sample_x, what="the file's CRS")
    else:
        raise SourceError(_NO_CRS)
    return _fix_gk_prefix(source, sample_x)


@lru_cache(maxsize=128)
def _transformer(src_wkt: str, dst_wkt: str) -> pyproj.Transformer:
    """A cached always-xy transformer between two CRS given as WKT (thread-safe in pyproj>=3.1)."""
    return pyproj.Transformer.from_crs(
        pyproj.CRS.from_wkt(src_wkt), pyproj.CRS.from_wkt(dst_wkt), always_xy=True
    )


def _get_transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    """The transformer from ``src`` to ``dst``; ``SourceError`` when PROJ has none (a CRS
    that parses but describes another planet, as a garbled .prj's ellipsoid can)."""
    try:
        return _transformer(src.to_wkt(), dst.to_wkt())
    except pyproj.exceptions.ProjError as exc:
        reason = str(exc).split("(Internal Proj Error: ", 1)[-1].rstrip(")")
        raise SourceError(f"no transformation from {src.name} to {dst.name}: {reason}") from None


XYFunc = Callable[[NDArray[np.float64], NDArray[np.float64]], tuple[ArrayLike, ArrayLike]]


def _xy_function(source: SourceCRS, target: pyproj.CRS) -> XYFunc | None:
    """The (x, y) -> (x, y) function from ``source`` to ``target``; None for a no-op."""
    if source.offset is None:
        if source.crs == target:
            return None
        if through_wgs84(source.crs, target):  # apply its +towgs84 (``datums``)
            to_wgs84 = _get_transformer(source.crs, WGS84).transform
            from_wgs84 = _get_transformer(WGS84, target).transform

            def pivot(
                x: NDArray[np.float64], y: NDArray[np.float64]
            ) -> tuple[ArrayLike, ArrayLike]:
                return from_wgs84(*to_wgs84(x, y))

            return pivot
        transformer = _get_transformer(source.crs, target)
        if transformer.definition.startswith("proj=noop"):
            # PROJ moves nothing (WGS 84 to CGCS2000: a null offset): the geometries stay the
            # objects read, so their WKB is written as read (494,676 WorldPop cells: 0.4 s
            # of rewriting coordinates to the same values, and encoding them again)
            return None
        return transformer.transform

    to_lonlat = None
    if not source.crs.is_geographic:
        to_lonlat = _get_transformer(source.crs, source.crs.geodetic_crs or WGS84).transform
    to_target = None if target == WGS84 else _get_transformer(WGS84, target).transform
    remove_offset = chinese.gcj02_to_wgs84 if source.offset == "gcj02" else chinese.bd09_to_wgs84

    def fn(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[ArrayLike, ArrayLike]:
        if to_lonlat is not None:
            x, y = to_lonlat(x, y)
        lon, lat = remove_offset(np.asarray(x), np.asarray(y))
        return (lon, lat) if to_target is None else to_target(lon, lat)

    return fn


def transform_geometries(geoms: ArrayLike, source: SourceCRS, target: CRSLike) -> GeometryArray:
    """Reproject shapely geometries from ``source`` to ``target`` (always-xy, 2D).

    Offset sources go source CRS -> its lon/lat -> (GCJ-02/BD-09 removed) WGS84 ->
    target. Coordinates a transformation cannot produce come back as inf/nan
    exactly as pyproj gives them; callers must check them (``coordinates_in_range``).
    None entries stay None. Returns a new object array; the input is not modified.
    """
    arr = np.asarray(geoms, dtype=object)
    dst = parse_crs(target, what="target CRS")
    if dst.offset is not None:
        raise ValueError(f"cannot transform to the obfuscated {dst}; use a real CRS")
    fn = _xy_function(source, dst.crs)
    if fn is None:
        return arr.copy()
    return np.asarray(shapely.transform(arr, fn, include_z=False, interleaved=False), dtype=object)


def _projected_bounds(crs: pyproj.CRS) -> tuple[float, float, float, float] | None:
    """The CRS's area of use in its own units, widened by half its span each way."""
    area = crs.area_of_use
    if area is None:
        return None
    try:
        xmin, ymin, xmax, ymax = _get_transformer(WGS84, crs).transform_bounds(
            *area.bounds, densify_pts=21
        )
    except pyproj.exceptions.ProjError:
        return None
    if not np.all(np.isfinite([xmin, ymin, xmax, ymax])):
        return None
    pad_x = 0.5 * (xmax - xmin)
    pad_y = 0.5 * (ymax - ymin)
    return xmin - pad_x, ymin - pad_y, xmax + pad_x, ymax + pad_y


def coordinates_in_range(geoms: ArrayLike, crs: CRSLike | SourceCRS) -> NDArray[np.bool_]:
    """Per geometry, True when every coordinate is finite and plausible in ``crs``.

    Geographic (and GCJ-02/BD-09) CRS: lon within -180..180 and lat within -90..90 degrees.
    Projected CRS: inside the CRS's area of use in its own units, widened by half its
    span on every side; finite-only when the CRS has no area of use. None and empty
    geometries count as in range.
    """
    arr = np.asarray(geoms, dtype=object)
    src = parse_crs(crs)
    coords, index = shapely.get_coordinates(arr.ravel(), return_index=True)
    x, y = coords[:, 0], coords[:, 1]
    ok = np.isfinite(x) & np.isfinite(y)
    if src.offset is not None or src.crs.is_geographic:
        ok &= (np.abs(x) <= 180.0) & (np.abs(y) <= 90.0)
    else:
        bounds = _projected_bounds(src.crs)
        if bounds is not None:
            xmin, ymin, xmax, ymax = bounds
            ok &= (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)
    result = np.ones(arr.size, dtype=bool)
    result[index[~ok]] = False
    return result.reshape(arr.shape)


def _to_metric(geoms: ArrayLike, crs: CRSLike | SourceCRS, local_crs: CRSLike) -> GeometryArray:
    local = pyproj.CRS.from_user_input(local_crs)
    if not local.is_projected or any(
        ax.unit_name not in ("metre", "meter") for ax in local.axis_info[:2]
    ):
        raise ValueError(f"local CRS {local.name!r} is not a projected CRS in metres")
    return transform_geometries(geoms, parse_crs(crs), local)


def metric_area(
    geoms: ArrayLike, crs: CRSLike | SourceCRS, local_crs: CRSLike
) -> NDArray[np.float64]:
    """Planar area in square metres of geometries in ``crs`` after projecting to ``local_crs``."""
    return np.asarray(shapely.area(_to_metric(geoms, crs, local_crs)), dtype=np.float64)


def metric_length(
    geoms: ArrayLike, crs: CRSLike | SourceCRS, local_crs: CRSLike
) -> NDArray[np.float64]:
    """Planar length (perimeter for polygons) in metres after projecting to ``local_crs``."""
    return np.asarray(shapely.length(_to_metric(geoms, crs, local_crs)), dtype=np.float64)


def geodesic_area(geom_lonlat: BaseGeometry) -> float:
    """Geodesic area in square metres on the WGS84 ellipsoid of one lon/lat geometry.

    Polygon rings are oriented first (shell counter-clockwise, holes clockwise) so
    parts never cancel; lines and points give 0.
    """
    geod = pyproj.Geod(ellps="WGS84")
    parts = getattr(geom_lonlat, "geoms", [geom_lonlat])
    total = 0.0
    for part in parts:
        if isinstance(part, shapely.Polygon) and not part.is_empty:
            total += abs(geod.geometry_area_perimeter(orient(part, sign=1.0))[0])
        elif hasattr(part, "geoms"):
            total += geodesic_area(part)
    return total


def epsg_code(crs: CRSLike) -> int:
    """The EPSG code of a CRS given as 'EPSG:n', an int or a pyproj CRS (ValueError if none)."""
    if isinstance(crs, str | int):
        return _epsg_code_cached(crs)
    code = pyproj.CRS.from_user_input(crs).to_epsg()
    if code is None:
        raise ValueError(f"{crs!r} has no EPSG code")
    return int(code)


@lru_cache(maxsize=256)
def _epsg_code_cached(crs: str | int) -> int:
    code = pyproj.CRS.from_user_input(crs).to_epsg()
    if code is None:
        raise ValueError(f"{crs!r} has no EPSG code")
    return int(code)
