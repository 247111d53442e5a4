-- Zones clipped to the user's polygon: _zones_all(fid, geom, zone) ∩ _area(geom) → _zones.
CREATE TEMP TABLE _zones ON COMMIT DROP AS
SELECT z.fid,
       z.zone,
       ST_Multi(ST_CollectionExtract(ST_Intersection(z.geom, a.geom), 3)) AS geom
FROM _zones_all AS z
JOIN _area AS a ON ST_Intersects(z.geom, a.geom);
DELETE FROM _zones WHERE ST_IsEmpty(geom);
CREATE INDEX ON _zones USING gist (geom);
ANALYZE _zones
