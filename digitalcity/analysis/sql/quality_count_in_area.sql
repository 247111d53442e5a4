-- The features of _features checked in an area: those meeting _area(geom) (the staged
-- features around it are there only for the faults they share with these).
SELECT count(*) AS features
FROM _features AS f
WHERE EXISTS (SELECT 1 FROM _area AS a WHERE ST_Intersects(f.geom, a.geom))
