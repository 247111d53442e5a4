-- Land-use area (m², local CRS) and parcel counts per zone and class.
-- Inputs: _parcels(fid, geom, code), _zones(fid, geom, zone); both in the local metric CRS.
-- A parcel's area is split between zones by exact intersection, so the classes of a zone sum
-- to the parcel area inside it; a parcel is counted in the zone holding its point on surface.
-- Parcels are cut into pieces of at most 256 vertices first (the street right-of-way parcels
-- have up to 18,000): the pieces tile each parcel exactly and intersect much faster.
CREATE TEMP TABLE _pieces ON COMMIT DROP AS
SELECT fid, code, ST_PointOnSurface(geom) AS pos, ST_Subdivide(geom, 256) AS geom
FROM _parcels;
CREATE INDEX ON _pieces USING gist (geom);
ANALYZE _pieces;
WITH pieces AS (
    SELECT z.zone,
           p.code,
           p.fid,
           CASE WHEN ST_CoveredBy(p.geom, z.geom) THEN ST_Area(p.geom)
                ELSE ST_Area(ST_Intersection(p.geom, z.geom)) END AS area_m2,
           ST_Intersects(p.pos, z.geom) AS counted
    FROM _pieces AS p
    JOIN _zones AS z ON ST_Intersects(p.geom, z.geom)
)
SELECT zone,
       code,
       sum(area_m2) AS area_m2,
       count(DISTINCT fid) FILTER (WHERE counted) AS parcels
FROM pieces
GROUP BY zone, code
HAVING sum(area_m2) > 0 OR count(*) FILTER (WHERE counted) > 0
