"""Vector tiles: tile matrix sets, MVT SQL, the tile cache, styles and the PMTiles export.

The multi-layer city tileset and the per-layer tilesets are both derived from the catalog;
see ``tiles/README.md`` for the cache layout and the HTTP behaviour.
"""
