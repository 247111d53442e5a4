-- Pairs of polygon features of _features(fid, geom, label) whose interiors overlap by at
-- least :min_area_m2 m² (local CRS), largest first, with the overlap's area and its shape
-- (storage CRS); the first :limit of them (NULL: all), each row with how many there are
-- (found) and their area in all (found_m2, m²). A pair of equal shapes is a duplicate, not also an overlap.
-- Polygons of more than 64 vertices are cut into pieces of at most 64 first: the pieces tile
-- each polygon exactly, so the pieces' overlaps add up to the polygons', and an index lookup
-- against a parcel of 18,603 vertices no longer tests its whole outline (Cambridge's
-- parcels: 26 s as whole polygons, 3.4 s in pieces: bench.quality); smaller ones stay whole
-- (cutting the SYNTHETIC OSM-like buildings had made them slower). Invalid polygons are left
-- out (reported as invalid). Only the listed pairs' shapes are merged and written.
CREATE TEMP TABLE _pieces ON COMMIT DROP AS
SELECT fid, geom
FROM _features
WHERE ST_NPoints(geom) <= 64 AND NOT ST_IsEmpty(geom) AND ST_IsValid(geom)
UNION ALL
SELECT fid, ST_Subdivide(geom, 64)
FROM _features
WHERE ST_NPoints(geom) > 64 AND ST_IsValid(geom);
CREATE INDEX ON _pieces USING gist (geom);
ANALYZE _pieces;
WITH shared AS (
    SELECT a.fid, b.fid AS other_fid,
           ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3) AS geom
    FROM _pieces AS a
    JOIN _pieces AS b ON a.fid < b.fid AND ST_Intersects(a.geom, b.geom)
),
pairs AS (
    SELECT fid, other_fid, sum(ST_Area(geom)) AS measure,
           ST_Collect(geom) FILTER (WHERE NOT ST_IsEmpty(geom)) AS geom
    FROM shared
    GROUP BY fid, other_fid
    HAVING sum(ST_Area(geom)) >= :min_area_m2
),
listed AS (
    SELECT p.*, count(*) OVER () AS found, sum(p.measure) OVER () AS found_m2
    FROM pairs AS p
    JOIN _features AS a ON a.fid = p.fid
    JOIN _features AS b ON b.fid = p.other_fid
    WHERE NOT (a.geom ~= b.geom AND ST_Equals(a.geom, b.geom))
    ORDER BY p.measure DESC, p.fid, p.other_fid
    LIMIT :limit
)
SELECT l.fid,
       a.label,
       l.other_fid,
       b.label AS other_label,
       l.measure,
       l.found,
       l.found_m2,
       ST_AsBinary(ST_Transform(
           CASE WHEN ST_NumGeometries(l.geom) = 1 THEN ST_GeometryN(l.geom, 1)
                ELSE ST_UnaryUnion(l.geom) END,
           :storage_srid
       )) AS geom
FROM listed AS l
JOIN _features AS a ON a.fid = l.fid
JOIN _features AS b ON b.fid = l.other_fid
ORDER BY l.measure DESC, l.fid, l.other_fid
