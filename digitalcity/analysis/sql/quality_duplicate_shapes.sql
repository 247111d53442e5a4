-- Pairs of features of _features(fid, geom, label) with the same geometry (the same points,
-- in any order or start: ST_Equals), the first of each pair by feature id; found through the
-- GiST index as equal boxes (~=) first. Geometry returned in the storage CRS.
SELECT a.fid,
       a.label,
       b.fid AS other_fid,
       b.label AS other_label,
       ST_AsBinary(ST_Transform(a.geom, :storage_srid)) AS geom
FROM _features AS a
JOIN _features AS b ON a.fid < b.fid AND a.geom && b.geom AND a.geom ~= b.geom
WHERE ST_IsValid(a.geom) AND ST_IsValid(b.geom) AND ST_Equals(a.geom, b.geom)
ORDER BY a.fid, b.fid
