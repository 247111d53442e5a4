"""Population grids: vector cells (what the loader makes of a GeoTIFF) against PostGIS raster.

``python -m bench.raster [--repeat 5] [--dataset wuhan|osm|both]`` loads a grid both ways into
one throwaway cluster and times the load and residents-in-polygon for a drawn box and for a
whole area, with the size of each table. Two grids: Wuhan's WorldPop grid (real, 100 m; the
city boundary) and the SYNTHETIC OSM-like dataset's (25 m, residents from its buildings:
``bench/common/osmlike_population.py``; all its districts). The raster side is the SQL one would
write with ``postgis_raster``: the GeoTIFF in 100 x 100 tiles (``ST_FromGDALRaster`` +
``ST_Tile``), a GiST index on the tiles' hulls, ``ST_SummaryStats(ST_Clip(...))`` (whole cells
by centre).
"""
