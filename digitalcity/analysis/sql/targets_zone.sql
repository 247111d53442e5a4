SELECT tid, zone FROM _targets ORDER BY tid
