"""Geometry checks for a batch: readable, non-empty, in range, valid (repaired), right type.

Input geometries are in the source CRS; output geometries are in the city's storage CRS.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyproj
import shapely

from digitalcity.catalog.model import CityDef, GeometryType
from digitalcity.crs import SourceCRS, coordinates_in_range, transform_geometries
from digitalcity.crs.zones import GK3_ZONES, detect_prefixed_zone, gk3_epsg

# Why a geometry is refused (``GeometryResult.rejected``), in the words a report gives; the
# edit form says them in Chinese by these (``editing.validate.geometry_reason_zh``).
MISSING = "missing or unreadable geometry"
EMPTY = "empty geometry"
OUT_OF_RANGE = "coordinates out of range for the source CRS"
NOT_TRANSFORMED = "coordinates could not be transformed to the storage CRS"
FAR_OUTSIDE = "far outside the extent of "  # + the city id
UNREPAIRABLE = "invalid geometry that could not be repaired"  # + GEOS's reason
DOES_NOT_FIT = " does not fit a "  # <geometry type> ... <layer type> layer
SWAPPED_HINT = " (x and y look swapped"  # added to OUT_OF_RANGE and FAR_OUTSIDE
METRES_HINT = " (they look like metres"  # added to OUT_OF_RANGE

_FAMILY = {
    "Point": ("Point", "MultiPoint"),
    "MultiPoint": ("Point", "MultiPoint"),
    "LineString": ("LineString", "MultiLineString"),
    "MultiLineString": ("LineString", "MultiLineString"),
    "Polygon": ("Polygon", "MultiPolygon"),
    "MultiPolygon": ("Polygon", "MultiPolygon"),
}
_TYPE_IDS = {
    "Point": 0,
    "LineString": 1,
    "Polygon": 3,
    "MultiPoint": 4,
    "MultiLineString": 5,
    "MultiPolygon": 6,
}
_MULTI = {
    "MultiPoint": shapely.multipoints,
    "MultiLineString": shapely.multilinestrings,
    "MultiPolygon": shapely.multipolygons,
}


COLLAPSED_WIDTH_M = 0.1
METRES_PER_DEGREE = 111_320.0
_PARALLEL_REPAIR_COORDS = 20_000  # vertices to repair before threads pay off
# The buffer(0) shortcut only for polygons this small: buffer(0) overlays every ring of a
# polygon at once, and on a large one with many holes it costs more than MakeValid, which
# then runs anyway when the area check fails. Cambridge's 119,275-vertex road surface (1,054
# holes): buffer(0) 0.99-1.03 s, refused, then MakeValid 0.42-0.43 s; its shell with its first
# 100 holes (26,162 vertices): 94 against 34 ms. Below the cap, on every invalid polygon of
# the demo cities (47, the largest 18,606 vertices), buffer(0) took 47 ms against 120 ms.
_SHORTCUT_MAX_COORDS = 20_000
_MAX_REPAIR_THREADS = 4


def _repair(
    geom: shapely.Geometry, made_valid: shapely.Geometry, target: GeometryType, collapse: float
) -> shapely.Geometry | None:
    """Cast ``made_valid`` (``_make_valid(geom)``); a polygon that collapsed to a line (e.g.
    under TopoJSON quantisation) becomes a sliver ``COLLAPSED_WIDTH_M`` wide instead of being
    lost."""
    fixed = _coerce(made_valid, target)
    if fixed is None and _FAMILY[target][0] == "Polygon":
        sliver = shapely.buffer(made_valid, collapse / 2, quad_segs=2)
        fixed = _coerce(sliver, target) if not sliver.is_empty else None
    return fixed


def _structure_valid(geoms: np.ndarray) -> np.ndarray:
    """GEOS MakeValid, "structure" method: outer rings unioned, holes subtracted, each ring
    first made valid; a part that collapsed to a line is kept as a line (see ``_repair``).
    Unlike the "linework" method it never adds lines or points to a polygon, and on
    Cambridge's invalid parcels it takes half the time (0.09 s against 0.19 s) for the same
    areas (within 5e-6)."""
    return np.asarray(shapely.make_valid(geoms, method="structure", keep_collapsed=True))


def _make_valid(geoms: np.ndarray, shortcut: np.ndarray | None = None) -> np.ndarray:
    """``_structure_valid`` of each geometry; ``shortcut``: ``_buffer_fixed(geoms)``
    if already known (the same result where not None, for less)."""
    out = _buffer_fixed(geoms) if shortcut is None else shortcut.copy()
    rest = np.flatnonzero(shapely.is_missing(out))
    if len(rest):
        out[rest] = _make_valid_threaded(geoms[rest])
    return out


def _buffer_fixed(geoms: np.ndarray) -> np.ndarray:
    """Polygons whose fault is a ring touching or crossing itself, fixed by ``buffer(0)`` where
    that loses nothing: kept only when the area equals the ring's signed area (a dropped or
    doubled lobe would change it). On Cambridge's invalid parcels this takes 21 of 39, MakeValid's
    geometry every time (symmetric difference 0), the largest two (17-18k vertices) at 0.02-0.03 s
    instead of 0.05-0.07 s each. None where the shortcut does not apply, and for polygons above
    ``_SHORTCUT_MAX_COORDS`` vertices, where it can cost more than MakeValid."""
    out = np.full(len(geoms), None, dtype=object)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    polygonal &= shapely.get_num_coordinates(geoms) <= _SHORTCUT_MAX_COORDS
    if not polygonal.any():
        return out
    reasons = shapely.is_valid_reason(geoms).astype(str)
    crossing = np.char.startswith(reasons, "Ring Self-intersection") | np.char.startswith(
        reasons, "Self-intersection"
    )
    candidates = np.flatnonzero(polygonal & crossing)
    if not len(candidates):
        return out
    fixed = shapely.buffer(geoms[candidates], 0)
    before, after = shapely.area(geoms[candidates]), shapely.area(fixed)
    same = (
        shapely.is_valid(fixed)
        & ~shapely.is_empty(fixed)
        & (np.abs(after - before) <= 1e-9 * np.maximum(before, 1e-300))
    )
    out[candidates[same]] = fixed[same]
    return out


def _make_valid_threaded(geoms: np.ndarray) -> np.ndarray:
    """``_structure_valid`` of each geometry; a heavy batch is shared among threads (GEOS
    releases the GIL), in chunks of about equal vertex counts. Same results as one call."""
    sizes = shapely.get_num_coordinates(geoms)
    workers = min(os.cpu_count() or 1, _MAX_REPAIR_THREADS, len(geoms))
    if workers < 2 or sizes.sum() < _PARALLEL_REPAIR_COORDS:
        return _structure_valid(geoms)
    chunks: list[list[int]] = [[] for _ in range(workers)]
    loads = np.zeros(workers)
    for i in np.argsort(-sizes, kind="stable"):  # largest first, to the least loaded chunk
        k = int(np.argmin(loads))
        chunks[k].append(int(i))
        loads[k] += sizes[i]
    out = np.empty(len(geoms), dtype=object)
    with ThreadPoolExecutor(workers, thread_name_prefix="make-valid") as pool:
        results = list(pool.map(lambda chunk: _structure_valid(geoms[chunk]), chunks))
    for chunk, made in zip(chunks, results, strict=True):
        out[chunk] = made
    return out


@dataclass
class GeometryResult:
    geometry: np.ndarray  # storage-CRS geometries; None where rejected; in a multi layer, a
    # single geometry stays single (see ``_cast_valid``)
    rejected: dict[int, str]  # batch position -> reason
    repaired: list[int]  # batch positions
    flattened: int = 0  # geometries whose heights (Z) or measures (M) were dropped


def _parts_of_family(geom: shapely.Geometry, family: tuple[str, str]) -> list[shapely.Geometry]:
    parts = shapely.get_parts(geom)
    out: list[shapely.Geometry] = []
    for part in parts:
        kind = part.geom_type
        if kind == "GeometryCollection" or kind.startswith("Multi"):
            out.extend(_parts_of_family(part, family))
        elif kind == family[0] and not part.is_empty:
            out.append(part)
    return out


def _coerce(geom: shapely.Geometry, target: GeometryType) -> shapely.Geometry | None:
    """Cast to the layer's geometry type (single to multi, collections filtered); None if unfit."""
    family = _FAMILY[target]
    if geom.geom_type == target:
        return geom
    parts = _parts_of_family(geom, family)
    if not parts:
        return None
    if target in _MULTI:
        return _MULTI[target](parts)
    return parts[0] if len(parts) == 1 else None


