"""Which layers and columns each analysis reads, derived from the catalog.

Layers come from the city's ``[roles]`` in ``city.toml``; columns from each layer's
``[semantics]`` (land area, floor area, stories, maximum FAR, height limit), its
classification (land-use code fields, zone code), its ``label_field`` (facility names) and the
population layer's ``population`` meaning. A city without a role cannot run the analyses that
need it.
"""

from __future__ import annotations

from dataclasses import dataclass

from digitalcity.analysis.errors import InvalidParameter
from digitalcity.city import City


@dataclass(frozen=True)
class Bindings:
    """Layer ids and column names the analyses use in one city."""

    parcels: str | None = None
    parcel_land_area: str | None = None
    parcel_floor_area: str | None = None
    parcel_stories: str | None = None
    residential_level1: str | None = None
    zoning: str | None = None
    zone_max_far: str | None = None
    zone_max_height: str | None = None
    zoning_rules: str | None = None
    population: str | None = None
    districts: str | None = None
    streets: str | None = None
    hydrants: str | None = None
    hydrant_filter: tuple[str, tuple[str, ...]] | None = None
    life_circle_facilities: tuple[str, ...] = ()


def _semantic(city: City, layer_id: str | None, meaning: str) -> str | None:
    if not layer_id:
        return None
    field = city.catalog.layer(city.id, layer_id).semantic(meaning)
    return field.name if field else None


def bindings_for(city: City) -> Bindings:
    """The bindings of ``city`` from its roles and its layers' semantics."""
    roles = city.definition.roles
    hydrant_filter = next(iter(roles.hydrants_in_service.items()), None)
    return Bindings(
        parcels=roles.parcels,
        parcel_land_area=_semantic(city, roles.parcels, "land_area"),
        parcel_floor_area=_semantic(city, roles.parcels, "floor_area"),
        parcel_stories=_semantic(city, roles.parcels, "stories"),
        residential_level1=roles.residential_class,
        zoning=roles.zoning,
        zone_max_far=_semantic(city, roles.zoning, "max_far"),
        zone_max_height=_semantic(city, roles.zoning, "max_height"),
        zoning_rules=roles.zoning_rules,
        population=roles.population,
        districts=roles.districts,
        streets=roles.streets,
        hydrants=roles.hydrants,
        hydrant_filter=hydrant_filter,
        life_circle_facilities=roles.life_circle,
    )


def require(city_id: str, role: str, value: str | None) -> str:
    """``value`` or a one-line InvalidParameter naming the missing role."""
    if not value:
        raise InvalidParameter(f"city {city_id!r} has no {role} for this analysis")
    return value
