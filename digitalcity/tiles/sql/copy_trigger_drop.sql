-- The trigger copy_trigger.sql made on {target}, and its function.
DROP TRIGGER digitalcity_tile_copy_row ON {target};
DROP FUNCTION pg_temp.digitalcity_tile_copy_row()
