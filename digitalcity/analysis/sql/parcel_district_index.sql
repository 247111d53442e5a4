-- Index on the parcel districts copied back from the cache.
CREATE UNIQUE INDEX ON _parcel_district (fid)
