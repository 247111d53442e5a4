-- A statement trigger on a load's staging table: every COPY of a batch into it fills the
-- load's EPSG:3857 tile copy from that batch's rows (the transition table "batch"), with the
-- statement of copy_fill.sql. {staging} is the staging table (quoted); {fill} is copy_fill.sql
-- whose source is the batch and whose tolerances are numbers from the catalog. Dropped again
-- (copy_trigger_drop.sql) before the staging table's transaction commits.
CREATE FUNCTION pg_temp.digitalcity_tile_copy_batch() RETURNS trigger
LANGUAGE plpgsql AS $batch$
BEGIN
    {fill};
    RETURN NULL;
END
$batch$;
CREATE TRIGGER digitalcity_tile_copy_batch AFTER INSERT ON {staging}
REFERENCING NEW TABLE AS batch
FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.digitalcity_tile_copy_batch()
