"""Drafts of GeoTIFF grids (a population grid), which the loader reads as one square per cell
that holds a value (``ingest.raster``): band 1's cells, their density of tiles and the
quintiles of their values, read as the loader will read them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyproj

from digitalcity.catalog.draft.density import densest_tiles
from digitalcity.catalog.draft.drafts import (
    LayerDraft,
    epsg_or_as_given,
    field_name,
    lonlat_box,
    quantile_breaks,
    undeclared_crs,
)
from digitalcity.catalog.draft.naming import layer_kind, unit_of
from digitalcity.errors import CatalogError
from digitalcity.ingest.raster import VALUE_COLUMN, RasterCells

RASTER_SUFFIXES = {".tif", ".tiff"}  # the grids the loader reads
_CELLS_READ = 4_000_000  # at most about this many cells of a grid are read for its draft


def read_raster(path: Path, folder: Path) -> LayerDraft:
    """A draft of band 1 of ``path``: one float field of the cells' values."""
    grid = RasterCells(path, band=1)
    # every ``stride``-th cell of a large grid: its counts scaled back up (a draft needs the
    # shape of the density, not every cell: 4 million cells' boxes take 128 MB)
    stride = max(1, grid.width * grid.height // _CELLS_READ)
    values, boxes = [], []
    for strip_values, strip_boxes in grid.values_and_boxes(100_000):
        values.append(strip_values[::stride])
        boxes.append(strip_boxes[::stride])
    if not values:
        raise CatalogError("no cell holds a value above 0")
    cells = np.concatenate(boxes)
    total = (*cells[:, :2].min(axis=0), *cells[:, 2:].max(axis=0))
    crs = epsg_or_as_given(grid.file_crs) if grid.file_crs else undeclared_crs(tuple(total))
    to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    draft = LayerDraft(
        id=field_name(path.stem),
        path=str(path.relative_to(folder)),
        layer=None,
        encoding=None,
        crs_guessed=grid.file_crs is None,
        geometry_type="Polygon",
        crs=crs,
        fields=[(VALUE_COLUMN, VALUE_COLUMN, "float")],
        id_field=None,
        id_from_text=False,
        code_columns={},
        bounds_lonlat=lonlat_box(to_lonlat.transform_bounds(*total)),
        densest_tiles=densest_tiles(cells, crs, scale=stride),
        breaks={VALUE_COLUMN: quantile_breaks(pd.Series(np.concatenate(values)))},
        band=1,
        bands=grid.bands,
    )
    if layer_kind(draft) == "population" and unit_of(path.stem, "float") is None:
        # a grid of counts (not of densities, which name themselves): each cell's residents
        draft.fields = [("population", VALUE_COLUMN, "float")]
    return draft
