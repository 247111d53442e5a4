"""Draft a city's definitions from a folder of source files (``digitalcity init-city``).

Reads each vector file's (and File Geodatabase folder's) header and values with pyogrio, as the
loader will read them (the text encoding and CRS a file does not declare are guessed, and the
guess written down), and writes ``city.toml``, one layer TOML per file or per layer with
geometry of a GeoPackage or geodatabase, and a code-table stub CSV per candidate code column.
Rasters and files that cannot be drafted are skipped with a note in ``city.toml``. The user
then edits titles, kinds and roles.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pyproj
import shapely

from digitalcity.catalog.archives import Unpacked, is_archive
from digitalcity.catalog.codes import CODE_COLUMNS
from digitalcity.catalog.delimited_text import read_delimited
from digitalcity.catalog.model import RESERVED_COLUMNS, unreadable_format
from digitalcity.catalog.ogr_layers import (
    layer_info,
    measures_read_quietly,
    plain_geometry_type,
    spatial_layers,
)
from digitalcity.catalog.prepared import source_file
from digitalcity.catalog.source_encoding import reading_encoding, undeclared_encoding
from digitalcity.crs.chinese import in_china_box, place_in_china
from digitalcity.crs.datums import unknown_datum_shift
from digitalcity.crs.zones import (
    GK3_ZONES,
    GK6_ZONES,
    detect_prefixed_zone,
    gk3_epsg,
    gk6_epsg,
    local_gk_crs_for,
)
from digitalcity.errors import CatalogError
from digitalcity.ingest.geoparquet import GeoParquet, is_geoparquet
from digitalcity.ingest.sheets import read_sheet
from digitalcity.ingest.written_forms import coordinate_numbers, numbers_as_typed, split_pairs

VECTOR_SUFFIXES = {
    ".parquet",
    ".geoparquet",
    ".shp",
    ".geojson",
    ".json",
    ".gpkg",
    ".topojson",
    ".fgb",
    ".kml",
    ".kmz",
    ".tab",
    ".mif",
    ".gml",
    ".dxf",
}
VECTOR_FOLDER_SUFFIXES = {".gdb"}  # an Esri File Geodatabase is a folder
RASTER_SUFFIXES = {".tif", ".tiff", ".img", ".nc", ".vrt"}
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


@dataclass
class CityDraft:
    """Every layer of the folder plus the files skipped, with the reason."""

    layers: list[LayerDraft] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _name(text: str) -> str:
    name = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_") or "field"
    name = f"f_{name}" if name[0].isdigit() else name
    return f"{name}_src" if name in RESERVED_COLUMNS else name


def _field_type(dtype: str) -> str:
    if dtype.startswith("datetime"):
        return "datetime"
    return next((t for p, t in _TYPES.items() if dtype.startswith(p)), "string")


def _unique(name: str, taken: set[str]) -> str:
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


def _crs_hint(path: Path, crs: str, columns: Sequence[str] = ()) -> str:
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


def _read_layers(path: Path, folder: Path) -> list[LayerDraft]:
    """One draft per vector layer of ``path`` (tables without geometry are left out); each
    named after the layer when the source holds several."""
    _, names = spatial_layers(path)
    if len(names) <= 1:
        return [_read_layer(path, folder, None, _name(path.stem))]
    return [_read_layer(path, folder, name, _name(name)) for name in names]


_DRAFT_ROWS = 100_000  # rows of a GeoParquet file read to draft its fields and extent


def _arrow_type(kind: pa.DataType) -> str:
    if pa.types.is_integer(kind):
        return "integer"
    if pa.types.is_floating(kind):
        return "float"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_timestamp(kind):
        return "datetime"
    if pa.types.is_date(kind):
        return "date"
    return "string"


def _read_parquet(path: Path, folder: Path) -> LayerDraft:
    """A draft of a GeoParquet file from its metadata and first ``_DRAFT_ROWS`` rows."""
    source = GeoParquet(path)
    table, geoms, _ = next(source.batches(_DRAFT_ROWS))
    bounds_native = tuple(shapely.total_bounds(geoms))
    crs = _undeclared_crs(bounds_native) if source.file_crs is None else source.file_crs
    code = pyproj.CRS.from_user_input(crs).to_epsg()
    crs = f"EPSG:{code}" if code else crs
    kinds = {name: _arrow_type(table.schema.field(name).type) for name in source.columns}
    return LayerDraft(
        id=_name(path.stem),
        path=str(path.relative_to(folder)),
        layer=None,
        encoding=None,
        geometry_type=_geometry_type(geoms),
        crs=_crs_hint(path, crs),
        crs_guessed=source.file_crs is None,
        bounds_lonlat=_lonlat_bounds(crs, geoms),
        **_attributes(table.to_pandas(), kinds),
    )


def _read_vector(path: Path, folder: Path) -> list[LayerDraft]:
    """``_read_layers`` of the file as the loader reads it (a shapefile repaired:
    ``catalog.prepared``), and GeoParquet (read by pyarrow)."""
    if is_geoparquet(path):
        return [_read_parquet(path, folder)]
    with source_file(path, None) as read:
        drafts = _read_layers(read, read.parent)
    for layer in drafts:
        layer.path = str(path.relative_to(folder))
    return drafts


def _undeclared_crs(bounds: tuple[float, float, float, float]) -> str:
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


def _read_layer(path: Path, folder: Path, layer: str | None, layer_id: str) -> LayerDraft:
    info = layer_info(path, layer)
    declared = info["crs"]
    crs = declared or _undeclared_crs(tuple(info["total_bounds"]))
    bounds = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform_bounds(
        *info["total_bounds"]
    )
    in_china = place_in_china(None, bounds)
    # as the loader will read it (a shapefile without .cpg: its text's encoding guessed)
    shapefile = "shapefile" if path.suffix.lower() == ".shp" else ""
    encoding = reading_encoding(None, path, shapefile, in_china=in_china)
    if encoding:
        info = layer_info(path, layer, encoding)
    geometry_type = plain_geometry_type(str(info["geometry_type"]))
    unnamed = geometry_type == "Unknown"  # KML, a GeoJSON of mixed types: GDAL names none
    with measures_read_quietly():
        frame = pyogrio.read_dataframe(path, layer=layer, read_geometry=unnamed, encoding=encoding)
    if unnamed:
        geometry_type = _geometry_type(np.asarray(frame.geometry.values, dtype=object))
    kinds = {
        str(c): _field_type(str(d)) for c, d in zip(info["fields"], info["dtypes"], strict=True)
    }
    return LayerDraft(
        id=layer_id,
        path=str(path.relative_to(folder)),
        layer=layer,
        encoding=encoding,
        geometry_type=geometry_type,
        crs=_crs_hint(path, crs),
        crs_guessed=declared is None,
        bounds_lonlat=_lonlat(bounds),
        **_attributes(frame, kinds),
    )


def _lonlat(bounds: Sequence[float]) -> tuple[float, float, float, float]:
    return (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))


def _lonlat_bounds(crs: str, geoms: np.ndarray) -> tuple[float, float, float, float]:
    """The lon/lat box of ``geoms`` (coordinates in ``crs``)."""
    to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return _lonlat(to_lonlat.transform_bounds(*shapely.total_bounds(geoms)))


def _geometry_type(geoms: np.ndarray) -> str:
    """The layer type of read geometries: the widest of them (multi over single)."""
    types = {shapely.get_type_id(g) for g in geoms if g is not None}
    return _WKT_TYPES.get(max(types, default=0), "Point")


def _attributes(frame: pd.DataFrame, kinds: dict[str, str]) -> dict[str, Any]:
    """The draft's ``fields`` (one per column of ``kinds``: column -> field type), its
    ``id_field`` (the first column of distinct whole numbers, else the first of distinct
    text codes whose name says it is one: ``id_from_text``) and ``code_columns`` (text
    columns of a few repeated values)."""
    fields: list[tuple[str, str, str]] = []
    taken: set[str] = set()
    codes: dict[str, dict[str, int]] = {}
    whole_ids: list[str] = []
    text_ids: list[str] = []
    n = len(frame)
    for column, kind in kinds.items():
        values = frame[column].dropna()
        name = _unique(_name(column), taken)  # "名称" and "人口" both make "field"
        fields.append((name, column, kind))
        unique = values.nunique()
        if unique == n == len(values) > 0:
            if _whole(values):
                whole_ids.append(column)
            elif kind == "string" and _ID_NAME.search(column):  # a code, not a name
                text_ids.append(column)
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
    }


# a column whose name says it holds identifiers: a parcel's 宗地代码, a building's 编号
_ID_NAME = re.compile(r"(?i)(^|_)(id|no)($|_)|code$|objectid|代码|编码|编号|标识")


# (x, y) column names of tables located by coordinates, compared in lower case; a Chinese
# surveyor's X is the northing, which the coordinates themselves tell (``_read_table``)
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
_WKT_TYPES = {
    0: "Point",
    1: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
}
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
        return _undeclared_crs(tuple(shapely.total_bounds(located.geometry))), False
    fits: list[tuple[str, np.ndarray, bool]] = []
    error = None
    for exchanged, (xs, ys) in (
        (False, (located.first, located.second)),
        (True, (located.second, located.first)),
    ):
        points = shapely.points(xs, ys)
        try:
            fits.append((_undeclared_crs(tuple(shapely.total_bounds(points))), points, exchanged))
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


def _read_table(path: Path, folder: Path) -> LayerDraft:
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
    bounds = _lonlat_bounds(crs, geometry)
    if encoding and encoding != "UTF-16" and not place_in_china(None, bounds):
        encoding = undeclared_encoding(path, in_china=False)
    kinds = {c: _text_type(text[c]) for c in text.columns if c not in located.columns}
    return LayerDraft(
        id=_name(path.stem),
        path=str(path.relative_to(folder)),
        layer=None,
        encoding=encoding,
        geometry_type=_geometry_type(geometry),
        crs=_crs_hint(path, crs, located.columns),
        crs_guessed=True,
        bounds_lonlat=bounds,
        x=x,
        y=y,
        wkt=located.wkt,
        xy=located.xy,
        xy_order="yx" if exchanged and located.xy else "xy",
        xy_exchanged=exchanged and bool(located.x),
        **_attributes(text, kinds),
    )


def read_folder(folder: Path) -> CityDraft:
    """Read every file directly in ``folder``; vector files become layer drafts."""
    if not folder.is_dir():
        raise CatalogError(f"{folder} is not a folder")
    draft = CityDraft()
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if path.is_file() and suffix in RASTER_SUFFIXES:
            draft.skipped.append(f"{path.name}: raster, not drafted (vector layers only for now)")
        elif path.is_file() and (advice := unreadable_format(path.name)):
            draft.skipped.append(f"{path.name}: cannot be read: {advice}")
        elif (path.is_file() and suffix in VECTOR_SUFFIXES) or (
            path.is_dir() and suffix in VECTOR_FOLDER_SUFFIXES
        ):
            try:
                draft.layers += _read_vector(path, folder)
            except Exception as exc:  # noqa: BLE001 - an unreadable file is noted, not fatal
                draft.skipped.append(f"{path.name}: unreadable: {exc}")
        elif path.is_file() and suffix in TABLE_SUFFIXES:
            try:
                draft.layers.append(_read_table(path, folder))
            except Exception as exc:  # noqa: BLE001 - a table without places is noted
                draft.skipped.append(f"{path.name}: not drafted: {exc}")
        elif path.is_file() and is_archive(path):
            try:
                _read_archive(path, folder, draft)
            except Exception as exc:  # noqa: BLE001 - an unreadable archive is noted
                draft.skipped.append(f"{path.name}: unreadable: {exc}")
    draft.layers = [layer for layer in draft.layers if _on_earth(layer, draft)]
    if not draft.layers:
        raise CatalogError(f"{folder}: no vector files to draft layers from")
    ids: set[str] = set()
    for layer in draft.layers:  # "roads.shp" and a GeoPackage layer "roads": roads, roads_2
        layer.id = _unique(layer.id, ids)
    return draft


def _on_earth(layer: LayerDraft, draft: CityDraft) -> bool:
    """Whether ``layer``'s extent is longitude/latitude on the Earth; if not (a wrong CRS,
    damaged coordinates), it is noted among the skipped files: the city's extent and local
    CRS are drafted from the others."""
    west, south, east, north = layer.bounds_lonlat
    if -180 <= west <= east <= 180 and -90 <= south <= north <= 90:
        return True
    draft.skipped.append(
        f"{layer.path}: not drafted: its extent in longitude/latitude ({west:.6g}, {south:.6g}, "
        f"{east:.6g}, {north:.6g}) is off the Earth: a wrong CRS, or damaged coordinates"
    )
    return False


def _read_archive(archive: Path, folder: Path, draft: CityDraft) -> None:
    """Drafts of the data files in a ``.zip`` archive (unpacked for the time of reading),
    each naming its file in ``source.member``; tables without places are noted."""
    unpacked = Unpacked(archive)
    try:
        for path in unpacked.data_files():
            suffix, member = path.suffix.lower(), path.relative_to(unpacked.folder).as_posix()
            try:
                found = (
                    [_read_table(path, unpacked.folder)]
                    if suffix in TABLE_SUFFIXES
                    else _read_vector(path, unpacked.folder)
                )
            except Exception as exc:  # noqa: BLE001 - as for a file outside an archive
                draft.skipped.append(f"{archive.name} ({member}): not drafted: {exc}")
                continue
            for layer in found:
                layer.path, layer.member = str(archive.relative_to(folder)), member
            draft.layers += found
    finally:
        unpacked.close()


def suggest_local_crs(lon: float, lat: float) -> str:
    """A projected metric CRS for a place (degrees): CGCS2000 3-degree Gauss–Krüger zone in
    China, else the WGS 84 UTM zone; checked to be projected."""
    if bool(np.asarray(in_china_box(lon, lat)).item()):
        code = local_gk_crs_for(lon)
    else:
        code = (32600 if lat >= 0 else 32700) + int((lon + 180) // 6) + 1
    crs = f"EPSG:{code}"
    if not pyproj.CRS.from_user_input(crs).is_projected:
        raise CatalogError(f"suggested local CRS {crs} is not projected")
    return crs


def _s(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _layer_toml(layer: LayerDraft, city_id: str, storage: str) -> str:
    shift = _datum_note(layer, storage)
    lines = [
        f"# Drafted by `digitalcity init-city` from {layer.path}: edit titles, kind, access.",
        f"id = {_s(layer.id)}",
        f"title = {{ zh = {_s(layer.id)}, en = {_s(layer.id)} }}",
        'kind = "boundary"  # landuse | planning | infrastructure | population | boundary | basemap',
        f"geometry_type = {_s(layer.geometry_type)}",
        "",
        "[source]",
        f"path = {_s(layer.path)}",
        *([f"member = {_s(layer.member)}"] if layer.member else []),
        *([f"# {shift}"] if shift else []),
        f"crs = {_s(layer.crs)}"
        + (
            "  # guessed from the coordinates: the file declares no CRS"
            if layer.crs_guessed
            else ""
        ),
    ]
    if layer.layer is not None:
        lines.append(f"layer = {_s(layer.layer)}")
    if layer.x and layer.y:
        exchanged = "  # the eastings, as the coordinates tell" if layer.xy_exchanged else ""
        lines += [f"x = {_s(layer.x)}{exchanged}", f"y = {_s(layer.y)}"]
    if layer.wkt:
        lines.append(f"wkt = {_s(layer.wkt)}")
    if layer.xy:
        lines.append(f"xy = {_s(layer.xy)}")
        if layer.xy_order == "yx":
            lines.append('xy_order = "yx"  # latitude first, as the coordinates tell')
    if layer.encoding is not None:
        lines.append(f"encoding = {_s(layer.encoding)}  # guessed from the text")
    if layer.id_field:
        lines.append(f"id_field = {_s(layer.id_field)}")
    if layer.id_from_text:
        lines.append("id_from_text = true  # text codes: the ids are derived from them")
    for column in layer.code_columns:
        system = f"{city_id}_{layer.id}_{_name(column)}"
        lines += [
            "",
            f"# candidate code column {column!r}: stub table codes/{system}.csv; to classify:",
            f"# [classification]\n# field = {_s(_name(column))}\n# system = {_s(system)}",
        ]
    for name, column, kind in layer.fields:
        lines += [
            "",
            "[[fields]]",
            f"name = {_s(name)}",
            f"type = {_s(kind)}",
            f"source = {_s(column)}",
            f"title = {{ zh = {_s(column)}, en = {_s(column)} }}",
            '# unit = "m"  # see catalog/units.py for the known units',
        ]
    return "\n".join(lines) + "\n"


def _extent(draft: CityDraft) -> tuple[float, float, float, float]:
    """The lon/lat box of every drafted layer."""
    return (
        min(x.bounds_lonlat[0] for x in draft.layers),
        min(x.bounds_lonlat[1] for x in draft.layers),
        max(x.bounds_lonlat[2] for x in draft.layers),
        max(x.bounds_lonlat[3] for x in draft.layers),
    )


def _storage_crs(draft: CityDraft) -> str:
    """CGCS2000 for a city in China, WGS 84 elsewhere (lon/lat)."""
    west, south, east, north = _extent(draft)
    china = bool(np.asarray(in_china_box((west + east) / 2, (south + north) / 2)).item())
    return "EPSG:4490" if china else "EPSG:4326"


def _datum_note(layer: LayerDraft, storage: str) -> str | None:
    """The load's warning, drafted ahead, when PROJ knows no transformation from the layer's
    datum to the storage CRS's (Beijing 1954, Xian 1980)."""
    if layer.crs in ("GCJ-02", "BD-09"):
        return None
    try:
        source = pyproj.CRS.from_user_input(layer.crs)
    except pyproj.exceptions.CRSError:
        return None
    return unknown_datum_shift(source, pyproj.CRS.from_user_input(storage), layer.bounds_lonlat)


