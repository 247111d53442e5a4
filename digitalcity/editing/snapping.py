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

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.db.schema import layer_table, storage_is_geographic, storage_srid
from digitalcity.editing.validate import as_layer_type
from digitalcity.ingest.geometry import METRES_PER_DEGREE  # one degree of latitude

MAX_NEIGHBOURS = 500  # a drawn shape touches a few; more is a shape drawn over a district


def tolerance_in_storage_units(city: CityDef, metres: float) -> float:
    """``metres`` as a distance in the city's storage CRS (degrees for lon/lat: never
    further than ``metres`` on the ground)."""
    return metres / METRES_PER_DEGREE if storage_is_geographic(city) else metres


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
    # only the neighbours near the shape count (a snap moves nothing further): a large
    # neighbour clipped to the shape's box first, so GEOS does not walk all its vertices (a
    # 17,000-vertex lot took 2.5 ms of snapping a parcel); the clip's own vertices and edges
    # lie on the box, twice the tolerance from the shape, too far to snap to
    box = sa.func.ST_Expand(sa.func.ST_Envelope(drawn), 2 * tolerance)
    near = sa.select(sa.func.ST_AsBinary(sa.func.ST_ClipByBox2D(table.c.geom, box))).where(
        sa.func.ST_DWithin(table.c.geom, drawn, tolerance)
    )
    if own_fid is not None:
        near = near.where(table.c.fid != own_fid)
    found = [bytes(w) for (w,) in conn.execute(near.limit(MAX_NEIGHBOURS))]
    if not found:
        return None
    neighbours = shapely.from_wkb(found)
    # GEOS hands back a one-part multi-geometry as a single one: cast back to the layer's type
    onto_vertices = as_layer_type(layer, onto_vertices_of(geometry, neighbours, tolerance))
    for result in (_onto_edges(onto_vertices, neighbours, tolerance), onto_vertices):
        if result.is_valid and not result.is_empty:
            return None if result.equals_exact(geometry, 0) else result
    return None


def onto_vertices_of(
    geometry: shapely.Geometry, references: np.ndarray, tolerance: float
) -> shapely.Geometry:
    """GEOS's snap of ``geometry`` to the vertices of ``references`` (same CRS units)."""
    return shapely.snap(geometry, shapely.GeometryCollection(list(references)), tolerance)


def line_snapped_to(
    line: shapely.Geometry, shape: shapely.Geometry, city: CityDef, metres: float
) -> shapely.Geometry:
    """A split's line (storage CRS) snapped to the shape it cuts, within ``metres``: through
    the shape's corners and onto its sides where drawn that close, so a cut through a corner
    goes exactly through it (a line passing 5 mm beside one cut off a sliver)."""
    if metres <= 0 or not math.isfinite(metres):
        return line
    tolerance = tolerance_in_storage_units(city, metres)
    references = np.array([shape], dtype=object)
    return _onto_edges(onto_vertices_of(line, references, tolerance), references, tolerance)


def _onto_edges(
    geometry: shapely.Geometry, neighbours: np.ndarray, tolerance: float
) -> shapely.Geometry:
    """``geometry`` with each vertex that lies within ``tolerance`` of a neighbour's edge, but
    on no neighbour's vertex, moved onto that edge (its nearest point there): where a shape's
    corner meets the middle of a neighbour's side, which a snap to vertices leaves off by the
    rounding of the shape's coordinates (a sliver over the neighbour)."""
    edges = shapely.GeometryCollection(
        [
            shapely.boundary(g) if g.geom_type.endswith("Polygon") else g
            for g in neighbours
            if g.geom_type.endswith(("Polygon", "LineString"))
        ]  # fmt: skip
    )
    if edges.is_empty:
        return geometry
    coordinates = shapely.get_coordinates(geometry)
    vertices = shapely.points(coordinates)
    distance = shapely.distance(vertices, edges)
    close = (distance > 0) & (distance <= tolerance)
    if not close.any():
        return geometry
    to_edge = shapely.shortest_line(vertices[close], edges)
    coordinates[close] = shapely.get_coordinates(to_edge)[1::2]
    return shapely.set_coordinates(geometry, coordinates)
