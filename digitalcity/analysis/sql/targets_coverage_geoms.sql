-- Coverage targets with their geometry in the storage CRS.
SELECT tid, layer, minutes, ST_AsBinary(ST_Transform(geom, :storage_srid)) AS geom FROM _targets ORDER BY tid
