SELECT count(*) FROM _area
