"""Land-bureau analyses, run in PostGIS.

Every public function takes a :class:`digitalcity.city.City` (its role decides which layers
and fields are readable) and returns an :class:`AnalysisResult`: a (Geo)DataFrame, its CRS,
the units of its columns, a summary and the provenance (inputs with their layer versions).
Areas and distances are measured in the city's local metric CRS; geometries come back in the
city's storage CRS. Bad parameters raise ``InvalidParameter`` / ``OutsideCity`` up front.
"""

from digitalcity.analysis.change import area_change_by_class, layer_changes
from digitalcity.analysis.compliance import zoning_compliance, zoning_compliance_summary
from digitalcity.analysis.conformance import (
    nonconforming_parcels,
    plan_conformance,
    zoning_landuse_crosstab,
)
from digitalcity.analysis.density import district_density
from digitalcity.analysis.errors import (
    InvalidParameter,
    LayerNotLoaded,
    MissingExtension,
    OutsideCity,
)
from digitalcity.analysis.landuse import landuse_statistics
from digitalcity.analysis.network import street_network
from digitalcity.analysis.population import population_by_zone, population_in_polygon
from digitalcity.analysis.proximity import buffer, facilities_within, parcels_beyond
from digitalcity.analysis.quality import data_quality
from digitalcity.analysis.result import AnalysisResult
from digitalcity.analysis.service_area import life_circle, service_areas
from digitalcity.analysis.zoning import zoning_in_polygon

__all__ = [
    "AnalysisResult",
    "InvalidParameter",
    "LayerNotLoaded",
    "MissingExtension",
    "OutsideCity",
    "area_change_by_class",
    "buffer",
    "data_quality",
    "district_density",
    "facilities_within",
    "landuse_statistics",
    "layer_changes",
    "life_circle",
    "nonconforming_parcels",
    "parcels_beyond",
    "plan_conformance",
    "population_by_zone",
    "population_in_polygon",
    "service_areas",
    "street_network",
    "zoning_compliance",
    "zoning_compliance_summary",
    "zoning_in_polygon",
    "zoning_landuse_crosstab",
]
