-- Gaps: holes enclosed by the polygons of _features(fid, geom, label) together (interior
-- rings of their union) of :min_area_m2 to :max_gap_m2 m² (local CRS), each with its area and
-- the two lowest feature ids around it; geometry returned in the storage CRS.
-- The first :limit rows (NULL: all), each with how many there are (found) and their area
-- in all (found_m2, m²).
WITH covered AS (
    SELECT (ST_Dump(ST_Union(geom))).geom AS geom
    FROM _features
    WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) AND ST_IsValid(geom)
),
holes AS (
    SELECT r.geom
    FROM covered AS c
    CROSS JOIN LATERAL ST_DumpRings(c.geom) AS r
    WHERE r.path[1] > 0 AND ST_Area(r.geom) BETWEEN :min_area_m2 AND :max_gap_m2
)
SELECT n.fids[1] AS fid,
       a.label,
       n.fids[2] AS other_fid,
       b.label AS other_label,
       ST_Area(h.geom) AS measure,
       count(*) OVER () AS found,
       sum(ST_Area(h.geom)) OVER () AS found_m2,
       ST_AsBinary(ST_Transform(h.geom, :storage_srid)) AS geom
FROM holes AS h
CROSS JOIN LATERAL (
    SELECT array_agg(f.fid ORDER BY f.fid) AS fids
    FROM _features AS f
    WHERE ST_Intersects(f.geom, h.geom)
) AS n
LEFT JOIN _features AS a ON a.fid = n.fids[1]
LEFT JOIN _features AS b ON b.fid = n.fids[2]
ORDER BY measure DESC
LIMIT :limit
