-- Indexes and statistics on the graph copied from the cache into _edges / _vertices.
CREATE INDEX ON _vertices USING gist (geom);
CREATE INDEX ON _edges (source);
CREATE INDEX ON _edges (target);
ANALYZE _vertices;
ANALYZE _edges
