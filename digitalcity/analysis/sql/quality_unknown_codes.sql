-- Features of _coded(fid, geom, label, code) whose code is one of :codes (those the code
-- table lacks), with the code; geometry: a point on the feature, in the storage CRS.
SELECT fid,
       label,
       code::text AS detail,
       ST_AsBinary(ST_Transform(ST_PointOnSurface(geom), :storage_srid)) AS geom
FROM _coded
WHERE code::text = ANY(:codes)
ORDER BY fid
