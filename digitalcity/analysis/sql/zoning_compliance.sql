-- Built FAR and stories of each parcel against its district's controls.
-- Inputs: _parcels(fid, geom, label, land_area, floor_area, stories), _parcel_district,
-- _zones(zone, max_far, max_height). :feet_per_story converts stories to an implied height;
-- :height_to_ft takes the height limit from its declared unit to ft, :floor_to_land the floor
-- area to the land area's unit (both from the layer definitions' field units). Limits get a
-- relative tolerance of 1e-9 so a limit met exactly stays met after a unit round trip.
-- A status is 'over' or 'within' only when both the control and the parcel figure are known;
-- otherwise 'unknown' (an unknown control is not a control that is met). Overall: 'over' if
-- any check is over, 'within' if both are within, else 'unknown'.
WITH controls AS (
    SELECT zone, max(max_far) AS max_far, max(max_height) * :height_to_ft AS max_height_ft
    FROM _zones
    GROUP BY zone
), figures AS (
    SELECT p.fid,
           p.label,
           d.zone,
           d.share,
           p.land_area,
           p.floor_area,
           CASE WHEN p.land_area > 0 AND p.floor_area >= 0 THEN p.floor_area * :floor_to_land / p.land_area END
               AS far,
           p.stories,
           CASE WHEN p.stories > 0 THEN p.stories * :feet_per_story END AS implied_height_ft,
           c.max_far,
           c.max_height_ft,
           p.geom
    FROM _parcels AS p
    LEFT JOIN _parcel_district AS d USING (fid)
    LEFT JOIN controls AS c USING (zone)
), checked AS (
    SELECT *,
           CASE WHEN far IS NULL OR max_far IS NULL THEN 'unknown'
                WHEN far > max_far * (1 + 1e-9) THEN 'over' ELSE 'within' END AS far_status,
           CASE WHEN implied_height_ft IS NULL OR max_height_ft IS NULL THEN 'unknown'
                WHEN implied_height_ft > max_height_ft * (1 + 1e-9) THEN 'over' ELSE 'within' END
               AS height_status
    FROM figures
)
SELECT fid, label, zone, share, land_area, floor_area, far, max_far, far_status,
       stories, implied_height_ft, max_height_ft, height_status,
       CASE WHEN far_status = 'over' OR height_status = 'over' THEN 'over'
            WHEN far_status = 'within' AND height_status = 'within' THEN 'within'
            ELSE 'unknown' END AS status,
       ST_AsBinary(ST_Transform(geom, :storage_srid)) AS geom
FROM checked
ORDER BY fid
