"""What a split or merge reads of a layer's shapes, on the edit's connection: features' areas
(m²) or lengths (m) on the WGS 84 ellipsoid, shapes previewed in lon/lat, and the features
next to one (what it may be merged with)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.db.schema import row_etag_sql, storage_srid
from digitalcity.editing.store import table_names


def measures(
    conn: Connection, layer: LayerDef, city: CityDef, fids: Sequence[int]
) -> dict[int, float]:
    """Each feature's area in m² (polygons) or length in m (lines), on the WGS 84 ellipsoid."""
    table = table_names(conn, layer, city)["table"]
    measure = "ST_Area" if layer.geometry_type.endswith("Polygon") else "ST_Length"
    rows = conn.execute(
        sa.text(
            f"SELECT fid, {measure}(ST_Transform(geom, 4326)::geography) FROM {table} "  # noqa: S608
            "WHERE fid = ANY(:fids)"
        ),
        {"fids": list(fids)},
    )
    return {int(fid): float(value) for fid, value in rows}


def shapes_in_lonlat(
    conn: Connection, city: CityDef, shapes: Sequence[shapely.Geometry], polygonal: bool
) -> list[tuple[dict[str, Any], float]]:
    """Shapes in the storage CRS as GeoJSON in lon/lat (7 decimals), each with its area in m²
    (``polygonal``) or length in m on the WGS 84 ellipsoid (for a preview: nothing is
    written)."""
    measure = "ST_Area" if polygonal else "ST_Length"
    rows = conn.execute(
        sa.text(
            f"SELECT ST_AsGeoJSON(g, 7), {measure}(g::geography) FROM ("  # noqa: S608 - a constant
            "SELECT n, ST_Transform(ST_SetSRID(ST_GeomFromWKB(w), :srid), 4326) AS g "
            "FROM unnest(CAST(:shapes AS bytea[])) WITH ORDINALITY AS s (w, n)) t ORDER BY n"
        ),
        {"shapes": [shapely.to_wkb(g) for g in shapes], "srid": storage_srid(city)},
    )
    return [(json.loads(text), float(value)) for text, value in rows]


# features of the layer that share a stretch of boundary with (or overlap) a polygon, or meet a
# line or point: what it may be merged with (DE-9IM: boundaries meet along a line, or interiors
# overlap; any contact for lines and points)
_EDGE_OR_OVERLAP = (
    "(ST_Relate(f.geom, n.geom, '****1****') OR ST_Relate(f.geom, n.geom, '2********'))"
)


def neighbours(
    conn: Connection, layer: LayerDef, city: CityDef, fid: int, label: str | None, limit: int
) -> list[dict[str, Any]] | None:
    """The features of the layer next to feature ``fid`` (see above), in id order:
    id, ETag, label (the field ``label``, when given), geometry as GeoJSON in lon/lat; None
    when there is no feature ``fid``."""
    table = table_names(conn, layer, city)["table"]
    quote = conn.dialect.identifier_preparer.quote
    polygonal = layer.geometry_type.endswith("Polygon")
    touching = _EDGE_OR_OVERLAP if polygonal else "ST_Intersects(f.geom, n.geom)"
    label_sql = f"n.{quote(label)}::text" if label else "NULL::text"
    exists = conn.execute(
        sa.text(f"SELECT 1 FROM {table} WHERE fid = :fid"),  # noqa: S608 - identifiers from the catalog
        {"fid": fid},
    ).first()
    if exists is None:
        return None
    rows = conn.execute(
        sa.text(
            f"SELECT n.fid, {row_etag_sql('n')} AS etag, {label_sql} AS label, "  # noqa: S608
            "ST_AsGeoJSON(ST_Transform(n.geom, 4326), 7) AS geojson "
            f"FROM {table} f JOIN {table} n ON n.geom && f.geom AND n.fid <> f.fid "
            f"WHERE f.fid = :fid AND {touching} ORDER BY n.fid LIMIT :limit"
        ),
        {"fid": fid, "limit": limit},
    )
    return [
        {"id": int(r.fid), "etag": r.etag, "label": r.label, "geometry": r.geojson} for r in rows
    ]
