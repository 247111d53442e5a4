"""A layer's lineage (地块沿革): which features a split or merge made of which, recorded in
the edit's transaction and read back as a feature's ancestry and descendants."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from digitalcity.catalog.model import LayerDef

_LINEAGE = sa.text(
    "INSERT INTO digitalcity.lineage (changeset, city, layer, kind, parent, child) "
    "SELECT :changeset, :city, :layer, :kind, p, c FROM unnest(CAST(:parents AS bigint[])) p "
    "CROSS JOIN unnest(CAST(:children AS bigint[])) c"
)


def record_lineage(
    conn: Connection,
    layer: LayerDef,
    changeset: int,
    kind: str,
    parents: Sequence[int],
    children: Sequence[int],
) -> None:
    """Change set ``changeset`` split ``parents`` (one) into ``children``, or merged
    ``parents`` into ``children`` (one)."""
    conn.execute(
        _LINEAGE,
        {
            "changeset": changeset,
            "city": layer.city,
            "layer": layer.id,
            "kind": kind,
            "parents": list(parents),
            "children": list(children),
        },
    )


# the change sets of a feature's ancestry (the splits and merges that made it, and theirs,
# each earlier than the last) and of its descendants (later ones, from it and from what it
# became); every link goes one way in time, so the walk ends
_LINEAGE_OF = sa.text(
    "WITH RECURSIVE up (fid, changeset) AS ("
    "SELECT parent, changeset FROM digitalcity.lineage "
    "WHERE city = :city AND layer = :layer AND child = :fid "
    "UNION SELECT l.parent, l.changeset FROM digitalcity.lineage l JOIN up "
    "ON l.city = :city AND l.layer = :layer AND l.child = up.fid AND l.changeset < up.changeset), "
    "down (fid, changeset) AS ("
    "SELECT child, changeset FROM digitalcity.lineage "
    "WHERE city = :city AND layer = :layer AND parent = :fid "
    "UNION SELECT l.child, l.changeset FROM digitalcity.lineage l JOIN down "
    "ON l.city = :city AND l.layer = :layer AND l.parent = down.fid "
    "AND l.changeset > down.changeset) "
    "SELECT l.changeset, l.kind, array_agg(DISTINCT l.parent ORDER BY l.parent) AS parents, "
    "array_agg(DISTINCT l.child ORDER BY l.child) AS children, c.at, "
    "EXISTS (SELECT 1 FROM digitalcity.changesets r WHERE r.reverts = l.changeset) AS reverted "
    "FROM digitalcity.lineage l JOIN digitalcity.changesets c ON c.id = l.changeset "
    "WHERE l.changeset IN (SELECT changeset FROM up UNION SELECT changeset FROM down) "
    "GROUP BY l.changeset, l.kind, c.at ORDER BY l.changeset"
)


def lineage_of(conn: Connection, layer: LayerDef, fid: int) -> list[dict[str, Any]]:
    """The splits and merges of feature ``fid``'s lineage, oldest first: those that made it and
    its ancestors, and those it and its descendants took part in later; each with its change
    set, kind, time, the features before (``parents``) and after (``children``), and whether
    the change set was reverted since."""
    rows = conn.execute(_LINEAGE_OF, {"city": layer.city, "layer": layer.id, "fid": fid})
    return [
        {
            "changeset": int(r.changeset),
            "kind": r.kind,
            "at": r.at.isoformat(),
            "parents": [int(p) for p in r.parents],
            "children": [int(c) for c in r.children],
            "reverted": bool(r.reverted),
        }
        for r in rows
    ]
