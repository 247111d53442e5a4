-- The trigger copy_trigger.sql made on {staging}, and its function.
DROP TRIGGER digitalcity_tile_copy_batch ON {staging};
DROP FUNCTION pg_temp.digitalcity_tile_copy_batch()
