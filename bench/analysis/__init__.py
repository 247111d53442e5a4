"""Analysis benchmark: land-use statistics by neighbourhood and the walking catchments of all
public schools, in PostGIS (``digitalcity.analysis``) against the same computation in memory
(geopandas, shapely, networkx), in one run on one throwaway cluster.

- land use: ``landuse_statistics(level="level1", group_by=<neighbourhoods>)`` against
  ``gpd.overlay`` in the local CRS, on the demo data and on SYNTHETIC ×5 / ×N scale-ups
  (translated copies of the parcels and neighbourhoods, loaded by our loader as extra
  layers); the geopandas time is given for the compute alone and including the read from
  PostGIS (``City.read``); the total areas must agree within 0.5 %;
- catchments: ``service_areas(city, "public_schools")`` for 15 and 5/10/15 minutes, first
  call with the analysis cache emptied (street graph built) and with the graph cached, against
  shapely noding + networkx Dijkstra + buffer/union; areas compared per catchment.

Targets: PostGIS statistics faster than geopandas at every size; catchments of all Cambridge
schools in under 5 s.

    python -m bench.analysis [--scale 20] [--repeat 3]
"""
