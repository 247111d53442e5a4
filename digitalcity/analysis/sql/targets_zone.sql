-- The zone label of each population target.
SELECT tid, zone FROM _targets ORDER BY tid
