-- The user's polygon as the only zone: _area(id, geom) → _zones(fid, geom, zone NULL).
CREATE TEMP TABLE _zones ON COMMIT DROP AS
SELECT CAST(id AS bigint) AS fid, CAST(NULL AS text) AS zone, geom FROM _area;
CREATE INDEX ON _zones USING gist (geom);
ANALYZE _zones
