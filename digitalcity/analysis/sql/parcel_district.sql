-- The district of each parcel: the zone label covering the largest share of its area.
-- Inputs: _parcels(fid, geom, …), _zones(fid, geom, zone, …) in the local metric CRS, staged
-- with their GiST index and statistics (sqlrun.stage).
-- Output: _parcel_district(fid, zone, share) where share = that zone's part of the parcel
-- area (0-1); parcels outside every zone have no row. Ties go to the first zone label.
-- ST_Covers(zone, parcel) keeps the zone as the prepared (cached) geometry: see
-- landuse_by_zone.sql.
CREATE TEMP TABLE _parcel_district ON COMMIT DROP AS
WITH overlap AS (
    SELECT p.fid,
           z.zone,
           sum(CASE WHEN ST_Covers(z.geom, p.geom) THEN ST_Area(p.geom)
                    ELSE ST_Area(ST_Intersection(p.geom, z.geom)) END) AS area_m2
    FROM _zones AS z
    JOIN _parcels AS p ON ST_Intersects(z.geom, p.geom)
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
