"""Editing: ``python -m bench.edits [--patches 300] [--edits 10000]``.

On a throwaway cluster with Cambridge loaded (tile copies built):
- single-feature PATCH throughput through the API (uvicorn, a land_bureau key, ``If-Match: *``)
  at c=1 and c=8, against the SQL floor: the same statements through psycopg (row lock and
  ETag, change set, history insert, UPDATE, rowmeta), one transaction per edit;
- shape PATCHes (each feature's own shape sent back) with the layer's snapping and topology
  rule against ``snap=0``, in turns (``--shapes`` per run);
- an as-of item page against the current page for the same bbox, after ``--edits`` recorded
  edits on the parcels (made through the floor's statements, then ANALYZE), page cache off.
Tiles purged per edit need no bench today: an edit moves the layer's revision, which keys
every cached tile of the layer (all of them are purged); see the README.
"""
