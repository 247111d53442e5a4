"""Drafts of vector sources: files GDAL reads (one per layer with geometry of a GeoPackage or
File Geodatabase), read as the loader will read them, and GeoParquet files (pyarrow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyogrio
import pyproj
import shapely

from digitalcity.catalog.draft.density import densest_tiles, present_bounds
from digitalcity.catalog.draft.drafts import (
    LayerDraft,
    attributes_of,
    crs_hint,
    epsg_or_as_given,
    field_name,
    field_type,
    geometry_type_of,
    lonlat_bounds,
    lonlat_box,
    undeclared_crs,
)
from digitalcity.catalog.ogr_layers import (
    layer_info,
    measures_read_quietly,
    plain_geometry_type,
    spatial_layers,
)
from digitalcity.catalog.prepared import source_file
from digitalcity.catalog.source_encoding import reading_encoding
from digitalcity.crs.chinese import place_in_china
from digitalcity.errors import CatalogError
from digitalcity.ingest.geoparquet import GeoParquet, is_geoparquet

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


def read_vector(path: Path, folder: Path) -> list[LayerDraft]:
    """``read_layers`` of the file as the loader reads it (a shapefile repaired:
    ``catalog.prepared``), and GeoParquet (read by pyarrow)."""
    if is_geoparquet(path):
        return [read_parquet(path, folder)]
    with source_file(path, None) as read:
        drafts = read_layers(read, read.parent)
    for layer in drafts:
        layer.path = str(path.relative_to(folder))
    return drafts


def read_layers(path: Path, folder: Path) -> list[LayerDraft]:
    """One draft per vector layer of ``path`` (tables without geometry are left out); each
    named after the layer when the source holds several."""
    _, names = spatial_layers(path)
    if len(names) <= 1:
        return [read_layer(path, folder, None, field_name(path.stem))]
    return [read_layer(path, folder, name, field_name(name)) for name in names]


def read_layer(path: Path, folder: Path, layer: str | None, layer_id: str) -> LayerDraft:
    info = layer_info(path, layer)
    with measures_read_quietly():
        feature_bounds = pyogrio.read_bounds(path, layer=layer)[1].T
    total = info["total_bounds"]
    if total is None:  # a driver that tells no extent (TopoJSON)
        total = _total_bounds(feature_bounds)
    declared = info["crs"]
    crs = declared or undeclared_crs(tuple(total))
    bounds = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform_bounds(*total)
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
        geometry_type = geometry_type_of(np.asarray(frame.geometry.values, dtype=object))
    kinds = {
        str(c): field_type(str(d)) for c, d in zip(info["fields"], info["dtypes"], strict=True)
    }
    return LayerDraft(
        id=layer_id,
        path=str(path.relative_to(folder)),
        layer=layer,
        encoding=encoding,
        geometry_type=geometry_type,
        crs=crs_hint(path, crs),
        crs_guessed=declared is None,
        bounds_lonlat=lonlat_box(bounds),
        densest_tiles=densest_tiles(feature_bounds, crs),
        **attributes_of(frame, kinds),
    )


def _total_bounds(feature_bounds: np.ndarray) -> tuple[float, float, float, float]:
    """The box of the features' boxes (rows of minx, miny, maxx, maxy); a CatalogError for
    a layer without any geometry."""
    present = present_bounds(feature_bounds)
    if not len(present):
        raise CatalogError("holds no geometry")
    return lonlat_box([*present[:, :2].min(axis=0), *present[:, 2:].max(axis=0)])


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


def read_parquet(path: Path, folder: Path) -> LayerDraft:
    """A draft of a GeoParquet file from its metadata and first ``_DRAFT_ROWS`` rows."""
    source = GeoParquet(path)
    table, geoms, _ = next(source.batches(_DRAFT_ROWS))
    bounds_native = tuple(shapely.total_bounds(geoms))
    crs = undeclared_crs(bounds_native) if source.file_crs is None else source.file_crs
    crs = epsg_or_as_given(crs)
    kinds = {name: _arrow_type(table.schema.field(name).type) for name in source.columns}
    return LayerDraft(
        id=field_name(path.stem),
        path=str(path.relative_to(folder)),
        layer=None,
        encoding=None,
        geometry_type=geometry_type_of(geoms),
        crs=crs_hint(path, crs),
        crs_guessed=source.file_crs is None,
        bounds_lonlat=lonlat_bounds(crs, geoms),
        densest_tiles=densest_tiles(
            shapely.bounds(geoms), crs, scale=source.total / max(len(geoms), 1)
        ),
        **attributes_of(table.to_pandas(), kinds),
    )
