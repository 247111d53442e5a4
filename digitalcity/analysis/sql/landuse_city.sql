-- Land-use area (m², local CRS) and parcel counts per class over every parcel of the city.
-- Input: _parcels(fid, geom, code) in the local metric CRS.
-- Sums run in fid order: a float sum depends on its order, and the same parcels read as of a
-- past instant (a union of table and history) come in another order than today's table.
SELECT CAST(NULL AS text) AS zone,
       code,
       sum(ST_Area(geom) ORDER BY fid) AS area_m2,
       count(*) AS parcels
FROM _parcels
GROUP BY code
