-- Narrow the area reached from every kind of facility to the coverage of layer :layer too.
UPDATE _all_kinds AS a
SET geom = ST_Intersection(a.geom, c.geom)
FROM _coverage AS c
WHERE c.layer = :layer AND c.minutes = a.minutes