def _outside_city(geoms: np.ndarray, city: CityDef, storage_is_geographic: bool) -> np.ndarray:
    """True where a geometry lies entirely outside the city's extent grown by its own size."""
    if city.bbox is None or not storage_is_geographic:
        return np.zeros(len(geoms), dtype=bool)
    minx, miny, maxx, maxy = city.bbox
    pad_x, pad_y = max(maxx - minx, 0.5), max(maxy - miny, 0.5)
    bounds = shapely.bounds(geoms)
    return (
        (bounds[:, 2] < minx - pad_x)
        | (bounds[:, 0] > maxx + pad_x)
        | (bounds[:, 3] < miny - pad_y)
        | (bounds[:, 1] > maxy + pad_y)
    )


def check_geometries(
    geoms: np.ndarray,
    source: SourceCRS,
    city: CityDef,
    target: GeometryType,
    storage_is_geographic: bool,
    *,
    closed_lines_are_polygons: bool = False,
    known_valid: bool = False,
) -> GeometryResult:
    """Validate, repair, reproject and cast one batch of geometries. With
    ``closed_lines_are_polygons`` (a CAD drawing), closed lines in a polygon layer become the
    polygons they enclose; elsewhere a line in a polygon layer is refused as a data error.
    With ``known_valid`` (a reader's own squares: raster cells) validity is not checked."""
    rejected: dict[int, str] = {}
    geoms = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(geoms)
    for i in np.flatnonzero(missing):
        rejected[int(i)] = MISSING
    empty = ~missing & shapely.is_empty(np.where(missing, shapely.Point(), geoms))
    for i in np.flatnonzero(empty):
        rejected[int(i)] = EMPTY
    usable = ~missing & ~empty
    geoms, flattened = _flattened(geoms, usable)
    in_range = np.zeros(len(geoms), dtype=bool)
    in_range[usable] = coordinates_in_range(geoms[usable], source.crs)
    for i in np.flatnonzero(usable & ~in_range):
        rejected[int(i)] = OUT_OF_RANGE
    usable &= in_range

    out = np.full(len(geoms), None, dtype=object)
    if usable.any():
        moved = transform_geometries(geoms[usable], source, city.storage_crs)
        finite = np.isfinite(shapely.bounds(moved)).all(axis=1)
        out[np.flatnonzero(usable)[finite]] = moved[finite]
        for i in np.flatnonzero(usable)[~finite]:
            rejected[int(i)] = NOT_TRANSFORMED
        usable[np.flatnonzero(usable)[~finite]] = False

    far = np.zeros(len(geoms), dtype=bool)
    far[usable] = _outside_city(out[usable], city, storage_is_geographic)
    for i in np.flatnonzero(far):
        rejected[int(i)] = f"{FAR_OUTSIDE}{city.id}"
        out[i] = None
    usable &= ~far

    _hint_swapped_axes(geoms, rejected, source, city)
    _hint_metres(geoms, rejected, source)
    if closed_lines_are_polygons and _FAMILY[target][0] == "Polygon":
        _closed_lines_as_polygons(out, np.flatnonzero(usable))
    repaired: list[int] = []
    invalid = np.zeros(len(geoms), dtype=bool)
    if not known_valid:  # a reader's own squares (raster cells) need no check: 0.37 s a grid
        invalid[usable] = ~shapely.is_valid(out[usable])
    collapse = COLLAPSED_WIDTH_M / METRES_PER_DEGREE if storage_is_geographic else COLLAPSED_WIDTH_M
    rows = np.flatnonzero(invalid)
    shortcut = _buffer_fixed(out[rows])  # checked valid already
    for i, made_valid, checked in zip(
        rows, _make_valid(out[rows], shortcut), shortcut, strict=True
    ):
        fixed = _repair(out[i], made_valid, target, collapse)
        if fixed is None or fixed.is_empty or (fixed is not checked and not fixed.is_valid):
            rejected[int(i)] = f"{UNREPAIRABLE} ({shapely.is_valid_reason(out[i])})"
            out[i] = None
        else:
            out[i] = fixed
            repaired.append(int(i))
    _cast_valid(out, np.flatnonzero(usable & ~invalid), target, rejected)
    return GeometryResult(out, rejected, repaired, flattened)


