-- Number and area (m², local CRS) of the staged _parcels.
SELECT count(*) AS parcels, coalesce(sum(ST_Area(geom)), 0) AS area_m2 FROM _parcels