def _city_toml(city_id: str, draft: CityDraft, folder: Path) -> str:
    west, south, east, north = _extent(draft)
    lon, lat = (west + east) / 2, (south + north) / 2
    margin = 0.05
    lines = [
        "# Drafted by `digitalcity init-city`: edit the titles and [roles], then check-layers.",
        *(f"# skipped {note}" for note in draft.skipped),
        f"title = {{ zh = {_s(city_id)}, en = {_s(city_id)} }}",
        f"storage_crs = {_s(_storage_crs(draft))}",
        f'local_crs = "{suggest_local_crs(lon, lat)}"  # suggested from the data\'s location',
        f"source_dir = {_s(str(folder.resolve()))}",
        f"center = [{lon:.4f}, {lat:.4f}]",
        f"bbox = [{west - margin:.4f}, {south - margin:.4f}, {east + margin:.4f}, "
        f"{north + margin:.4f}]",
        "",
        "[roles]  # see README 'Roles': which layer plays which part in analyses",
    ]
    return "\n".join(lines) + "\n"


def _code_stub(path: Path, counts: dict[str, int]) -> None:
    """A code table with every distinct value as a level-1 code named after itself."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CODE_COLUMNS)
        for code in sorted(counts):
            writer.writerow([code, "1", "", code, code, "", ""])


def write_draft(city_id: str, folder: Path, layers_dir: Path) -> list[Path]:
    """Write the drafted definitions to ``layers_dir/<city_id>/``; returns the files written.

    Refuses to overwrite an existing city folder.
    """
    target = layers_dir / city_id
    if target.exists():
        raise CatalogError(f"{target} already exists; remove it or pick another city id")
    draft = read_folder(folder)
    target.mkdir(parents=True)
    written = [target / "city.toml"]
    written[0].write_text(_city_toml(city_id, draft, folder), encoding="utf-8")
    for layer in draft.layers:
        path = target / f"{layer.id}.toml"
        path.write_text(_layer_toml(layer, city_id, _storage_crs(draft)), encoding="utf-8")
        written.append(path)
        for column, counts in layer.code_columns.items():
            stub = target / "codes" / f"{city_id}_{layer.id}_{_name(column)}.csv"
            _code_stub(stub, counts)
            written.append(stub)
    return written
