-- The union of the buffers of _features(fid, geom) by :distance_m metres (local CRS): one row
-- with the number of features, the covered area (m²) and the geometry in the storage CRS.
WITH u AS (
    SELECT count(*) AS features, ST_Union(ST_Buffer(geom, :distance_m)) AS geom FROM _features
)
SELECT features, ST_Area(geom) AS area_m2, ST_AsBinary(ST_Transform(geom, :storage_srid)) AS geom
FROM u
