-- A row trigger that turns each row written into a load's EPSG:3857 copy from the layer
-- table's form (fid, storage-CRS geom, fields) into the copy's, with the expressions of
-- copy_fill.sql: the loader COPYs its batches into the copy as into the staging table.
-- {target} is the copy (quoted); {transform} reprojects NEW.geom to EPSG:3857 (empty when
-- the loader sends it projected: digitalcity.ingest.webmercator); {simplified} holds one
-- NEW."g<z>" := ST_Simplify(NEW.geom, <tolerance>::float8); per simplified zoom, the
-- tolerances numbers from the catalog. Dropped again (copy_trigger_drop.sql) before the
-- copy's transaction commits.
CREATE FUNCTION pg_temp.digitalcity_tile_copy_row() RETURNS trigger
LANGUAGE plpgsql AS $row$
BEGIN{transform}{simplified}
    RETURN NEW;
END
$row$;
CREATE TRIGGER digitalcity_tile_copy_row BEFORE INSERT ON {target}
FOR EACH ROW EXECUTE FUNCTION pg_temp.digitalcity_tile_copy_row()
