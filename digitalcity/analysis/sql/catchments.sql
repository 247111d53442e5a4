-- The catchments with their area (m², local CRS) and geometry in the storage CRS.
SELECT tid, fid, label, minutes, walk_m, ST_Area(geom) AS area_m2,
       ST_AsBinary(ST_Transform(geom, :storage_srid)) AS geom
FROM _catchments
ORDER BY tid
