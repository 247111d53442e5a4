"""The zoning districts an area (a site, a drawn polygon) falls in, as the area statistics,
the site boundary check and ``analysis.zoning_in_polygon`` give them. Areas are m² in the
city's local metric CRS; the zoning layer and its fields go through the caller's access."""

from __future__ import annotations

from typing import Any

import shapely
import sqlalchemy as sa
from geoalchemy2 import Geometry

from digitalcity.catalog.ids import collection_id
from digitalcity.city import City
from digitalcity.planning.card import zone_entry, zoning_layer

MAX_LISTED = 100  # districts listed (all are counted)


def zones_within(
    city: City, local: shapely.Geometry, lang: str = "en", conn: sa.Connection | None = None
) -> dict[str, Any] | None:
    """The zoning districts the polygon (``local``: in the city's local CRS) meets, largest
    share first: each district's card entry (``planning.card.zone_entry``: code, name,
    controls) with the area of the polygon in it (m²) and its share of the polygon; features
    of one district code are summed (read on ``conn`` when given). None when the caller may
    not see a zoning layer."""
    layer = zoning_layer(city)
    if layer is None:
        return None
    table = city.relation(layer)
    wkb = sa.bindparam("site", shapely.to_wkb(local), sa.LargeBinary)
    site = sa.func.ST_Transform(
        sa.func.ST_GeomFromWKB(wkb, city.local_srid), city.storage_srid, type_=Geometry()
    )
    piece = sa.func.ST_Transform(
        sa.func.ST_Intersection(table.c.geom, site), city.local_srid, type_=Geometry()
    )
    inside = sa.func.ST_Area(piece).label("site_area_m2")
    stmt = (
        sa.select(table, inside)
        .where(sa.func.ST_Intersects(table.c.geom, site))
        .order_by(inside.desc(), table.c.fid)
    )
    zones: dict[Any, dict[str, Any]] = {}
    if conn is None:
        with city.engine.connect() as own:
            rows = own.execute(stmt).all()
    else:  # an analysis's connection: the rows of the versions its provenance names
        rows = conn.execute(stmt).all()
    for row in rows:
        entry = zone_entry(city, layer, row, lang)
        key = entry["zone_code"] if entry["zone_code"] is not None else ("fid", row.fid)
        found = zones.setdefault(key, {**entry, "area_m2": 0.0, "features": 0})
        found["area_m2"] += float(row.site_area_m2 or 0.0)
        found["features"] += 1
    listed = sorted(zones.values(), key=lambda z: -z["area_m2"])
    for zone in listed:
        zone["share"] = round(zone["area_m2"] / local.area, 4) if local.area else None
        zone["area_m2"] = round(zone["area_m2"], 2)
        del zone["properties"]  # the card's fields: the controls say what matters here
    return {"collection": collection_id(layer), "zones": listed[:MAX_LISTED], "count": len(listed)}
