"""Loading source files into PostGIS layer tables."""

from digitalcity.ingest.loader import fingerprint, load_layer
from digitalcity.ingest.report import LoadReport

__all__ = ["LoadReport", "fingerprint", "load_layer"]
