-- Features of _coded(fid, geom, label, code) whose code is one of :codes (those the code
-- table lacks), with the code; geometry: a point on the feature, in the storage CRS.
-- The first :limit rows (NULL: all), each with how many there are (found).
SELECT fid,
       label,
       code::text AS detail,
       count(*) OVER () AS found,
       ST_AsBinary(ST_Transform(ST_PointOnSurface(geom), :storage_srid)) AS geom
FROM _coded
WHERE code::text = ANY(:codes)
ORDER BY fid
LIMIT :limit
