"""Analysis endpoints: ``POST /cities/{city}/analysis/{name}`` with the parameters as JSON.

Each endpoint calls the same library function notebooks use, as the caller's role (hidden
layers are 404), and returns its result: data (records or GeoJSON), units, CRS, summary and
provenance. Bad parameters are 400 problem JSON; nothing is computed on them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from digitalcity import analysis
from digitalcity.api.cancel import cancellable
from digitalcity.api.deps import CatalogDep, EngineDep, RoleDep
from digitalcity.api.params import AsOfQuery, parse_as_of
from digitalcity.city import City
from digitalcity.errors import NotFound

router = APIRouter(tags=["analysis"])

# Bounds on what one request may ask for (declared in the OpenAPI schemas; the role's
# statement timeout bounds the rest).
MAX_DISTANCE_M = 10_000.0
MAX_BUFFER_M = 500.0
MAX_SPEED_KMH = 30.0
MAX_TIMES = 6
MAX_LAYERS = 20
MAX_FIDS = 10_000
MAX_POLYGON_CHARS = 2_000_000  # WKT or GeoJSON text of a drawn polygon
Minutes = Annotated[float, Field(gt=0, le=120, description="walking minutes, 1-120")]
FeatureId = Annotated[int, Field(ge=0, le=2**63 - 1)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]


def _bounded_polygon(value: dict[str, Any] | str) -> dict[str, Any] | str:
    size = len(value) if isinstance(value, str) else len(json.dumps(value))
    if size > MAX_POLYGON_CHARS:
        raise ValueError(f"polygon too large: {size:,} characters (at most {MAX_POLYGON_CHARS:,})")
    return value


Polygon = Annotated[dict[str, Any] | str, AfterValidator(_bounded_polygon)]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoParams(Params):
    pass


class LandUse(Params):
    level: Literal["level1", "level2", "native"] = "level1"
    polygon: Polygon | None = Field(None, description="GeoJSON geometry or WKT, in polygon_crs")
    polygon_crs: str = "EPSG:4326"
    group_by: str | None = Field(
        None, description="layer id of zones to group by, e.g. neighbourhoods"
    )


class Crosstab(Params):
    by: Literal["family", "zone"] = "family"
    value: Literal["area_ha", "parcels"] = "area_ha"


class Compliance(Params):
    feet_per_story: float = Field(10.0, gt=0, le=100)


class Buffer(Params):
    layer: str
    distance_m: float = Field(gt=0, le=MAX_DISTANCE_M)
    fids: list[FeatureId] | None = Field(None, max_length=MAX_FIDS)
    dissolve: bool = False


class Beyond(Params):
    distance_m: float = Field(gt=0, le=MAX_DISTANCE_M)
    facility_layer: str | None = None


class Within(Params):
    distance_m: float = Field(gt=0, le=MAX_DISTANCE_M)
    parcel_fid: FeatureId | None = None
    polygon: Polygon | None = None
    polygon_crs: str = "EPSG:4326"
    layers: list[str] | None = Field(None, max_length=MAX_LAYERS)


class ServiceAreas(Params):
    facility_layer: str
    minutes: list[Minutes] = Field([5, 10, 15], min_length=1, max_length=MAX_TIMES)
    walk_speed_kmh: float = Field(4.8, gt=0, le=MAX_SPEED_KMH)
    buffer_m: float = Field(50.0, ge=0, le=MAX_BUFFER_M)


class LifeCircle(Params):
    minutes: Minutes = 15
    facility_layers: list[str] | None = Field(None, max_length=MAX_LAYERS)
    walk_speed_kmh: float = Field(4.8, gt=0, le=MAX_SPEED_KMH)
    buffer_m: float = Field(50.0, ge=0, le=MAX_BUFFER_M)


class PopulationPolygon(Params):
    polygon: Polygon
    polygon_crs: str = "EPSG:4326"
    method: Literal["areal", "dasymetric"] = "areal"


class ZoningPolygon(Params):
    polygon: Polygon
    polygon_crs: str = "EPSG:4326"
    lang: Literal["en", "zh"] = "en"


class PopulationZones(Params):
    zone_layer: str
    method: Literal["areal", "dasymetric"] = "areal"


class Changes(Params):
    layer: str
    from_version: Version | None = None
    to_version: Version | None = None


class AreaChange(Changes):
    by: str | None = None


class Quality(Params):
    layer: str
    checks: list[Literal[analysis.quality.CHECKS]] | None = Field(  # type: ignore[valid-type]
        None,
        min_length=1,
        max_length=len(analysis.quality.CHECKS),
        description="default: every check of the layer's geometry type",
    )
    min_area_m2: float = Field(0.1, ge=0, le=analysis.quality.MAX_GAP_M2)
    max_gap_m2: float = Field(100.0, gt=0, le=analysis.quality.MAX_GAP_M2)
    tolerance_m: float = Field(1.0, gt=0, le=analysis.quality.MAX_TOLERANCE_M)
    polygon: Polygon | None = Field(
        None, description="only the faults in this area: GeoJSON geometry or WKT, in polygon_crs"
    )
    polygon_crs: str = "EPSG:4326"
    limit: int = Field(
        5000,
        ge=1,
        le=analysis.quality.MAX_LIMIT,
        description="faults listed per check at most (all are counted)",
    )


def _call(name: str) -> Callable[[City, Params], analysis.AnalysisResult]:
    function = getattr(analysis, name)

    def run(city: City, params: Params) -> analysis.AnalysisResult:
        values = params.model_dump()
        positional = [values.pop(k) for k in ANALYSES[name][1]]
        return function(city, *positional, **values)

    return run


# name -> (parameter model, positional parameters in the library signature)
ANALYSES: dict[str, tuple[type[Params], tuple[str, ...]]] = {
    "landuse_statistics": (LandUse, ()),
    "plan_conformance": (NoParams, ()),
    "nonconforming_parcels": (NoParams, ()),
    "zoning_landuse_crosstab": (Crosstab, ()),
    "zoning_compliance": (Compliance, ()),
    "zoning_compliance_summary": (Compliance, ()),
    "buffer": (Buffer, ("layer", "distance_m")),
    "parcels_beyond": (Beyond, ("distance_m",)),
    "facilities_within": (Within, ("distance_m",)),
    "service_areas": (ServiceAreas, ("facility_layer",)),
    "life_circle": (LifeCircle, ()),
    "population_in_polygon": (PopulationPolygon, ("polygon",)),
    "population_by_zone": (PopulationZones, ("zone_layer",)),
    "zoning_in_polygon": (ZoningPolygon, ("polygon",)),
    "layer_changes": (Changes, ("layer",)),
    "area_change_by_class": (AreaChange, ("layer",)),
    "district_density": (NoParams, ()),
    "data_quality": (Quality, ("layer",)),
}


@router.get("/cities/{city}/analysis", summary="The analyses offered and their parameters")
def list_analyses(city: str, catalog: CatalogDep) -> dict[str, Any]:
    catalog.city(city)
    return {
        "analyses": [
            {
                "name": name,
                "href": f"/cities/{city}/analysis/{name}",
                "doc": (getattr(analysis, name).__doc__ or "").strip().split("\n")[0],
                "parameters": model.model_json_schema(),
            }
            for name, (model, _) in ANALYSES.items()
        ]
    }


@router.post("/cities/{city}/analysis/{name}", summary="Run an analysis")
async def run_analysis(
    city: str,
    name: str,
    request: Request,
    catalog: CatalogDep,
    engine: EngineDep,
    role: RoleDep,
    body: Annotated[dict[str, Any] | None, Body(description="parameters (GET …/analysis)")] = None,
    as_of: AsOfQuery = None,
) -> dict[str, Any]:
    if name not in ANALYSES:
        raise NotFound(f"unknown analysis {name!r}")
    model, _ = ANALYSES[name]
    params = _validated(model, body or {})
    place = City(catalog, catalog.city(city), engine, role, as_of=parse_as_of(as_of))
    # bounded: the role's statement timeout applies, and a client that leaves stops the work
    return await cancellable(request, lambda: _call(name)(place, params).to_dict())


def _validated(model: type[Params], body: dict[str, Any]) -> Params:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise analysis.InvalidParameter(detail) from None
