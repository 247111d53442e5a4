"""Exports for desktop GIS: GeoPackage, Shapefile (zipped, UTF-8 or GBK), FlatGeobuf and KML.

The rows come from the same ``ItemsQuery`` as the GeoJSON items (bbox, filter, properties,
crs, sortby, the caller's field access), read through a server-side cursor ``CHUNK_ROWS`` at a
time and appended to a file on disk with pyogrio (GDAL), so memory stays flat whatever the
layer's size. Geometries are in the query's output CRS (KML: GDAL writes WGS84 lon/lat).
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digitalcity.catalog.model import FieldDef
from digitalcity.errors import DigitalCityError
from digitalcity.query.items import ItemsQuery

CHUNK_ROWS = 5_000  # rows per append: ~10-20 MB of Python objects for wide parcels
ENCODINGS = ("UTF-8", "GBK")


@dataclass(frozen=True)
class ExportFormat:
    """One export format: GDAL driver, file suffix and media type of the download."""

    driver: str
    suffix: str
    media_type: str


FORMATS: dict[str, ExportFormat] = {
    "gpkg": ExportFormat("GPKG", ".gpkg", "application/geopackage+sqlite3"),
    "shp": ExportFormat("ESRI Shapefile", ".zip", "application/x-shapefile+zip"),
    "fgb": ExportFormat("FlatGeobuf", ".fgb", "application/flatgeobuf"),
    "kml": ExportFormat("KML", ".kml", "application/vnd.google-earth.kml+xml"),
}


class ExportError(DigitalCityError):
    title = "Invalid export"


def _frame(
    rows: list[sa.Row], fields: list[FieldDef], crs: str, shapefile: bool
) -> gpd.GeoDataFrame:
    """A chunk of rows (fid, wkb, fields...) as a GeoDataFrame with stable column types, so
    every appended chunk matches the columns the first one created."""
    # "feature_id", not "fid": GeoPackage would take "fid" as its own key and refuse appends
    data: dict[str, object] = {"feature_id": pd.array([r[0] for r in rows], dtype="Int64")}
    for i, f in enumerate(fields, start=2):
        values = [r[i] for r in rows]
        if f.type == "integer":
            data[f.name] = pd.array(values, dtype="Int64")
        elif f.type == "float":
            data[f.name] = pd.array(values, dtype="Float64").astype("float64")
        elif f.type == "boolean":
            data[f.name] = pd.array(values, dtype="boolean")
        elif f.type in ("date", "datetime") and shapefile:  # dBase has no timestamps
            data[f.name] = pd.array(
                [None if v is None else v.isoformat() for v in values], dtype=object
            )
        elif f.type == "datetime":
            data[f.name] = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
        elif f.type == "date":
            data[f.name] = pd.to_datetime(pd.Series(values, dtype=object))
        else:
            data[f.name] = pd.array(values, dtype=object)
    geometry = shapely.from_wkb([r[1] for r in rows])
    return gpd.GeoDataFrame(data, geometry=geometry, crs=crs)


def export_items(
    engine: Engine,
    query: ItemsQuery,
    fmt: str,
    out: Path,
    *,
    layer_name: str,
    encoding: str = "UTF-8",
) -> int:
    """Write the rows of ``query`` to ``out`` in ``fmt`` (a key of ``FORMATS``); rows written.

    A shapefile is written to a folder beside ``out`` and zipped into ``out`` with its ``.cpg``
    naming ``encoding`` (UTF-8 or GBK). Field names longer than 10 characters are shortened
    by GDAL for shapefiles (the ``.dbf`` limit)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    if encoding.upper() not in ENCODINGS:
        raise ExportError(f"encoding must be one of {', '.join(ENCODINGS)}, not {encoding!r}")
    spec = FORMATS[fmt]
    shapefile = fmt == "shp"
    work = Path(tempfile.mkdtemp(prefix="digitalcity-export-", dir=out.parent))
    target = work / (f"{layer_name}.shp" if shapefile else f"{layer_name}{spec.suffix}")
    fields = query.output_fields()
    options = {"encoding": encoding.upper()} if shapefile else {}
    written = 0
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(
                query.export_select()
            )
            for chunk in result.partitions(CHUNK_ROWS):
                frame = _frame(list(chunk), fields, f"EPSG:{query.crs.srid}", shapefile)
                pyogrio.write_dataframe(
                    frame,
                    target,
                    layer=layer_name,
                    driver=spec.driver,
                    append=written > 0,
                    **options,
                )
                written += len(frame)
        if written == 0:  # an empty file with the layer's columns
            empty = _frame([], fields, f"EPSG:{query.crs.srid}", shapefile)
            pyogrio.write_dataframe(empty, target, layer=layer_name, driver=spec.driver, **options)
        if shapefile:
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
                for part in sorted(work.iterdir()):
                    archive.write(part, part.name)
        else:
            shutil.move(target, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return written