def _flattened(geoms: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, int]:
    """``geoms`` with the heights (Z) and measures (M) of the usable ones dropped (a new
    array when any had them), and how many had them: layers are stored 2D. Reprojecting
    does not drop them all: shapely keeps an XYZM geometry XYZM with NaN for Z and M, which
    a 2D column refuses, failing the whole load (a PolylineZM shapefile, as survey and CAD
    exports write)."""
    rows = np.flatnonzero(usable)
    extra = shapely.has_z(geoms[rows]) | shapely.has_m(geoms[rows])
    if not extra.any():
        return geoms, 0
    flat = geoms.copy()
    flat[rows[extra]] = shapely.force_2d(geoms[rows[extra]])
    return flat, int(extra.sum())


_MISPLACED = (OUT_OF_RANGE, FAR_OUTSIDE)
_SWAPPED = SWAPPED_HINT + ": exchanged, it lies in {city})"


def _hint_swapped_axes(
    geoms: np.ndarray, rejected: dict[int, str], source: SourceCRS, city: CityDef
) -> None:
    """In place: the reason of a row refused for its place says so when its x and y look
    exchanged, that is when, exchanged, it lies within the city's extent (latitude in the x
    column: a common slip in coordinate tables)."""
    rows = np.array([i for i, why in rejected.items() if why.startswith(_MISPLACED)], dtype=int)
    if not len(rows) or city.bbox is None:
        return
    swapped = shapely.transform(geoms[rows], lambda xy: xy[:, ::-1])
    plausible = coordinates_in_range(swapped, source.crs)
    if not plausible.any():
        return
    lonlat = transform_geometries(swapped[plausible], source, "EPSG:4326")
    minx, miny, maxx, maxy = city.bbox
    with np.errstate(invalid="ignore"):
        box = shapely.bounds(lonlat)
        inside = (
            (box[:, 0] <= maxx) & (box[:, 2] >= minx) & (box[:, 1] <= maxy) & (box[:, 3] >= miny)
        )
    for i in rows[plausible][inside]:
        rejected[int(i)] += _SWAPPED.format(city=city.id)


