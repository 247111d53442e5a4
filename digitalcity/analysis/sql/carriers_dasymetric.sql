-- Dasymetric mask: each block's population is placed on the residential parcels inside it,
-- in proportion to their area (the parcel pieces cut at the block's edges); a populated block
-- with no residential parcel keeps its population spread over the whole block (areal
-- fallback), so the carriers always sum to the census total.
-- Inputs: _blocks(fid, geom, pop), _residential(fid, geom) in the local metric CRS.
-- Output: _carriers(fid, geom, pop, fallback).
CREATE TEMP TABLE _res_pieces ON COMMIT DROP AS
SELECT b.fid AS block,
       CASE WHEN ST_Covers(b.geom, r.geom) THEN r.geom
            ELSE ST_CollectionExtract(ST_Intersection(r.geom, b.geom), 3) END AS geom
FROM _residential AS r
JOIN _blocks AS b ON ST_Intersects(r.geom, b.geom);
DELETE FROM _res_pieces WHERE ST_IsEmpty(geom) OR ST_Area(geom) = 0;
CREATE TEMP TABLE _carriers ON COMMIT DROP AS
WITH res_area AS (
    SELECT block, sum(ST_Area(geom)) AS area_m2 FROM _res_pieces GROUP BY block
)
SELECT row_number() OVER () AS fid, geom, pop, fallback
FROM (
    SELECT p.geom, b.pop * ST_Area(p.geom) / a.area_m2 AS pop, false AS fallback
    FROM _res_pieces AS p
    JOIN res_area AS a USING (block)
    JOIN _blocks AS b ON b.fid = p.block
    UNION ALL
    SELECT b.geom, b.pop, true
    FROM _blocks AS b
    WHERE NOT EXISTS (SELECT 1 FROM res_area AS a WHERE a.block = b.fid)
) AS c;
CREATE INDEX ON _carriers USING gist (geom);
ANALYZE _carriers
