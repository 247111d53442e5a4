"""The closed set of city roles (``[roles]`` in city.toml): which layer plays which part.

Each role names the geometry family its layer must have and the analyses that need it.
"""

from __future__ import annotations

from dataclasses import dataclass

from digitalcity.catalog.model import CityDef

POLYGON = ("Polygon", "MultiPolygon")
LINE = ("LineString", "MultiLineString")
POINT = ("Point", "MultiPoint")


@dataclass(frozen=True)
class RoleSpec:
    """A role: the geometry its layer needs and who uses it."""

    geometries: tuple[str, ...]
    used_by: str


ROLES: dict[str, RoleSpec] = {
    "parcels": RoleSpec(POLYGON, "land-use statistics, parcel card, compliance, conformance"),
    "zoning": RoleSpec(POLYGON, "compliance, conformance, parcel card"),
    "overlays": RoleSpec(POLYGON, "parcel card"),
    "population": RoleSpec(POLYGON, "population allocation, density"),
    "districts": RoleSpec(POLYGON, "district statistics"),
    "streets": RoleSpec(LINE, "network analyses, service areas"),
    "hydrants": RoleSpec(POINT, "hydrant coverage"),
    "facilities": RoleSpec(POINT + POLYGON, "proximity, nearest facilities"),
    "life_circle": RoleSpec(POINT + POLYGON, "15-minute life circle"),
}


def role_layers(city: CityDef) -> list[tuple[str, str]]:
    """(role, layer id) for every layer a city's roles name."""
    r = city.roles
    pairs = [
        (name, value)
        for name, value in (
            ("parcels", r.parcels),
            ("zoning", r.zoning),
            ("population", r.population),
            ("streets", r.streets),
            ("hydrants", r.hydrants),
            ("districts", r.districts),
        )
        if value
    ]
    pairs += [("overlays", x) for x in r.overlays] + [("life_circle", x) for x in r.life_circle]
    pairs += [("facilities", x) for ids in r.facilities.values() for x in ids]
    return pairs
