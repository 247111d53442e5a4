-- Features of _features(fid, geom, label) with no geometry, or an empty one.
SELECT fid, label, NULL::bytea AS geom
FROM _features
WHERE geom IS NULL OR ST_IsEmpty(geom)
ORDER BY fid
