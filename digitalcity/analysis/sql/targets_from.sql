-- Population targets from the staged zones: _zones(fid, geom, zone) → _targets(tid, geom, zone).
CREATE TEMP TABLE _targets ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY zone, fid) AS tid, zone, ST_Union(geom) AS geom
FROM _zones
GROUP BY zone, fid;
CREATE INDEX ON _targets USING gist (geom);
ANALYZE _targets
