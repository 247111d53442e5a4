-- Walking catchments of _facilities(fid, geom, label) on the graph _edges / _vertices (local
-- CRS, cost in metres), for each walking time in :minutes at :speed_m_per_min.
-- A facility starts at its nearest graph vertex; the straight access leg to it counts
-- against the walk. pgr_drivingDistance (undirected) gives each reached vertex's walking
-- distance; an edge is taken whole when it can be walked end to end within the budget, else
-- the part reachable from each reached end (ST_LineSubstring). The catchment is those lines
-- (and the access leg) buffered by :buffer_m metres.
-- Output: _catchments(tid, fid, label, minutes, walk_m, geom).
CREATE TEMP TABLE _origins ON COMMIT DROP AS
SELECT f.fid, f.label, f.geom, v.id AS vid, v.geom AS vgeom, ST_Distance(f.geom, v.geom) AS access_m
FROM _facilities AS f
CROSS JOIN LATERAL (
    SELECT id, geom FROM _vertices ORDER BY geom <-> f.geom LIMIT 1
) AS v;
CREATE TEMP TABLE _reached ON COMMIT DROP AS
SELECT o.fid, d.node, d.agg_cost + o.access_m AS dist_m
FROM _origins AS o
CROSS JOIN LATERAL pgr_drivingDistance(
    'SELECT id, source, target, cost FROM _edges', o.vid,
    greatest(:max_m - o.access_m, 0), directed => false
) AS d
WHERE d.agg_cost + o.access_m <= :max_m;
CREATE INDEX ON _reached (fid, node);
ANALYZE _reached;
CREATE TEMP TABLE _catchments ON COMMIT DROP AS
WITH budgets AS (
    SELECT m AS minutes, m * :speed_m_per_min AS budget_m
    FROM unnest(CAST(:minutes AS double precision[])) AS m
), candidates AS (
    SELECT r.fid, e.id FROM _reached AS r JOIN _edges AS e ON e.source = r.node
    UNION
    SELECT r.fid, e.id FROM _reached AS r JOIN _edges AS e ON e.target = r.node
), sides AS (
    SELECT c.fid, e.geom, e.cost, du.dist_m AS du, dv.dist_m AS dv
    FROM candidates AS c
    JOIN _edges AS e ON e.id = c.id
    LEFT JOIN _reached AS du ON du.fid = c.fid AND du.node = e.source
    LEFT JOIN _reached AS dv ON dv.fid = c.fid AND dv.node = e.target
), parts AS (
    -- whole edges
    SELECT s.fid, b.minutes, s.geom
    FROM sides AS s CROSS JOIN budgets AS b
    WHERE s.du + s.cost <= b.budget_m OR s.dv + s.cost <= b.budget_m
    UNION ALL
    -- the part walked in from the source end
    SELECT s.fid, b.minutes, ST_LineSubstring(s.geom, 0, (b.budget_m - s.du) / s.cost)
    FROM sides AS s CROSS JOIN budgets AS b
    WHERE s.du < b.budget_m AND s.du + s.cost > b.budget_m
      AND (s.dv IS NULL OR s.dv + s.cost > b.budget_m) AND s.cost > 0
    UNION ALL
    -- the part walked in from the target end
    SELECT s.fid, b.minutes, ST_LineSubstring(s.geom, 1 - (b.budget_m - s.dv) / s.cost, 1)
    FROM sides AS s CROSS JOIN budgets AS b
    WHERE s.dv < b.budget_m AND s.dv + s.cost > b.budget_m
      AND (s.du IS NULL OR s.du + s.cost > b.budget_m) AND s.cost > 0
    UNION ALL
    -- the access leg from the facility to its vertex
    SELECT o.fid, b.minutes, ST_MakeLine(o.geom, o.vgeom)
    FROM _origins AS o CROSS JOIN budgets AS b
    WHERE o.access_m <= b.budget_m
)
SELECT row_number() OVER (ORDER BY o.fid, b.minutes) AS tid,
       o.fid,
       o.label,
       b.minutes,
       b.budget_m AS walk_m,
       ST_Union(ST_Buffer(p.geom, :buffer_m, 'quad_segs=4')) AS geom
FROM _origins AS o
CROSS JOIN budgets AS b
JOIN parts AS p ON p.fid = o.fid AND p.minutes = b.minutes
GROUP BY o.fid, o.label, b.minutes, b.budget_m;
CREATE INDEX ON _catchments USING gist (geom);
ANALYZE _catchments
