"""Land-bureau analyses, run in PostGIS; every function takes a ``City`` and returns an
``AnalysisResult`` (frame, CRS, units, provenance)."""

from digitalcity.analysis.errors import InvalidParameter, LayerNotLoaded, OutsideCity
from digitalcity.analysis.landuse import landuse_statistics
from digitalcity.analysis.result import AnalysisResult

__all__ = [
    "AnalysisResult",
    "InvalidParameter",
    "LayerNotLoaded",
    "OutsideCity",
    "landuse_statistics",
]
