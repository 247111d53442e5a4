"""One history for loads and edits (DESIGN.md "Keeping data: edits, history and as-of").

Each layer keeps its current rows in its table; beside it

- ``<layer>__rowmeta`` (fid, valid_from, changeset): since when each current row is as it is,
  and which change set made it so;
- ``<layer>__history``: every earlier version of a row — the layer's columns, the period it
  was current (``valid``, a ``tstzrange``, GiST-indexed), the change set that ended it and
  whether that was an update or a delete;
- ``digitalcity.changesets``: who (key id, role), when, why, and what kind (load, edit,
  revert).

A load is a change set like an edit: its swap compares the new rows with the old by fid and
row value and closes the versions that changed or vanished into the history, so the history is
continuous across reloads (the ``<layer>__v<n>`` tables stay as the loader's undo copies).
"As of T" reads the current rows current since before T, plus the history rows whose period
contains T (``asof.py``), through the same query builders as current reads.
"""
