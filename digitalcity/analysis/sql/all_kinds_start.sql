-- Start the area reached from every kind of facility with the coverage of layer :layer.
CREATE TEMP TABLE _all_kinds ON COMMIT DROP AS
SELECT minutes, geom FROM _coverage WHERE layer = :layer
