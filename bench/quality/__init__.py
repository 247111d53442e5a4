"""The data quality check (数据质检): ``python -m bench.quality [--rounds 3]
[--dataset cambridge|osm|both]``.

On a throwaway cluster with the dataset loaded (Cambridge's real parcels, hydrants and street
centre-lines; the SYNTHETIC OSM-like buildings, land use and roads), each layer's whole check
(``digitalcity.analysis.data_quality``: every check its geometry type has) against:

- the SQL floor: the very statements the check ran (staging, indexes, each check's SQL),
  recorded from one run and replayed through psycopg in one transaction, rows fetched;
- for polygon layers, the overlaps alone, ours against the same overlap statement on whole
  polygons (no ``ST_Subdivide``: the plain self-join), and against shapely/geopandas (the
  layer read into a GeoDataFrame, pairs from its STRtree, each pair's intersection area in
  the local CRS: what a notebook would write).

Prints seconds (best of ``--rounds``) and the ratios.
"""
