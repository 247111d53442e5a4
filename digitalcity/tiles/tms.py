"""Tile matrix sets (morecantile) and tile arithmetic for the tiles we serve.

Only ``WebMercatorQuad`` (EPSG:3857) is offered: the MVT SQL builds tile envelopes with
PostGIS ``ST_TileEnvelope``, which is defined on that grid.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import morecantile

from digitalcity.errors import NotFound

TMS_ID = "WebMercatorQuad"
OFFERED = (TMS_ID,)
EXTENT = 4096
BUFFER = 64
MARGIN = BUFFER / EXTENT  # ST_TileEnvelope margin matching the ST_AsMVTGeom buffer
EARTH_CIRCUMFERENCE = 2 * math.pi * 6378137.0  # metres along the equator, EPSG:3857
SCREEN_TILE_PX = 256


@dataclass(frozen=True, order=True)
class TileIndex:
    """One tile of WebMercatorQuad: zoom ``z``, column ``x``, row ``y`` (XYZ, origin top left)."""

    z: int
    x: int
    y: int

    def __str__(self) -> str:
        return f"{self.z}/{self.x}/{self.y}"


@cache
def tile_matrix_set(tms_id: str) -> morecantile.TileMatrixSet:
    """The offered tile matrix set ``tms_id``; ``NotFound`` for any other."""
    if tms_id not in OFFERED:
        raise NotFound(f"unknown tile matrix set {tms_id[:60]!r}; offered: {', '.join(OFFERED)}")
    return morecantile.tms.get(tms_id)


def tms_document(tms_id: str) -> dict[str, Any]:
    """The OGC TileMatrixSet 2.0 JSON of ``tms_id``, with the 1.0 members beside it
    (``identifier``, ``supportedCRS``, ``boundingBox``, per matrix ``identifier`` and
    ``topLeftCorner``), which GDAL ≤ 3.7's OGCAPI driver needs to read it."""
    tms = tile_matrix_set(tms_id)
    doc = tms.model_dump(mode="json", exclude_none=True)
    left, bottom, right, top = tms.xy_bbox
    doc["identifier"] = doc["id"]
    doc["supportedCRS"] = doc["crs"]
    doc["boundingBox"] = {
        "type": "BoundingBoxType",
        "crs": doc["crs"],
        "lowerCorner": [left, bottom],
        "upperCorner": [right, top],
    }
    for matrix in doc["tileMatrices"]:
        matrix["identifier"] = matrix["id"]
        matrix["topLeftCorner"] = matrix["pointOfOrigin"]
    # GDAL 3.6 recognises a TMS document only by its 1.0 markers: the type and "tileMatrix"
    doc["type"] = "TileMatrixSetType"
    doc["tileMatrix"] = doc["tileMatrices"]
    return doc


def max_zoom() -> int:
    return int(tile_matrix_set(TMS_ID).maxzoom)


def check_tile(z: int, x: int, y: int) -> TileIndex:
    """The tile, or ``NotFound`` when it lies outside the tile matrix set."""
    if not 0 <= z <= max_zoom():
        raise NotFound(f"zoom {z} is outside {TMS_ID} (0-{max_zoom()})")
    size = 1 << z
    if not (0 <= x < size and 0 <= y < size):
        raise NotFound(f"tile {z}/{x}/{y} is outside {TMS_ID}: x and y must be in 0-{size - 1}")
    return TileIndex(z, x, y)


def pixel_size(z: int) -> float:
    """Size of one screen pixel (256-px tiles) at zoom ``z``, in EPSG:3857 units."""
    return EARTH_CIRCUMFERENCE / (SCREEN_TILE_PX * (1 << z))


def mercator_scale(tile: TileIndex) -> float:
    """EPSG:3857 units per ground metre at the tile's centre latitude (1 / cos φ)."""
    n = math.pi - 2 * math.pi * (tile.y + 0.5) / (1 << tile.z)
    lat = math.atan(math.sinh(n))
    return 1.0 / max(math.cos(lat), 1e-6)


def tiles_for_bounds(
    bounds: tuple[float, float, float, float], zooms: range
) -> Iterator[TileIndex]:
    """Every tile at ``zooms`` intersecting lon/lat ``bounds`` (west, south, east, north)."""
    tms = tile_matrix_set(TMS_ID)
    for t in tms.tiles(*bounds, list(zooms)):
        yield TileIndex(t.z, t.x, t.y)


def tile_box_3857(tile: TileIndex) -> tuple[float, float, float, float]:
    """EPSG:3857 bounds of a tile grown by the margin its features may reach into (the
    ST_AsMVTGeom buffer): what an edit must touch to change the tile."""
    size = EARTH_CIRCUMFERENCE / (1 << tile.z)
    left = -EARTH_CIRCUMFERENCE / 2 + tile.x * size
    top = EARTH_CIRCUMFERENCE / 2 - tile.y * size
    pad = size * MARGIN
    return (left - pad, top - size - pad, left + size + pad, top + pad)


def tile_bounds(tile: TileIndex) -> tuple[float, float, float, float]:
    """Lon/lat bounds (west, south, east, north) of a tile."""
    b = tile_matrix_set(TMS_ID).bounds(morecantile.Tile(tile.x, tile.y, tile.z))
    return (b.left, b.bottom, b.right, b.top)


def limits(bounds: tuple[float, float, float, float], zooms: range) -> list[dict[str, Any]]:
    """OGC ``tileMatrixSetLimits`` of lon/lat ``bounds`` at ``zooms``."""
    tms = tile_matrix_set(TMS_ID)
    out = []
    for z in zooms:
        ul = tms.tile(bounds[0], bounds[3], z)
        lr = tms.tile(bounds[2], bounds[1], z)
        out.append(
            {
                "tileMatrix": str(z),
                "minTileRow": ul.y,
                "maxTileRow": lr.y,
                "minTileCol": ul.x,
                "maxTileCol": lr.x,
            }
        )
    return out
