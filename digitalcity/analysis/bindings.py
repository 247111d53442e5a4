"""Which layers and columns each analysis reads, per city: the one place in ``analysis`` that
names them.

Everything else comes from the catalog: land-use code fields from the parcels layer's
classification (native code field and crosswalk level fields), the zone code from the zoning
layer's classification, the head count from the population layer's field whose unit is
``persons``, facility names from each layer's ``label_field``. A city without an entry (or with
``None`` for a role) cannot run the analyses that need that role.

A later catalog version could carry this as an ``[analysis]`` table in ``city.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass

from digitalcity.analysis.errors import InvalidParameter


@dataclass(frozen=True)
class Bindings:
    """Layer ids and column names the analyses use in one city."""

    parcels: str | None = None
    parcel_land_area: str = "land_area_sqft"
    parcel_floor_area: str = "gross_area_sqft"
    parcel_stories: str = "stories"
    residential_level1: str = "07"
    zoning: str | None = None
    zone_max_far: str = "max_far"
    zone_max_height: str = "max_height_ft"
    zoning_rules: str | None = None
    population: str | None = None
    districts: str | None = None
    streets: str | None = None
    hydrants: str | None = None
    hydrant_filter: tuple[str, tuple[str, ...]] | None = None
    life_circle_facilities: tuple[str, ...] = ()


_CITY_BINDINGS: dict[str, Bindings] = {
    "cambridge": Bindings(
        parcels="parcels",
        zoning="zoning_districts",
        zoning_rules="cambridge/use_rules_zoning_vs_landuse.csv",
        population="census_blocks_2000",
        districts="neighbourhoods",
        streets="street_centerlines",
        hydrants="hydrants",
        # in-service hydrants: ACT (active) and MITFL (MIT fire loop); ABN abandoned is left out
        hydrant_filter=("lifecycle_status", ("ACT", "MITFL")),
        life_circle_facilities=("public_schools", "fire_stations", "subway_stations"),
    ),
    "xiamen": Bindings(population="districts", districts="districts"),
    "beijing": Bindings(population="districts", districts="districts"),
}


def bindings_for(city_id: str) -> Bindings:
    """The bindings of ``city_id`` (all roles empty for an unknown city)."""
    return _CITY_BINDINGS.get(city_id, Bindings())


def require(city_id: str, role: str, value: str | None) -> str:
    """``value`` or a one-line InvalidParameter naming the missing role."""
    if not value:
        raise InvalidParameter(f"city {city_id!r} has no {role} layer for this analysis")
    return value
