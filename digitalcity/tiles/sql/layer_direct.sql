-- One Mapbox Vector Tile layer read straight from the layer table (storage CRS), used until
-- the layer's EPSG:3857 copy is ready. The bbox test runs in the storage CRS on the GiST-indexed
-- geom; the envelope carries the same margin as the ST_AsMVTGeom buffer.
-- {table}, {columns}, {geometry} come from the catalog (quoted identifiers); {p} is a
-- per-layer parameter prefix; every value is a bound parameter. OFFSET 0 keeps the sub-select
-- apart: flattened, PostgreSQL would run ST_AsMVTGeom twice per row (filter and output).
SELECT coalesce(ST_AsMVT(t, :{p}name, :extent, 'geom', 'fid'), ''::bytea)
FROM (
    SELECT s.fid{columns},
           ST_AsMVTGeom({geometry}, ST_TileEnvelope(:z, :x, :y), :extent, :buffer, true) AS geom
    FROM {table} AS s
    WHERE s.geom && ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), :{p}srid)
    OFFSET 0
) AS t
WHERE t.geom IS NOT NULL
