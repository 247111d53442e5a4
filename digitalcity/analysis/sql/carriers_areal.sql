-- Areal interpolation: the census blocks themselves carry the population.
-- Input: _blocks(fid, geom, pop). Output: _carriers(fid, geom, pop, fallback).
CREATE TEMP TABLE _carriers ON COMMIT DROP AS SELECT fid, geom, pop, false AS fallback FROM _blocks;
CREATE INDEX ON _carriers USING gist (geom);
ANALYZE _carriers
