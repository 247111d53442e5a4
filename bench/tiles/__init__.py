"""Vector tile benchmark: our server cold and warm, tipg, and the raw ST_AsMVT floor."""
