-- Parcels whose nearest facility is farther than :distance_m metres (or that have none).
-- Inputs: _parcels(fid, geom, label), _facilities(fid, geom, label), local CRS, indexed.
-- Distance: from the parcel polygon (0 inside it) to the facility, by the index-assisted
-- nearest-neighbour operator (true distances).
SELECT p.fid,
       p.label,
       ST_Area(p.geom) AS area_m2,
       n.fid AS nearest_fid,
       n.label AS nearest,
       n.distance_m,
       ST_AsBinary(ST_Transform(p.geom, :storage_srid)) AS geom
FROM _parcels AS p
LEFT JOIN LATERAL (
    SELECT f.fid, f.label, ST_Distance(p.geom, f.geom) AS distance_m
    FROM _facilities AS f
    ORDER BY f.geom <-> p.geom
    LIMIT 1
) AS n ON true
WHERE n.distance_m IS NULL OR n.distance_m > :distance_m
ORDER BY n.distance_m DESC NULLS FIRST, p.fid
