"""Change sets: one row per load, edit request or revert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from digitalcity.catalog.model import LayerDef

Kind = Literal["load", "edit", "revert"]

_OPEN = sa.text(
    "INSERT INTO digitalcity.changesets (kind, city, layer, key_id, role, reason, reverts) "
    "VALUES (:kind, :city, :layer, :key_id, :role, :reason, :reverts) RETURNING id, at"
)
_GET = sa.text(
    "SELECT id, kind, city, layer, key_id, role, reason, at, reverts "
    "FROM digitalcity.changesets WHERE id = :id"
)


@dataclass(frozen=True)
class Author:
    """Who makes a change: the API key's id (None for the loader or a notebook) and role."""

    role: str
    key_id: int | None = None
    reason: str = ""


def open_changeset(
    conn: Connection, kind: Kind, layer: LayerDef, author: Author, reverts: int | None = None
) -> tuple[int, datetime]:
    """A new change set in the caller's transaction; its id and time (the transaction's)."""
    row = conn.execute(
        _OPEN,
        {
            "kind": kind,
            "city": layer.city,
            "layer": layer.id,
            "key_id": author.key_id,
            "role": author.role,
            "reason": author.reason[:2000],
            "reverts": reverts,
        },
    ).one()
    return int(row.id), row.at


def get_changeset(conn: Connection, changeset: int) -> dict[str, object] | None:
    row = conn.execute(_GET, {"id": changeset}).first()
    return dict(row._mapping) if row else None


def authorship(caller: str, changeset: Any) -> dict[str, Any]:
    """Who made a change set and why (its role, key id and reason), for a ``caller`` who is
    signed in; nothing for an anonymous one: a reason is written for colleagues, and a key id
    names a colleague's credential, neither for the public."""
    if caller == "anonymous":
        return {}
    return {"role": changeset.role, "key_id": changeset.key_id, "reason": changeset.reason}
