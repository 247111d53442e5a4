-- The edges of _edges with their length (m, local CRS) and geometry in the storage CRS.
SELECT id, source, target, cost AS length_m, ST_AsBinary(ST_Transform(geom, :storage_srid)) AS geom
FROM _edges
ORDER BY id
