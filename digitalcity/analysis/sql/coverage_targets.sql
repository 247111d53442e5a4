-- Coverage per facility layer (_coverage) and by every kind at once (_all_kinds, layer NULL)
-- as population targets _targets(tid, layer, minutes, geom).
DROP TABLE IF EXISTS _targets;
CREATE TEMP TABLE _targets ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY layer NULLS LAST, minutes) AS tid, layer, minutes, geom
FROM (
    SELECT layer, minutes, geom FROM _coverage
    UNION ALL
    SELECT CAST(NULL AS text), minutes, geom FROM _all_kinds
) AS c;
CREATE INDEX ON _targets USING gist (geom);
ANALYZE _targets
