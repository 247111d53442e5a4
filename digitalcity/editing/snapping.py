"""Snapping an edited shape to its neighbours (吸附): each vertex of the shape within the
tolerance of a vertex of another feature of the layer is moved exactly onto it, and a
neighbour's vertex within the tolerance of one of the shape's edges is inserted into that edge
(GEOS's snap, as PostGIS's ``ST_Snap``). So two parcels drawn against each other share their
boundary to the last bit, where a hand's click or the map's rounding (7 decimals of a degree
in GeoJSON, about 1 cm) would leave slivers and gaps.

The tolerance is in metres; in a lon/lat storage CRS it becomes degrees of latitude (1° =
111,320 m), so nothing is moved further than asked in any direction. A snap that would leave
the shape invalid is not made (the shape is kept as drawn)."""

from __future__ import annotations

import math
from functools import lru_cache

import pyproj
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.db.schema import layer_table, storage_srid
from digitalcity.editing.validate import as_layer_type

METRES_PER_DEGREE = 111_320.0  # one degree of latitude, the shortest a degree gets on the ground
MAX_NEIGHBOURS = 500  # a drawn shape touches a few; more is a shape drawn over a district


@lru_cache(maxsize=32)
def _geographic(storage_crs: str) -> bool:
    return bool(pyproj.CRS.from_user_input(storage_crs).is_geographic)


def tolerance_in_storage_units(city: CityDef, metres: float) -> float:
    """``metres`` as a distance in the city's storage CRS (degrees for lon/lat: never
    further than ``metres`` on the ground)."""
    return metres / METRES_PER_DEGREE if _geographic(city.storage_crs) else metres


def snapped_to_neighbours(
    conn: Connection,
    layer: LayerDef,
    city: CityDef,
    geometry: shapely.Geometry,
    metres: float,
    own_fid: int | None = None,
) -> shapely.Geometry | None:
    """``geometry`` (in the storage CRS) snapped to the features of ``layer`` within
    ``metres`` of it, other than ``own_fid``; None when nothing moved or the snap would make
    it invalid."""
    if metres <= 0 or not math.isfinite(metres):
        return None
    tolerance = tolerance_in_storage_units(city, metres)
    table = layer_table(layer, city)
    drawn = sa.func.ST_SetSRID(
        sa.func.ST_GeomFromWKB(sa.literal(shapely.to_wkb(geometry), sa.LargeBinary)),
        storage_srid(city),
    )
    near = sa.select(sa.func.ST_AsBinary(table.c.geom)).where(
        sa.func.ST_DWithin(table.c.geom, drawn, tolerance)
    )
    if own_fid is not None:
        near = near.where(table.c.fid != own_fid)
    found = [bytes(w) for (w,) in conn.execute(near.limit(MAX_NEIGHBOURS))]
    if not found:
        return None
    reference = shapely.GeometryCollection(list(shapely.from_wkb(found)))
    # GEOS hands back a one-part multi-geometry as a single one: cast back to the layer's type
    result = as_layer_type(layer, shapely.snap(geometry, reference, tolerance))
    if result.equals_exact(geometry, 0) or not result.is_valid or result.is_empty:
        return None
    return result
