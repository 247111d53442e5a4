"""What is around a geometry: the nearest facility of each type and the residents nearby.

Distances in metres and areas in square metres, measured in the city's local metric CRS.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry

from digitalcity.catalog.access import visible_fields, visible_layer
from digitalcity.catalog.ids import collection_id
from digitalcity.city import City
from digitalcity.db.schema import layer_table

KNN_CANDIDATES = 5


def nearest_facilities(city: City, geom: sa.ColumnElement, lang: str = "en") -> dict[str, Any]:
    """For each facility type in the city's roles: the nearest visible facility and its distance."""
    out: dict[str, Any] = {}
    local = city.local_srid
    with city.engine.connect() as conn:
        for kind, layer_ids in city.definition.roles.facilities.items():
            best: dict[str, Any] | None = None
            for layer_id in layer_ids:
                layer = city.catalog.layer(city.id, layer_id)
                if not visible_layer(city.role, layer):
                    continue
                table = layer_table(layer, city.definition)
                names = {f.name for f in visible_fields(city.role, layer)}
                label = table.c[layer.label_field] if layer.label_field in names else sa.null()
                address = table.c["address"] if "address" in names else sa.null()
                # KNN on the index in the storage CRS, then the exact metric distance.
                candidates = (
                    sa.select(
                        table.c.fid, table.c.geom, label.label("name"), address.label("address")
                    )
                    .order_by(table.c.geom.op("<->")(geom))
                    .limit(KNN_CANDIDATES)
                    .subquery()
                )
                distance = sa.func.ST_Distance(
                    sa.func.ST_Transform(candidates.c.geom, local, type_=Geometry()),
                    sa.func.ST_Transform(geom, local, type_=Geometry()),
                )
                row = conn.execute(
                    sa.select(
                        candidates.c.fid,
                        candidates.c.name,
                        candidates.c.address,
                        distance.label("distance_m"),
                    )
                    .order_by(distance)
                    .limit(1)
                ).first()
                if row is not None and (best is None or row.distance_m < best["distance_m"]):
                    best = {
                        "collection": collection_id(layer),
                        "layer_title": layer.title.get(lang),
                        "fid": row.fid,
                        "name": row.name,
                        "address": row.address,
                        "distance_m": round(float(row.distance_m), 1),
                    }
            if best is not None:
                out[kind] = best
    return out


def residents_within(city: City, geom: sa.ColumnElement, radius_m: float) -> dict[str, Any] | None:
    """Residents within ``radius_m`` of ``geom`` by areal interpolation of the population layer
    (each unit contributes its head count times the share of its area inside the buffer)."""
    layer_id = city.definition.roles.population
    if not layer_id:
        return None
    layer = city.catalog.layer(city.id, layer_id)
    people = layer.semantic("population")
    if not visible_layer(city.role, layer) or people is None:
        return None
    table = layer_table(layer, city.definition)
    local = city.local_srid
    buffer = sa.func.ST_Buffer(sa.func.ST_Transform(geom, local, type_=Geometry()), radius_m)
    unit = sa.func.ST_Transform(table.c.geom, local, type_=Geometry())
    share = sa.func.ST_Area(sa.func.ST_Intersection(unit, buffer)) / sa.func.nullif(
        sa.func.ST_Area(unit), 0
    )
    near = sa.func.ST_Transform(buffer, city.storage_srid, type_=Geometry())
    stmt = sa.select(
        sa.func.coalesce(sa.func.sum(table.c[people.name] * share), 0).label("residents"),
        sa.func.count().label("units"),
    ).where(table.c.geom.op("&&")(near), sa.func.ST_Intersects(table.c.geom, near))
    with city.engine.connect() as conn:
        row = conn.execute(stmt).one()
    return {
        "radius_m": radius_m,
        "residents": round(float(row.residents)),
        "units_touched": row.units,
        "source": collection_id(layer),
        "method": "areal interpolation",
    }
