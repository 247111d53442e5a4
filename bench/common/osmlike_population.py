"""A SYNTHETIC population grid for the OSM-like dataset: a GeoTIFF of 25 m cells over its
square, each cell's residents estimated from the floor space of the SYNTHETIC buildings whose
centre falls in it (footprint area x 3 storeys x one resident per 40 m²). Cells without
buildings are 0 (the loader leaves them out, as it does the empty cells of a real grid).
Labelled SYNTHETIC; used by ``bench.raster`` to compare vector cells with PostGIS raster on a
second, differently shaped grid."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.transform import Affine

CELL_M = 25.0
FLOOR_M2_PER_RESIDENT = 40.0 / 3.0  # 3 storeys, 40 m² of floor per resident


def write_population(
    path: Path, buildings: np.ndarray, centre: tuple[float, float], side_m: float
) -> int:
    """Write the grid (Float32, EPSG:4326) for ``buildings`` (lon/lat polygons) over the
    square of ``side_m`` metres around ``centre`` (lon, lat); returns the cells with people."""
    lon0, lat0 = centre
    per_lat = 111_320.0
    per_lon = per_lat * math.cos(math.radians(lat0))
    half_lon, half_lat = side_m / 2 / per_lon, side_m / 2 / per_lat
    cells = int(side_m / CELL_M)
    west, east = lon0 - half_lon, lon0 + half_lon
    south, north = lat0 - half_lat, lat0 + half_lat
    centres = shapely.get_coordinates(shapely.centroid(buildings))
    residents = shapely.area(buildings) * per_lon * per_lat / FLOOR_M2_PER_RESIDENT
    grid, _, _ = np.histogram2d(
        centres[:, 1],
        centres[:, 0],
        bins=cells,
        range=[[south, north], [west, east]],
        weights=residents,
    )
    band = np.flipud(grid).astype(np.float32)  # rows from the north, as a GeoTIFF stores them
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=cells,
        height=cells,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        # north-up cells from the north-west corner (rasterio's from_bounds warns: Affine `*`)
        transform=Affine((east - west) / cells, 0.0, west, 0.0, -(north - south) / cells, north),
        nodata=0.0,
        compress="deflate",
    ) as out:
        out.write(band, 1)
    return int((band > 0).sum())
