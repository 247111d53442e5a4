-- Population targets from the catchments: _catchments(tid, geom, …) → _targets(tid, geom).
CREATE TEMP TABLE _targets ON COMMIT DROP AS SELECT tid, geom FROM _catchments;
CREATE INDEX ON _targets USING gist (geom);
ANALYZE _targets
