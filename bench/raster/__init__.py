"""Population grids: vector cells (what the loader makes of a GeoTIFF) against PostGIS raster.

``python -m bench.raster [--repeat 5]`` loads Wuhan's WorldPop grid both ways into one
throwaway cluster and times the load and residents-in-polygon for a drawn box and for the
whole city boundary, with the size of each table. The raster side is the SQL one would write
with ``postgis_raster``: the GeoTIFF in 100 x 100 tiles (``ST_FromGDALRaster`` + ``ST_Tile``),
a GiST index on the tiles' hulls, ``ST_SummaryStats(ST_Clip(...))`` (whole cells by centre).
"""
