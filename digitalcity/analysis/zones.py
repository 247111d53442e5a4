"""Grouping polygons: a polygon layer's features labelled by its ``label_field``, optionally
clipped to a user polygon, staged as ``_zones(fid, geom, zone)`` in the local CRS."""

from __future__ import annotations

from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection

from digitalcity.analysis.errors import InvalidParameter
from digitalcity.analysis.sqlrun import local_srid, run, stage, stage_geometry
from digitalcity.catalog.model import LayerDef
from digitalcity.city import City


def zone_layer(city: City, layer_id: str) -> tuple[LayerDef, str]:
    """A polygon layer the role may read, and the field that names its zones."""
    layer = city.layer(layer_id)
    if "Polygon" not in layer.geometry_type:
        raise InvalidParameter(f"layer {layer_id!r} has no polygons to group by")
    label = layer.label_field or (layer.search_fields[0] if layer.search_fields else None)
    if label is None:
        raise InvalidParameter(f"layer {layer_id!r} has no label field to name its zones")
    return layer, label


def stage_zones(
    conn: Connection, city: City, group_by: str | None, area: BaseGeometry | None
) -> list[LayerDef]:
    """Stage ``_zones`` (and ``_area`` when ``area`` is given); returns the layers read.

    Without ``group_by`` the only zone is ``area`` (zone NULL); with neither, no table is made.
    ``area`` is in the city's local CRS.
    """
    if area is not None:
        stage_geometry(conn, "_area", area, local_srid(city))
    if group_by is None:
        if area is not None:
            run(conn, "area_as_zone")
        return []
    layer, label = zone_layer(city, group_by)
    if area is None:
        # Whole zones, not pieces: the SQL tests ST_Covers(zone, parcel), which PostGIS runs
        # against one prepared (cached) zone geometry; pieces would defeat that cache.
        stage(conn, city, "_zones", layer, {"zone": label})
    else:
        stage(conn, city, "_zones_all", layer, {"zone": label})
        run(conn, "clip_zones")
    return [layer]
