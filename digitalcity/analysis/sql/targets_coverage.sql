-- The facility layer and walking time of each coverage target.
SELECT tid, layer, minutes FROM _targets ORDER BY tid
