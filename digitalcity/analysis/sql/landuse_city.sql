-- Land-use area (m², local CRS) and parcel counts per class over every parcel of the city.
-- Input: _parcels(fid, geom, code) in the local metric CRS.
SELECT CAST(NULL AS text) AS zone,
       code,
       sum(ST_Area(geom)) AS area_m2,
       count(*) AS parcels
FROM _parcels
GROUP BY code
