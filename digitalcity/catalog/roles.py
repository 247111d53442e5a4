"""The closed set of city roles (``[roles]`` in city.toml): which layer plays which part.

Each role names the geometry family its layer must have and the analyses that need it.
"""

from __future__ import annotations

from dataclasses import dataclass

from digitalcity.catalog.model import CityDef, Titles

POLYGON = ("Polygon", "MultiPolygon")
LINE = ("LineString", "MultiLineString")
POINT = ("Point", "MultiPoint")


@dataclass(frozen=True)
class RoleSpec:
    """A role: the geometry its layer needs and who uses it."""

    geometries: tuple[str, ...]
    used_by: str
    kinds: tuple[str, ...] = ()  # the layer kinds that can play it (empty: any)


FACILITY_KINDS = ("infrastructure", "basemap", "landuse")
ROLES: dict[str, RoleSpec] = {
    "parcels": RoleSpec(
        POLYGON, "land-use statistics, parcel card, compliance, conformance", ("landuse",)
    ),
    "zoning": RoleSpec(POLYGON, "compliance, conformance, parcel card", ("planning",)),
    "overlays": RoleSpec(POLYGON, "parcel card", ("planning",)),
    "population": RoleSpec(POLYGON, "population allocation, density", ("population",)),
    "districts": RoleSpec(
        POLYGON, "district statistics", ("boundary", "population", "planning", "basemap")
    ),
    "streets": RoleSpec(LINE, "network analyses, service areas", ("infrastructure", "basemap")),
    "hydrants": RoleSpec(POINT, "hydrant coverage", ("infrastructure",)),
    "facilities": RoleSpec(POINT + POLYGON, "proximity, nearest facilities", FACILITY_KINDS),
    "life_circle": RoleSpec(POINT + POLYGON, "15-minute life circle", FACILITY_KINDS),
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


# Titles of common facility types (keys of [roles.facilities]); a city names its own types, or
# renames these, in [roles.facility_titles]. Without either, a type takes its first layer's title.
FACILITY_TITLES: dict[str, Titles] = {
    key: Titles(zh=zh, en=en)
    for key, zh, en in (
        ("school", "学校", "School"),
        ("kindergarten", "幼儿园", "Kindergarten"),
        ("hospital", "医院", "Hospital"),
        ("clinic", "诊所", "Clinic"),
        ("fire_station", "消防站", "Fire station"),
        ("police_station", "派出所", "Police station"),
        ("subway_station", "地铁站", "Subway station"),
        ("bus_stop", "公交站", "Bus stop"),
        ("library", "图书馆", "Library"),
        ("park", "公园", "Park"),
        ("community_centre", "社区中心", "Community centre"),
        ("elderly_care", "养老设施", "Elderly care"),
        ("market", "菜市场", "Market"),
    )
}


def facility_titles(city: CityDef, layer_titles: dict[str, Titles]) -> dict[str, Titles]:
    """The zh/en title of every facility type of ``city`` with a layer in ``layer_titles``
    (layer id -> title: the layers the caller may see): the city's own title, else the common
    one, else the title of the type's first layer."""
    out = {}
    for kind, layer_ids in city.roles.facilities.items():
        first = next((layer_titles[x] for x in layer_ids if x in layer_titles), None)
        if first is not None:
            out[kind] = city.roles.facility_titles.get(kind) or FACILITY_TITLES.get(kind) or first
    return out
