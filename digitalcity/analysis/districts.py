"""Parcels with their zoning district: the district covering the largest share of each parcel,
staged as ``_parcel_district(fid, zone, share)`` for the plan and compliance analyses and
cached for the current versions of the parcels and zoning layers (``cache.py``)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import Connection

from digitalcity.analysis.bindings import bindings_for, require
from digitalcity.analysis.cache import cached
from digitalcity.analysis.sqlrun import run, stage
from digitalcity.catalog.model import LayerDef
from digitalcity.city import City

METHOD = (
    "each parcel takes the zoning district (by zone code) covering the largest share of its "
    "area, measured in the local CRS"
)


def planning_layers(city: City) -> tuple[LayerDef, LayerDef, str]:
    """The parcels layer, the zoning layer and the zoning layer's zone-code field."""
    bound = bindings_for(city)
    parcels = city.layer(require(city.id, "parcels", bound.parcels))
    zoning = city.layer(require(city.id, "zoning", bound.zoning))
    code = zoning.classification.field if zoning.classification else zoning.label_field
    return parcels, zoning, require(city.id, "zone code field", code)


def stage_parcel_districts(
    conn: Connection,
    city: City,
    parcel_columns: Mapping[str, str | None],
    zone_columns: Mapping[str, str | None] | None = None,
) -> tuple[LayerDef, LayerDef]:
    """Stage ``_parcels`` (with ``parcel_columns``), ``_zones`` (zone code plus
    ``zone_columns``) and ``_parcel_district``; returns the parcels and zoning layers."""
    parcels, zoning, code = planning_layers(city)
    stage(conn, city, "_parcels", parcels, parcel_columns)
    stage(
        conn, city, "_zones", zoning, {"zone": code, **(zone_columns or {})}
    )  # whole zones: see zones.py
    _, built = cached(
        conn,
        city,
        "district",
        [parcels, zoning],
        ["_parcel_district"],
        lambda: run(conn, "parcel_district"),
    )
    if not built:
        run(conn, "parcel_district_index")
    return parcels, zoning
