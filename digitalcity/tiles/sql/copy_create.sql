-- An empty EPSG:3857 copy of a layer table for tiles: fid, every field, the full geometry and
-- one pre-simplified geometry per simplified zoom ({simplified}: , NULL::geometry AS "g<z>").
CREATE TABLE {target} AS
SELECT s.fid{columns}, ST_Transform(s.geom, 3857) AS geom{simplified}
FROM {source} AS s
WITH NO DATA
