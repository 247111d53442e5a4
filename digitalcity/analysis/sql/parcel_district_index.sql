CREATE UNIQUE INDEX ON _parcel_district (fid)
