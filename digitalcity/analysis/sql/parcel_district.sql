-- The district of each parcel: the zone label covering the largest share of its area.
-- Inputs: _parcels(fid, geom, …), _zones(fid, geom, zone, …) in the local metric CRS.
-- Output: _parcel_district(fid, zone, share) where share = that zone's part of the parcel
-- area (0-1); parcels outside every zone have no row. Ties go to the first zone label.
CREATE TEMP TABLE _pieces ON COMMIT DROP AS
SELECT fid, ST_Subdivide(geom, 256) AS geom FROM _parcels;
CREATE INDEX ON _pieces USING gist (geom);
ANALYZE _pieces;
CREATE TEMP TABLE _parcel_district ON COMMIT DROP AS
WITH overlap AS (
    SELECT p.fid,
           z.zone,
           sum(CASE WHEN ST_CoveredBy(p.geom, z.geom) THEN ST_Area(p.geom)
                    ELSE ST_Area(ST_Intersection(p.geom, z.geom)) END) AS area_m2
    FROM _pieces AS p
    JOIN _zones AS z ON ST_Intersects(p.geom, z.geom)
    GROUP BY p.fid, z.zone
), ranked AS (
    SELECT fid, zone, area_m2,
           row_number() OVER (PARTITION BY fid ORDER BY area_m2 DESC, zone) AS rank
    FROM overlap
    WHERE area_m2 > 0
)
SELECT r.fid, r.zone, r.area_m2 / nullif(ST_Area(p.geom), 0) AS share
FROM ranked AS r
JOIN _parcels AS p USING (fid)
WHERE r.rank = 1;
CREATE UNIQUE INDEX ON _parcel_district (fid)
