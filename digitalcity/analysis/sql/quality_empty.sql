-- Features of _features(fid, geom, label) with no geometry, or an empty one.
-- The first :limit rows (NULL: all), each with how many there are (found).
SELECT fid, label, count(*) OVER () AS found, NULL::bytea AS geom
FROM _features
WHERE geom IS NULL OR ST_IsEmpty(geom)
ORDER BY fid
LIMIT :limit
