"""The layer's topology rule (拓扑规则) on edits: with ``[editing] no_overlaps``, an edited
polygon may not overlap another feature of the layer by more than it did before the edit, and a
new one may not overlap any, beyond ``overlap_tolerance_m2`` (m² on the WGS 84 ellipsoid). So
overlaps already in the data do not block an edit that leaves them as they were, and no edit
adds one. What the edit adds to an overlap counts only when it is thicker on average (twice its
area over its perimeter) than the layer's snapping tolerance (at least 1 cm): thinner, it is a
sliver between boundaries drawn a few cm apart, or what rounding to GeoJSON's 7 decimals does
to a shape sent back unchanged, not land claimed twice. Checked in the edit's transaction,
after snapping, against the rows as they are."""

from __future__ import annotations

import shapely
import sqlalchemy as sa
from geoalchemy2 import Geography
from sqlalchemy.engine import Connection

from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.db.schema import layer_table, storage_srid

MAX_LISTED = 5  # overlapping features named in the refusal
MAX_NEIGHBOURS = 1000
MIN_SLIVER_M = 0.01  # mean width (m) below which what an edit adds is a sliver (rounding)


def _m2(geometry: sa.ColumnElement) -> sa.ColumnElement:
    return sa.func.ST_Area(sa.cast(sa.func.ST_Transform(geometry, 4326), Geography))


def overlaps_added(
    conn: Connection,
    layer: LayerDef,
    city: CityDef,
    geometry: shapely.Geometry,
    own_fid: int | None,
) -> list[tuple[int, float]]:
    """The features ``geometry`` (storage CRS) would overlap by more than feature ``own_fid``
    (None: a new feature) overlaps them now, beyond the layer's tolerance: (fid, m² added),
    largest first; empty when the layer has no such rule."""
    editing = layer.editing
    if editing is None or not editing.no_overlaps:
        return []
    table = layer_table(layer, city)
    other = table.alias("other")
    drawn = sa.func.ST_SetSRID(
        sa.func.ST_GeomFromWKB(sa.literal(shapely.to_wkb(geometry), sa.LargeBinary)),
        storage_srid(city),
    )
    before: sa.ColumnElement = sa.null()
    if own_fid is not None:
        before = sa.select(table.c.geom).where(table.c.fid == own_fid).scalar_subquery()
    now = sa.func.ST_CollectionExtract(sa.func.ST_Intersection(other.c.geom, drawn), 3)
    was = sa.func.ST_CollectionExtract(sa.func.ST_Intersection(other.c.geom, before), 3)
    # the part of the overlap the edit adds (all of it for a new feature)
    added = sa.func.coalesce(sa.func.ST_Difference(now, was), now)
    query = sa.select(
        other.c.fid,
        _m2(now),
        sa.func.coalesce(_m2(was), 0),
        _m2(added),
        sa.func.ST_Perimeter(sa.cast(sa.func.ST_Transform(added, 4326), Geography)),
    ).where(
        sa.func.ST_Intersects(other.c.geom, drawn),
        sa.func.ST_Relate(other.c.geom, drawn, "2********"),  # interiors meet
    )
    if own_fid is not None:
        query = query.where(other.c.fid != own_fid)
    sliver_m = max(editing.snap_m, MIN_SLIVER_M)
    found = []
    for fid, now_m2, was_m2, added_m2, added_perimeter in conn.execute(query.limit(MAX_NEIGHBOURS)):
        grown = float(now_m2) - float(was_m2)
        width = 2 * float(added_m2) / float(added_perimeter) if added_perimeter else 0.0
        if grown > editing.overlap_tolerance_m2 and width > sliver_m:
            found.append((int(fid), grown))
    return sorted(found, key=lambda x: -x[1])
