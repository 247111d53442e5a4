-- Number of rows staged in _area (0 when a parcel id matched nothing).
SELECT count(*) FROM _area
