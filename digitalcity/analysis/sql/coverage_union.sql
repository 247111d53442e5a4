-- The union of each walking time's catchments, appended to _coverage(layer, minutes, geom).
-- :layer names the facility layer the current _catchments belong to.
CREATE TEMP TABLE IF NOT EXISTS _coverage (layer text, minutes double precision, geom geometry)
    ON COMMIT DROP;
INSERT INTO _coverage
SELECT CAST(:layer AS text), minutes, ST_Union(geom) FROM _catchments GROUP BY minutes
