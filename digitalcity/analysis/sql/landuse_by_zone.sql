-- Land-use area (m², local CRS) and parcel counts per zone and class.
-- Inputs: _parcels(fid, geom, code), _zones(fid, geom, zone); both in the local metric CRS,
-- staged with their GiST index and statistics (sqlrun.stage: a second index here cost a GiST
-- build over every parcel).
-- A parcel's area is split between zones by exact intersection, so the classes of a zone sum
-- to the parcel area inside it; a parcel is counted in the zone holding its point on surface.
-- ST_Covers(zone, parcel) keeps the zone as the prepared (cached) geometry across the parcels
-- it is tested against: ten times faster than ST_CoveredBy(parcel, zone) on Cambridge, and
-- faster than cutting large parcels into pieces first.
-- Sums run in fid order, so that the answer does not depend on the order rows are read in
-- (see landuse_city.sql).
-- Each piece's area and point test are computed once, before the grouping sorts the pieces:
-- inlined, the sort carried every zone's and parcel's geometry, and the HAVING clause's own
-- aggregates computed the intersections a second time (4.0M SYNTHETIC parcels: see README).
WITH pieces AS MATERIALIZED (
    SELECT z.zone,
           p.code,
           p.fid,
           CASE WHEN ST_Covers(z.geom, p.geom) THEN ST_Area(p.geom)
                ELSE ST_Area(ST_Intersection(p.geom, z.geom)) END AS area_m2,
           ST_Intersects(z.geom, ST_PointOnSurface(p.geom)) AS counted
    FROM _zones AS z
    JOIN _parcels AS p ON ST_Intersects(z.geom, p.geom)
)
SELECT zone,
       code,
       sum(area_m2 ORDER BY fid) AS area_m2,
       count(DISTINCT fid) FILTER (WHERE counted) AS parcels
FROM pieces
GROUP BY zone, code
HAVING sum(area_m2 ORDER BY fid) > 0 OR count(DISTINCT fid) FILTER (WHERE counted) > 0
