-- Pairs of point features of _features(fid, geom, label) nearer each other than
-- :tolerance_m metres (local CRS), with their distance (m); the first of each pair by feature
-- id. Geometry: the second point, in the storage CRS.
-- The first :limit rows (NULL: all), each with how many there are (found).
SELECT a.fid,
       a.label,
       b.fid AS other_fid,
       b.label AS other_label,
       count(*) OVER () AS found,
       ST_Distance(a.geom, b.geom) AS measure,
       ST_AsBinary(ST_Transform(b.geom, :storage_srid)) AS geom
FROM _features AS a
JOIN _features AS b ON a.fid < b.fid AND ST_DWithin(a.geom, b.geom, :tolerance_m)
WHERE NOT ST_IsEmpty(a.geom) AND NOT ST_IsEmpty(b.geom)
ORDER BY a.fid, b.fid
LIMIT :limit
