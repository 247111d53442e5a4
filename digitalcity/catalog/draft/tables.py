"""Drafts of tables (CSV and kin, spreadsheets) located by coordinate columns, a column of
coordinate pairs or a WKT column; the CRS and the order of the coordinates are read off them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from digitalcity.catalog.delimited_text import read_delimited
from digitalcity.catalog.draft.density import densest_tiles
from digitalcity.catalog.draft.drafts import (
    LayerDraft,
    attributes_of,
    crs_hint,
    field_name,
    geometry_type_of,
    lonlat_bounds,
    undeclared_crs,
)
from digitalcity.catalog.source_encoding import undeclared_encoding
from digitalcity.crs.chinese import in_china_box, place_in_china
from digitalcity.errors import CatalogError
from digitalcity.ingest.sheets import read_sheet
from digitalcity.ingest.written_forms import coordinate_numbers, numbers_as_typed, split_pairs

# (x, y) column names of tables located by coordinates, compared in lower case; a Chinese
# surveyor's X is the northing, which the coordinates themselves tell (``read_table``)
COORDINATE_NAMES = (
    ("x", "y"),
    ("lon", "lat"),
    ("lng", "lat"),
    ("long", "lat"),
    ("longitude", "latitude"),
    ("经度", "纬度"),
    ("东经", "北纬"),
    ("point_x", "point_y"),
    ("x坐标", "y坐标"),
    ("坐标x", "坐标y"),
    ("easting", "northing"),
)


WKT_NAMES = ("wkt", "wkt_geom", "geometry", "geom", "the_geom", "shape", "几何", "空间信息")


TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".ods"}


SHEET_SUFFIXES = {".xlsx", ".ods"}


# a column of coordinate pairs: a POI export's "location" ("118.089,24.479")
XY_NAMES = ("location", "lnglat", "lonlat", "lng_lat", "lon_lat", "latlng", "经纬度", "坐标", "xy")


_PAIR = r"[+-]?\d+(?:\.\d+)?\s*[,;，\s]\s*[+-]?\d+(?:\.\d+)?"


def _names_places(cells: set[str]) -> bool:
    """Whether a table's row names coordinate columns, a column of coordinate pairs or a
    WKT column (its header, below any title)."""
    lower = {c.lower() for c in cells}
    return (
        any(x in lower and y in lower for x, y in COORDINATE_NAMES)
        or any(n in lower for n in WKT_NAMES)
        or any(n in lower for n in XY_NAMES)
    )


@dataclass
class _Located:
    """How a table's rows are located (``x`` and ``y``, ``xy`` or ``wkt``: columns) and
    the geometries they give, in the order the coordinates were read."""

    geometry: np.ndarray
    x: str | None = None
    y: str | None = None
    xy: str | None = None
    wkt: str | None = None
    first: np.ndarray | None = None  # the coordinates, as read (x and y, or a pair's two)
    second: np.ndarray | None = None

    @property
    def columns(self) -> list[str]:
        return [c for c in (self.x, self.y, self.xy, self.wkt) if c]


def _table_geometry(text: pd.DataFrame) -> _Located:
    """How a table's rows are located (text columns): named coordinate columns, a column of
    coordinate pairs, or a column of WKT; a CatalogError when none."""
    lower = {c.strip().lower(): c for c in text.columns}
    for x_name, y_name in COORDINATE_NAMES:
        if x_name in lower and y_name in lower:
            x, y = lower[x_name], lower[y_name]
            first, second = (coordinate_numbers(text[c]) for c in (x, y))
            if np.isfinite(first).any() and np.isfinite(second).any():
                return _Located(shapely.points(first, second), x=x, y=y, first=first, second=second)
    ordered = [*(lower[n] for n in XY_NAMES if n in lower), *text.columns]
    for column in dict.fromkeys(ordered):
        values = text[column].dropna()
        if len(values) and values.str.fullmatch(_PAIR).all():
            pairs = split_pairs(text[column])
            first, second = coordinate_numbers(pairs[0]), coordinate_numbers(pairs[1])
            return _Located(shapely.points(first, second), xy=column, first=first, second=second)
    named = [lower[n] for n in WKT_NAMES if n in lower]
    for column in [*named, *(c for c in text.columns if c not in named)]:
        values = text[column].dropna()
        if len(values) and values.str.match(r"(?i)\s*(MULTI)?(POINT|LINESTRING|POLYGON)").all():
            cells = text[column].to_numpy(dtype=object, na_value=None)
            return _Located(shapely.from_wkt(cells, on_invalid="ignore"), wkt=column)
    raise CatalogError(
        "no coordinate columns (x and y, lon and lat, 经度 and 纬度 …), coordinate pairs nor "
        "a WKT column: write its layer definition by hand with source.x and source.y, "
        "source.xy or source.wkt"
    )


def _placed(located: _Located) -> tuple[str, bool]:
    """The CRS of a table's coordinates (read off them, as for a file without a ``.prj``)
    and whether they are to be read exchanged: when only that order fits (a Chinese
    surveyor's X is the northing; some services write pairs "latitude,longitude"), or when
    both are longitude/latitude and only that order lies in China. Sets ``geometry`` to the
    order chosen."""
    if located.first is None or located.second is None:
        return undeclared_crs(tuple(shapely.total_bounds(located.geometry))), False
    fits: list[tuple[str, np.ndarray, bool]] = []
    error = None
    for exchanged, (xs, ys) in (
        (False, (located.first, located.second)),
        (True, (located.second, located.first)),
    ):
        points = shapely.points(xs, ys)
        try:
            fits.append((undeclared_crs(tuple(shapely.total_bounds(points))), points, exchanged))
        except CatalogError as exc:
            error = exc
    if not fits:
        assert error is not None
        raise error
    chosen = fits[0]
    for crs, points, exchanged in fits:
        west, south, east, north = shapely.total_bounds(points)
        if crs == "EPSG:4326" and bool(in_china_box((west + east) / 2, (south + north) / 2)):
            chosen = (crs, points, exchanged)
            break
    located.geometry = chosen[1]
    return chosen[0], chosen[2]


def _text_type(values: pd.Series) -> str:
    """ "integer", "float" or "string": what a table's text column holds."""
    present = values.dropna()
    numbers = numbers_as_typed(present)
    if not len(present) or np.isnan(numbers).any():
        return "string"
    return "integer" if (numbers == np.round(numbers)).all() else "float"


def read_table(path: Path, folder: Path) -> LayerDraft:
    """A draft of a table (CSV and kin, spreadsheet) located by coordinate columns (named as
    ``COORDINATE_NAMES`` pairs them) or by a WKT column; a table with neither is a
    CatalogError."""
    if path.suffix.lower() in SHEET_SUFFIXES:
        frame, encoding = read_sheet(path, None, _names_places), None
    else:
        encoding = undeclared_encoding(path, in_china=True)
        frame = read_delimited(path, encoding, fits=_names_places)
    frame.columns = [str(c) for c in frame.columns]
    text = frame.astype("string").apply(lambda c: c.str.strip()).replace("", pd.NA)
    located = _table_geometry(text)
    crs, exchanged = _placed(located)
    geometry = located.geometry
    x, y = (located.y, located.x) if exchanged and located.x else (located.x, located.y)
    bounds = lonlat_bounds(crs, geometry)
    if encoding and encoding != "UTF-16" and not place_in_china(None, bounds):
        encoding = undeclared_encoding(path, in_china=False)
    kinds = {c: _text_type(text[c]) for c in text.columns if c not in located.columns}
    return LayerDraft(
        id=field_name(path.stem),
        path=str(path.relative_to(folder)),
        layer=None,
        encoding=encoding,
        geometry_type=geometry_type_of(geometry),
        crs=crs_hint(path, crs, located.columns),
        crs_guessed=True,
        bounds_lonlat=bounds,
        densest_tiles=densest_tiles(shapely.bounds(geometry), crs),
        x=x,
        y=y,
        wkt=located.wkt,
        xy=located.xy,
        xy_order="yx" if exchanged and located.xy else "xy",
        xy_exchanged=exchanged and bool(located.x),
        **attributes_of(text, kinds),
    )
