"""How crowded a drafted layer's tiles would be, and the ``detail_zoom`` drafted from it.

Every feature is counted once, in the WebMercatorQuad tile (EPSG:3857 grid, as the maps
request) that holds the centre of its bounding box; the densest tile's count at each zoom
stands for the layer's heaviest tiles there.
"""

from __future__ import annotations

import math

import numpy as np
import pyproj

DRAFT_ZOOMS = range(10, 17)  # a layer's default min_zoom (10) to the zoom of a street block

# A tile holding more features than this at a zoom leaves out, below ``detail_zoom``, the
# fields the map does not draw. Real Cambridge, densest tiles by bounding-box centre: the
# parcels (18 fields) hold 7,061 at z13, 3,031 at z14, 1,270 at z15, where their hand-written
# definition starts its details (its densest z13 tile: 658 KB gzipped with every field, 236
# KB with the drawn ones); the street lights 1,604 at z14, 485 at z15.
DETAIL_FEATURES = 1_500


# A densest tile holding more features than this at a layer's first zoom is worth a higher
# ``min_zoom`` (drafted as a suggestion: only the staff know whether the layer may go unseen
# there). The 246,900 SYNTHETIC roads: 246,900 in one z10 tile (2.8 MB gzipped, simplified),
# 75,070 at z12, 18,989 at z13.
MIN_ZOOM_FEATURES = 50_000


def present_bounds(bounds: np.ndarray) -> np.ndarray:
    """The rows (minx, miny, maxx, maxy) of geometries that are there: an empty or missing
    one's box is NaN (shapely) or all zeros (GDAL's, read by ``pyogrio.read_bounds``; one
    empty parcel of Cambridge's TopoJSON stretched the city's drafted extent to 0° 0°)."""
    bounds = np.asarray(bounds, dtype=float).reshape(-1, 4)
    return bounds[np.isfinite(bounds).all(axis=1) & (bounds != 0).any(axis=1)]


def densest_tiles(
    bounds: np.ndarray, crs: str, zooms: range = DRAFT_ZOOMS, scale: float = 1.0
) -> dict[int, int]:
    """Zoom -> features in its densest tile, from the features' bounding boxes (``bounds``:
    rows of minx, miny, maxx, maxy in ``crs``'s units; empty geometries' rows are left
    out: ``present_bounds``). ``scale`` multiplies the counts (a sample of 1 row in ``scale``)."""
    bounds = present_bounds(bounds)
    if not len(bounds):
        return {}
    x, y = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    placed = np.isfinite(lon) & np.isfinite(lat)  # off the CRS's area: inf
    if not placed.any():
        return {}
    lon, lat = np.asarray(lon)[placed], np.radians(np.clip(np.asarray(lat)[placed], -85.05, 85.05))
    across = (lon + 180.0) / 360.0  # 0 at the west edge, 1 at the east
    down = (1.0 - np.log(np.tan(lat) + 1.0 / np.cos(lat)) / math.pi) / 2.0  # 0 at the top
    counts = {}
    for z in zooms:
        n = 2**z
        column = np.clip(np.floor(across * n), 0, n - 1).astype(np.int64)
        row = np.clip(np.floor(down * n), 0, n - 1).astype(np.int64)
        _, per_tile = np.unique(column * n + row, return_counts=True)
        counts[z] = round(int(per_tile.max()) * scale)
    return counts


def detail_zoom(counts: dict[int, int]) -> int | None:
    """The first zoom whose densest tile holds at most ``DETAIL_FEATURES`` features (the
    last drafted zoom when none does); None when the layer is that light at its first."""
    if not counts or counts[min(counts)] <= DETAIL_FEATURES:
        return None
    return next((z for z in sorted(counts) if counts[z] <= DETAIL_FEATURES), max(counts))


def suggested_min_zoom(counts: dict[int, int]) -> int | None:
    """The first zoom whose densest tile holds at most ``MIN_ZOOM_FEATURES`` features, when
    the layer's first holds more; else None."""
    if not counts or counts[min(counts)] <= MIN_ZOOM_FEATURES:
        return None
    return next((z for z in sorted(counts) if counts[z] <= MIN_ZOOM_FEATURES), max(counts))
