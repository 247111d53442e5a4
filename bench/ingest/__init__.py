"""Ingest benchmark: our loader against ``ogr2ogr -f PostgreSQL`` (COPY mode), same database,
with and without ``-makevalid`` (our loader always validates and repairs geometry).

Run with ``python -m bench.ingest`` (``make bench-ingest``). Inputs are the real Cambridge
parcels (TopoJSON, through the catalog layer ``cambridge.parcels``), the real Cambridge road
surfaces (205 polygons, one of them 119,275 vertices with 1,054 holes and invalid), a
SYNTHETIC ×N scale-up of the parcels written to a temporary GeoPackage (see
``bench.ingest.inputs``), and the SYNTHETIC OSM-like set (``bench.common.osmlike``).
"""
