-- Undershoots: an end of a line of _features(fid, geom, label) that meets no other line
-- (none within 1 cm) but stops short of one by at most :tolerance_m metres (local CRS): a
-- street that should join another and does not. Each with the gap (m) and the other line;
-- geometry: the shortest line across the gap, in the storage CRS.
WITH ends AS (
    SELECT f.fid, f.label, e.geom
    FROM _features AS f
    CROSS JOIN LATERAL ST_Dump(f.geom) AS part
    CROSS JOIN LATERAL (
        VALUES (ST_StartPoint(part.geom)), (ST_EndPoint(part.geom))
    ) AS e (geom)
    WHERE f.geom IS NOT NULL AND NOT ST_IsEmpty(f.geom)
)
SELECT e.fid,
       e.label,
       n.fid AS other_fid,
       n.label AS other_label,
       n.measure,
       ST_AsBinary(ST_Transform(n.line, :storage_srid)) AS geom
FROM ends AS e
CROSS JOIN LATERAL (
    SELECT o.fid, o.label, ST_Distance(e.geom, o.geom) AS measure,
           ST_ShortestLine(e.geom, o.geom) AS line
    FROM _features AS o
    WHERE o.fid <> e.fid AND ST_DWithin(e.geom, o.geom, :tolerance_m)
    ORDER BY e.geom <-> o.geom
    LIMIT 1
) AS n
WHERE n.measure > 0.01
  AND NOT EXISTS (
      SELECT 1 FROM _features AS t
      WHERE t.fid <> e.fid AND ST_DWithin(e.geom, t.geom, 0.01)
  )
ORDER BY e.fid, n.measure
