"""What ``init-city`` reads from a source (``LayerDraft``, ``CityDraft``) and the column
and CRS readings every kind of source shares: field names and types, the id column, code
columns, a CRS read off the coordinates or the file's name, extents in lon/lat (degrees)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely

from digitalcity.catalog.model import RESERVED_COLUMNS
from digitalcity.crs.zones import GK3_ZONES, GK6_ZONES, detect_prefixed_zone, gk3_epsg, gk6_epsg
from digitalcity.errors import CatalogError
from digitalcity.romanise import place_syllables

MAX_CODES = 100  # a text column with at most this many distinct values is a code candidate


_TYPES = {"int": "integer", "uint": "integer", "float": "float", "bool": "boolean"}


@dataclass
class LayerDraft:
    """What was read from one source file."""

    id: str
    path: str
    layer: str | None  # of a source holding several (a GeoPackage, a File Geodatabase)
    encoding: str | None  # guessed for a shapefile that declares none
    crs_guessed: bool  # the file declares none: ``crs`` is read from its coordinates
    geometry_type: str
    crs: str
    fields: list[tuple[str, str, str]]  # (field name, source column, type)
    id_field: str | None
    id_from_text: bool  # ``id_field`` holds text codes
    code_columns: dict[str, dict[str, int]]  # source column -> code -> count
    bounds_lonlat: tuple[float, float, float, float]
    # a table (CSV, spreadsheet): its coordinate columns, or its WKT column
    x: str | None = None
    y: str | None = None
    wkt: str | None = None
    xy_exchanged: bool = False  # the column named as y holds the eastings
    xy: str | None = None  # a column of coordinate pairs
    xy_order: str = "xy"  # "yx": its pairs are "latitude,longitude"
    member: str | None = None  # the data file inside the archive at ``path``
    densest_tiles: dict[int, int] = field(default_factory=dict)  # zoom -> features (density)
    breaks: dict[str, tuple[float, ...]] = field(default_factory=dict)  # numeric column ->
    # its quintiles (``quantile_breaks``)
    band: int | None = None  # a raster grid's band, read as cells (``draft.rasters``)
    bands: int = 0  # how many the raster holds


@dataclass
class CityDraft:
    """Every layer of the folder plus the files skipped, with the reason."""

    layers: list[LayerDraft] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


_HAN_RUN = re.compile(r"[\u3400-\u9fff]+")


def field_name(text: str) -> str:
    """An identifier for a field or layer named ``text``: lower case ASCII words joined by
    underscores, Chinese in pinyin ("学校名称" -> "xuexiaomingcheng", "消防站 2024" ->
    "xiaofangzhan_2024"; before, every Chinese name made "field", "field_2" …)."""
    spelled = _HAN_RUN.sub(lambda run: f" {''.join(place_syllables(run.group()))} ", text)
    name = re.sub(r"[^0-9a-z]+", "_", spelled.lower()).strip("_") or "field"
    name = f"f_{name}" if name[0].isdigit() else name
    return f"{name}_src" if name in RESERVED_COLUMNS else name


def field_type(dtype: str) -> str:
    if dtype.startswith("datetime"):
        return "datetime"
    return next((t for p, t in _TYPES.items() if dtype.startswith(p)), "string")


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, else ``name_2``, ``name_3`` …: the first not in ``taken``, which it joins."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate)
    return candidate


def _whole(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values, errors="coerce")
    return bool(numbers.notna().all() and (numbers == np.round(numbers)).all())


_GCJ02_NAMES = ("gcj02", "gcj-02", "gcj_02")


_BD09_NAMES = ("bd09", "bd-09", "bd_09")


# maps whose services give longitude/latitude offset as GCJ-02 (Amap, Tencent) or BD-09 (Baidu)
_GCJ02_VENDORS = ("高德", "amap", "gaode", "腾讯", "tencent")


_BD09_VENDORS = ("百度", "baidu")


def crs_hint(path: Path, crs: str, columns: Sequence[str] = ()) -> str:
    """``crs``, or the Chinese offset the file's name (or a locating column's) says: GCJ-02
    and BD-09 by name; for longitude/latitude, also by the map service named (a POI export
    from Amap is GCJ-02, from Baidu BD-09)."""
    names = [path.stem.lower(), *(c.lower() for c in columns)]
    said = " ".join(names)
    if any(n in said for n in _GCJ02_NAMES):
        return "GCJ-02"
    if any(n in said for n in _BD09_NAMES):
        return "BD-09"
    if crs == "EPSG:4326" and any(n in said for n in _GCJ02_VENDORS):
        return "GCJ-02"
    if crs == "EPSG:4326" and any(n in said for n in _BD09_VENDORS):
        return "BD-09"
    return crs


def undeclared_crs(bounds: tuple[float, float, float, float]) -> str:
    """The CRS of a file that declares none, from its coordinates (``bounds``, in the file's
    units): longitude/latitude when they fit (EPSG:4326), a CGCS2000 Gauss–Krüger zone when
    its eastings carry the zone number (e.g. 39,500,000 m: zone 39). Any other projected
    coordinates cannot tell their CRS: a CatalogError asking for it."""
    minx, miny, maxx, maxy = bounds
    if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
        return "EPSG:4326"
    try:
        zone = detect_prefixed_zone([minx, maxx])
    except pyproj.exceptions.CRSError:
        zone = None
    if zone is not None and zone in GK3_ZONES:
        return f"EPSG:{gk3_epsg(zone, prefixed=True)}"
    if zone is not None and zone in GK6_ZONES:
        return f"EPSG:{gk6_epsg(zone, prefixed=True)}"
    raise CatalogError(
        f"declares no CRS and its coordinates ({minx:.0f}, {miny:.0f} - {maxx:.0f}, {maxy:.0f}) "
        "are not longitude/latitude nor Gauss–Krüger eastings with their zone: add its .prj, "
        "or write its layer definition by hand with source.crs"
    )


def epsg_or_as_given(crs: str) -> str:
    """``crs`` as ``EPSG:n`` when it has a code, else as given (a WKT)."""
    code = pyproj.CRS.from_user_input(crs).to_epsg()
    return f"EPSG:{code}" if code else crs


def lonlat_box(bounds: Sequence[float]) -> tuple[float, float, float, float]:
    return (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))


def lonlat_bounds(crs: str, geoms: np.ndarray) -> tuple[float, float, float, float]:
    """The lon/lat box of ``geoms`` (coordinates in ``crs``)."""
    to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return lonlat_box(to_lonlat.transform_bounds(*shapely.total_bounds(geoms)))


_WKT_TYPES = {
    0: "Point",
    1: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
}


def geometry_type_of(geoms: np.ndarray) -> str:
    """The layer type of read geometries: the widest of them (multi over single)."""
    types = {shapely.get_type_id(g) for g in geoms if g is not None}
    return _WKT_TYPES.get(max(types, default=0), "Point")


def _significant(value: float, digits: int = 2) -> float:
    """``value`` rounded to ``digits`` significant digits (a legend's round limits)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def quantile_breaks(values: pd.Series, classes: int = 5) -> tuple[float, ...]:
    """Class limits that put about as many features in each of ``classes`` classes
    (quantiles, rounded to two significant digits; equal ones merged); () for a column of
    fewer values than classes."""
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    numbers = numbers[np.isfinite(numbers)]
    if len(numbers) < classes:
        return ()
    limits = np.quantile(numbers, [k / classes for k in range(1, classes)])
    rounded = sorted({_significant(float(x)) for x in limits})
    return tuple(x for x in rounded if numbers.min() < x <= numbers.max())


def attributes_of(frame: pd.DataFrame, kinds: dict[str, str]) -> dict[str, Any]:
    """The draft's ``fields`` (one per column of ``kinds``: column -> field type), its
    ``id_field`` (the first column of distinct whole numbers, else the first of distinct
    text codes whose name says it is one: ``id_from_text``), ``code_columns`` (text
    columns of a few repeated values) and ``breaks`` (numeric columns' quintiles)."""
    fields: list[tuple[str, str, str]] = []
    taken: set[str] = set()
    codes: dict[str, dict[str, int]] = {}
    breaks: dict[str, tuple[float, ...]] = {}
    whole_ids: list[str] = []
    text_ids: list[str] = []
    n = len(frame)
    for column, kind in kinds.items():
        values = frame[column].dropna()
        name = unique_name(field_name(column), taken)  # "Name" and "NAME" both make "name"
        fields.append((name, column, kind))
        unique = values.nunique()
        if unique == n == len(values) > 0:
            if _whole(values):
                whole_ids.append(column)
            elif kind == "string" and _ID_NAME.search(column):  # a code, not a name
                text_ids.append(column)
        if kind in ("integer", "float") and (limits := quantile_breaks(values)):
            breaks[column] = limits
        if kind == "string" and 1 < unique <= MAX_CODES and unique < n:
            counts = values.astype(str).str.strip().value_counts()
            codes[column] = {str(k): int(v) for k, v in counts.items() if k}
    named = [c for c in whole_ids if _ID_NAME.search(c)]
    # whole numbers named as ids, else text codes named so, else any whole numbers
    id_field, from_text = (
        (named[0], False)
        if named
        else (text_ids[0], True)
        if text_ids
        else (whole_ids[0], False)
        if whole_ids
        else (None, False)
    )
    return {
        "fields": fields,
        "id_field": id_field,
        "id_from_text": from_text,
        "code_columns": codes,
        "breaks": breaks,
    }


# a column whose name says it holds identifiers: a parcel's 宗地代码, a building's 编号
_ID_NAME = re.compile(r"(?i)(^|_)(id|no)($|_)|code$|objectid|代码|编码|编号|标识")
