-- Features of _features(fid, geom, label) whose geometry breaks the OGC validity rules, with
-- GEOS's reason and the place it names (else a point on the feature); geometry returned in
-- the storage CRS.
-- The first :limit rows (NULL: all), each with how many there are (found).
SELECT f.fid,
       f.label,
       d.reason AS detail,
       count(*) OVER () AS found,
       ST_AsBinary(ST_Transform(
           COALESCE(ST_SetSRID(d.location, :local_srid), ST_PointOnSurface(f.geom)), :storage_srid
       ))
           AS geom
FROM _features AS f
CROSS JOIN LATERAL ST_IsValidDetail(f.geom) AS d
WHERE f.geom IS NOT NULL AND NOT ST_IsEmpty(f.geom) AND NOT d.valid
ORDER BY f.fid
LIMIT :limit
