SELECT tid, layer, minutes FROM _targets ORDER BY tid
