-- Buffers of _features(fid, geom, label) by :distance_m metres in the local CRS, one per
-- feature, with their area (m²); geometry returned in the storage CRS.
SELECT fid,
       label,
       ST_Area(b.geom) AS area_m2,
       ST_AsBinary(ST_Transform(b.geom, :storage_srid)) AS geom
FROM _features AS f
CROSS JOIN LATERAL (SELECT ST_Buffer(f.geom, :distance_m) AS geom) AS b
ORDER BY fid
