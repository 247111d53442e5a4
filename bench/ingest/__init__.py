"""Ingest benchmark: our loader against ``ogr2ogr -f PostgreSQL`` (COPY mode), same database,
with and without ``-makevalid`` (our loader always validates and repairs geometry).

Run with ``python -m bench.ingest`` (``make bench-ingest``). Inputs are the real Cambridge
parcels (TopoJSON, through the catalog layer ``cambridge.parcels``) and a SYNTHETIC ×N
scale-up written to a temporary GeoPackage; see ``bench.ingest.inputs``.
"""
