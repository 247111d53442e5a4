-- Fill the EPSG:3857 copy; {simplified} is , ST_Simplify(m.geom, :tol_<z>) per simplified
-- zoom, the same expression layer_direct.sql uses, so both paths give the same tiles.
INSERT INTO {target}
SELECT m.*{simplified}
FROM (SELECT s.fid{columns}, ST_Transform(s.geom, 3857) AS geom FROM {source} AS s) AS m
