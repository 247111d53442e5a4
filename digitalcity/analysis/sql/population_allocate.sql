-- Residents of each target polygon: every carrier's population (a census block, or for the
-- dasymetric method a residential piece of a block) is shared out in proportion to the part
-- of its area inside the target.
-- Inputs: _targets(tid, geom), _carriers(fid, geom, pop) in the local metric CRS.
-- Targets are cut into pieces of at most 128 vertices first (exact tiling, fast overlays).
-- Output: tid, population (persons, fractional), area_m2 of the target.
WITH pieces AS (
    SELECT tid, ST_Subdivide(geom, 128) AS geom FROM _targets
), shares AS (
    SELECT p.tid,
           sum(b.pop * CASE WHEN ST_Covers(p.geom, b.geom) THEN 1.0
                            ELSE ST_Area(ST_Intersection(b.geom, p.geom)) / nullif(ST_Area(b.geom), 0)
                       END) AS population
    FROM pieces AS p
    JOIN _carriers AS b ON ST_Intersects(b.geom, p.geom)
    GROUP BY p.tid
)
SELECT t.tid, coalesce(s.population, 0) AS population, ST_Area(t.geom) AS area_m2
FROM _targets AS t
LEFT JOIN shares AS s USING (tid)
ORDER BY t.tid
