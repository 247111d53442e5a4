-- District population density: _districts(fid, geom, label, pop) in the local metric
-- CRS → area (km²) and persons per km²; geometry returned in the storage CRS.
SELECT fid,
       label,
       pop AS population,
       ST_Area(geom) / 1e6 AS area_km2,
       pop / nullif(ST_Area(geom) / 1e6, 0) AS density_per_km2,
       ST_AsBinary(ST_Transform(geom, :storage_srid)) AS geom
FROM _districts
ORDER BY pop / nullif(ST_Area(geom), 0) DESC NULLS LAST
