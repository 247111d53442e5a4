-- Pairs of polygon features of _features(fid, geom, label) whose interiors overlap by at
-- least :min_area_m2 m² (local CRS), with the overlap's area and its shape (storage CRS).
-- The polygons are cut into pieces of at most 64 vertices first: the pieces tile each
-- polygon exactly, so the pieces' overlaps add up to the polygons', and an index lookup
-- against a parcel of 18,603 vertices no longer tests its whole outline (Cambridge's
-- parcels: 84 s as whole polygons, 2 s in pieces). Invalid polygons are left out (reported
-- as invalid).
CREATE TEMP TABLE _pieces ON COMMIT DROP AS
SELECT fid, ST_Subdivide(geom, 64) AS geom
FROM _features
WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) AND ST_IsValid(geom);
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
)
SELECT p.fid,
       a.label,
       p.other_fid,
       b.label AS other_label,
       p.measure,
       ST_AsBinary(ST_Transform(ST_UnaryUnion(p.geom), :storage_srid)) AS geom
FROM pairs AS p
JOIN _features AS a ON a.fid = p.fid
JOIN _features AS b ON b.fid = p.other_fid
ORDER BY p.measure DESC, p.fid, p.other_fid
