-- A routable street graph from _streets(fid, geom): LineStrings in the local metric CRS.
-- 1. Node: ST_UnaryUnion splits every line where lines cross or touch and drops duplicated
--    overlaps (as pgr_nodeNetwork would).
-- 2. Snap: segment ends closer than :snap_m metres become one vertex (ST_ClusterDBSCAN), which
--    closes digitising gaps at junctions.
-- Output: _edges(id, source, target, cost, geom) with cost = length in metres and geom running
-- from source to target; _vertices(id, geom). Both temporary, indexed.
CREATE TEMP TABLE _noded ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY ST_XMin(geom), ST_YMin(geom), ST_Length(geom)) AS id, geom
FROM (
    SELECT (ST_Dump(ST_UnaryUnion(ST_Collect(geom)))).geom AS geom FROM _streets
) AS parts
WHERE ST_Length(geom) > 0;
CREATE TEMP TABLE _ends ON COMMIT DROP AS
WITH ends AS (
    SELECT DISTINCT ST_StartPoint(geom) AS geom FROM _noded
    UNION
    SELECT DISTINCT ST_EndPoint(geom) FROM _noded
)
SELECT geom, ST_ClusterDBSCAN(geom, eps := :snap_m, minpoints := 1) OVER () AS cluster
FROM ends;
CREATE TEMP TABLE _vertices ON COMMIT DROP AS
SELECT cluster + 1 AS id, ST_Centroid(ST_Collect(geom)) AS geom
FROM _ends
GROUP BY cluster;
CREATE TEMP TABLE _edges ON COMMIT DROP AS
SELECT n.id,
       s.cluster + 1 AS source,
       t.cluster + 1 AS target,
       ST_Length(n.geom) AS cost,
       n.geom
FROM _noded AS n
JOIN _ends AS s ON ST_AsBinary(s.geom) = ST_AsBinary(ST_StartPoint(n.geom))
JOIN _ends AS t ON ST_AsBinary(t.geom) = ST_AsBinary(ST_EndPoint(n.geom));
CREATE INDEX ON _vertices USING gist (geom);
CREATE INDEX ON _edges (source);
CREATE INDEX ON _edges (target);
ANALYZE _vertices;
ANALYZE _edges
