-- Each parcel's classes, label, area (m², local CRS) and district (NULL outside every zone).
-- Inputs: _parcels(fid, geom, label, l1, l2), _parcel_district(fid, zone, share).
SELECT p.fid,
       p.label,
       p.l1,
       p.l2,
       ST_Area(p.geom) AS area_m2,
       d.zone,
       d.share,
       ST_AsBinary(ST_Transform(p.geom, :storage_srid)) AS geom
FROM _parcels AS p
LEFT JOIN _parcel_district AS d USING (fid)
ORDER BY p.fid
