-- Facilities of _facilities(fid, geom, label) within :distance_m metres of _area(geom), with
-- their distance (m, local CRS; 0 inside the area); geometry in the storage CRS.
SELECT f.fid,
       f.label,
       min(ST_Distance(f.geom, a.geom)) AS distance_m,
       ST_AsBinary(ST_Transform(f.geom, :storage_srid)) AS geom
FROM _facilities AS f
JOIN _area AS a ON ST_DWithin(f.geom, a.geom, :distance_m)
GROUP BY f.fid, f.label, f.geom
ORDER BY distance_m, f.fid