def _hint_metres(geoms: np.ndarray, rejected: dict[int, str], source: SourceCRS) -> None:
    """In place: the reason of a row refused as out of range for a longitude/latitude CRS
    says so when its coordinates look like metres (a projected table loaded as degrees), and
    names the Gauss–Krüger zone its eastings carry, if they carry one."""
    if not (source.offset is not None or source.crs.is_geographic):
        return
    rows = np.array([i for i, why in rejected.items() if why == OUT_OF_RANGE], dtype=int)
    if not len(rows):
        return
    coords = shapely.get_coordinates(geoms[rows])
    if not len(coords) or not (np.abs(coords) > 1_000).all():
        return
    try:
        zone = detect_prefixed_zone(coords[:, 0])
    except pyproj.exceptions.CRSError:
        zone = None
    named = ": set source.crs to their projected CRS"
    if zone is not None and zone in GK3_ZONES:
        code = gk3_epsg(zone, prefixed=True)
        named = f'; eastings of Gauss–Krüger zone {zone}: source.crs = "EPSG:{code}"'
    for i in rows:
        rejected[int(i)] += f"{METRES_HINT}, not degrees{named})"


def _closed_lines_as_polygons(out: np.ndarray, rows: np.ndarray) -> None:
    """In place, for a polygon layer read from a CAD drawing: a closed line, or lines all
    closed, become the polygons they enclose (CAD draws a parcel as a closed polyline, and a
    DXF reads it as a line). They are then checked and repaired like any polygon."""
    if not len(rows):
        return
    lines = rows[np.isin(shapely.get_type_id(out[rows]), (1, 5))]  # (multi)line strings
    for i in lines:
        parts = shapely.get_parts(out[i])
        closed = shapely.is_closed(parts) & (shapely.get_num_coordinates(parts) >= 4)
        if len(parts) and closed.all():
            polygons = [shapely.Polygon(part.coords) for part in parts]
            out[i] = polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def _cast_valid(
    out: np.ndarray, rows: np.ndarray, target: GeometryType, rejected: dict[int, str]
) -> None:
    """Cast valid geometries in place to the layer's type; single geometries of a multi
    layer are left single (``copybinary.ewkb(multi=True)`` writes them as one-part multis)."""
    if not len(rows):
        return
    kinds = shapely.get_type_id(out[rows])
    fits = kinds == _TYPE_IDS[target]
    if target in _MULTI:
        fits |= kinds == _TYPE_IDS[_FAMILY[target][0]]
    for i in rows[~fits]:
        cast = _coerce(out[i], target)
        if cast is None:
            rejected[int(i)] = f"{out[i].geom_type}{DOES_NOT_FIT}{target} layer"
        out[i] = cast
