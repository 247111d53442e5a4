"""The source formats the loader reads, told by a file's suffix, and the formats common in
Chinese surveying it cannot read, with what to export them as."""

from __future__ import annotations

from typing import Literal

SourceFormat = Literal[
    "geojson",
    "topojson",
    "shapefile",
    "gpkg",
    "filegdb",
    "flatgeobuf",
    "kml",
    "mapinfo",
    "gml",
    "dxf",
    "csv",
    "xlsx",
    "ods",
    "geotiff",
    "geoparquet",
    "zip",  # an archive: the format of the data file inside (``catalog.archives``)
]


FORMAT_BY_SUFFIX: dict[str, SourceFormat] = {
    "geojson": "geojson",
    "json": "geojson",
    "topojson": "topojson",
    "shp": "shapefile",
    "gpkg": "gpkg",
    "gdb": "filegdb",  # an Esri File Geodatabase: a folder
    "fgb": "flatgeobuf",
    "kml": "kml",
    "kmz": "kml",  # zipped KML, as Google Earth and 奥维互动地图 save it (GDAL's LIBKML reads it)
    "tab": "mapinfo",
    "mif": "mapinfo",
    "gml": "gml",
    "dxf": "dxf",  # a CAD drawing: its entities, with their CAD layer in "Layer"
    "csv": "csv",
    "tsv": "csv",  # columns separated by tabs (``catalog.delimited_text``)
    "txt": "csv",  # Excel's "Text (Tab delimited)" and "Unicode Text"
    "xlsx": "xlsx",
    "ods": "ods",
    "tif": "geotiff",
    "tiff": "geotiff",
    "parquet": "geoparquet",  # read by pyarrow (``ingest.geoparquet``)
    "geoparquet": "geoparquet",
}


# formats common in Chinese surveying and planning that GDAL (and so this loader) cannot read,
# with what to export them as
UNREADABLE_FORMATS = {
    "dwg": "AutoCAD DWG (CASS drawings): save it as DXF from CAD",
    "wt": "MapGIS points: export them to Shapefile from MapGIS",
    "wl": "MapGIS lines: export them to Shapefile from MapGIS",
    "wp": "MapGIS areas: export them to Shapefile from MapGIS",
    "mdb": "an Esri personal geodatabase: export it to a File Geodatabase or GeoPackage",
    "rar": "a RAR archive: repack it as .zip",
    "7z": "a 7-Zip archive: repack it as .zip",
}


def unreadable_format(path: str) -> str | None:
    """What a file of a known unreadable format is and what to export it as, or None."""
    return UNREADABLE_FORMATS.get(_suffix(path))


def format_of(path: str) -> SourceFormat | None:
    """The format a file's suffix names (None for none we read)."""
    return FORMAT_BY_SUFFIX.get(_suffix(path))


def _suffix(path: str) -> str:
    """A path's suffix, lower case, without its dot (a folder's trailing slash ignored)."""
    return path.lower().rstrip("/\\").rsplit(".", 1)[-1]
