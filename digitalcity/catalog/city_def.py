"""A city's ``city.toml``: titles, CRSs, extent, the roles its layers play, and its own
source folder."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from digitalcity.catalog.base import Frozen, Titles, identifier


class CityRoles(Frozen):
    """Which layers play which part in planning queries (identify, analyses)."""

    parcels: str | None = None
    zoning: str | None = None
    overlays: tuple[str, ...] = ()
    population: str | None = None
    streets: str | None = None
    hydrants: str | None = None
    districts: str | None = None
    facilities: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="facility type -> layer ids, e.g. school -> [...]"
    )
    facility_titles: dict[str, Titles] = Field(
        default_factory=dict,
        description="zh/en titles of facility types (keys of facilities) the package does not know",
    )
    life_circle: tuple[str, ...] = Field(
        default=(), description="facility layers of the 15-minute life circle (15分钟生活圈)"
    )
    hydrants_in_service: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="field -> values of hydrants counted as in service"
    )
    residential_class: str | None = Field(
        default=None, description="standard level-1 code of residential land (dasymetric mask)"
    )
    zoning_rules: str | None = Field(
        default=None, description="rule table (under layers/) of uses permitted per district"
    )


class CityDef(Frozen):
    """A city: its titles, its storage CRS and its local metric CRS for measurement."""

    id: str
    title: Titles
    storage_crs: str
    local_crs: str
    country: str | None = None
    center: tuple[float, float] | None = None
    default_zoom: float = 12
    bbox: tuple[float, float, float, float] | None = Field(
        default=None, description="lon/lat extent (WGS84) used to reject far-away coordinates"
    )
    demo: bool = True
    roles: CityRoles = Field(default_factory=CityRoles)
    land_use_primary: Literal["native", "standard"] = Field(
        default="standard",
        description="the land-use classification maps, legends and cards show first, for layers "
        "with a crosswalk: 'native' (the city's own codes, e.g. a US assessor's use classes, "
        "coloured by their level-1 class) or 'standard' (the national classes it maps to)",
    )
    # -- own source directory (issue 13): see catalog/sources.py --
    source_dir: str | None = Field(
        default=None,
        description="the city's source folder: absolute, or relative to the source data dir",
    )

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return identifier(value, "city id")

    @property
    def schema_name(self) -> str:
        """The PostgreSQL schema holding the city's layer tables."""
        return self.id
