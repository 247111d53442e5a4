-- Pairs of features of _features(fid, geom, label) with the same geometry (the same points,
-- in any order or start: ST_Equals), the first of each pair by feature id; the first :limit
-- (NULL: all), each row with how many there are (found). Candidates are the pairs with the
-- same box, joined by its corners (a hash join; through the GiST index, by && or ~=, the
-- SYNTHETIC OSM-like roads' long lines met thousands of boxes each: 22-26 s). Geometry
-- returned in the storage CRS.
WITH boxed AS (
    SELECT fid, label, geom,
           ST_XMin(geom) AS x0, ST_YMin(geom) AS y0, ST_XMax(geom) AS x1, ST_YMax(geom) AS y1
    FROM _features
    WHERE NOT ST_IsEmpty(geom)
)
SELECT a.fid,
       a.label,
       b.fid AS other_fid,
       b.label AS other_label,
       count(*) OVER () AS found,
       ST_AsBinary(ST_Transform(a.geom, :storage_srid)) AS geom
FROM boxed AS a
JOIN boxed AS b
  ON a.x0 = b.x0 AND a.y0 = b.y0 AND a.x1 = b.x1 AND a.y1 = b.y1 AND a.fid < b.fid
WHERE ST_IsValid(a.geom) AND ST_IsValid(b.geom) AND ST_Equals(a.geom, b.geom)
ORDER BY a.fid, b.fid
LIMIT :limit
