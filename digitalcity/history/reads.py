"""Reading the history: a feature's versions, the changes of a period, and reverting a change
set. Field access applies: only the fields the role may read are shown or compared."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from digitalcity.catalog.access import Role, visible_fields
from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.db.schema import layer_table
from digitalcity.errors import DigitalCityError, NotFound
from digitalcity.history.asof import as_of_relation
from digitalcity.history.changesets import Author, authorship, get_changeset, open_changeset
from digitalcity.history.tables import history_table, rowmeta_table

_CHANGESETS = sa.text(
    "SELECT id, kind, key_id, role, reason, at FROM digitalcity.changesets WHERE id = ANY(:ids)"
)


_MADE_AT = sa.text(
    "SELECT id FROM digitalcity.changesets WHERE city = :city AND layer = :layer AND at = :at "
    "ORDER BY id LIMIT 1"
)


class RevertConflict(DigitalCityError):
    status = 409
    title = "Cannot revert"


class NotYourChange(DigitalCityError):
    status = 403
    title = "Not allowed to revert"


def made_by(changeset: dict[str, Any], author: Author) -> bool:
    """Whether ``changeset`` is an edit (or revert) made with ``author``'s API key: one its
    author may undo without an admin. A load, or a change made without a key, is nobody's."""
    return (
        author.key_id is not None
        and changeset["key_id"] == author.key_id
        and changeset["kind"] != "load"
    )


def _props(row: Any, fields: list[str]) -> dict[str, Any]:
    return {f: row._mapping[f] for f in fields}


def feature_history(
    conn: Connection, layer: LayerDef, city: CityDef, role: Role, fid: int
) -> list[dict[str, Any]]:
    """Every version of feature ``fid``, oldest first: its period (``valid_from`` … ``valid_to``,
    None while current), the change sets that made and ended it, and its visible fields and
    geometry (GeoJSON, lon/lat). NotFound when the feature never existed."""
    fields = [f.name for f in visible_fields(role, layer)]
    past = history_table(layer, city)
    current = layer_table(layer, city)
    meta = rowmeta_table(layer, city)
    older = conn.execute(
        sa.select(
            past,
            sa.func.lower(past.c.valid).label("valid_from"),
            sa.func.upper(past.c.valid).label("valid_to"),
            sa.func.ST_AsGeoJSON(sa.func.ST_Transform(past.c.geom, 4326), 7).label("geojson"),
        )
        .where(past.c.fid == fid)
        .order_by(sa.func.lower(past.c.valid))
    ).all()
    now = conn.execute(
        sa.select(
            current,
            meta.c.valid_from,
            meta.c.changeset.label("made_by"),
            sa.func.ST_AsGeoJSON(sa.func.ST_Transform(current.c.geom, 4326), 7).label("geojson"),
        )
        .select_from(current.outerjoin(meta, meta.c.fid == current.c.fid))
        .where(current.c.fid == fid)
    ).first()
    if not older and now is None:
        raise NotFound(f"feature {fid} never existed in {layer.city}__{layer.id}")
    versions: list[dict[str, Any]] = []
    made_by: int | None = None
    for row in older:
        versions.append(
            {
                "valid_from": _stamp(row.valid_from),
                "valid_to": _stamp(row.valid_to),
                "created_by": made_by,
                "ended_by": int(row.changeset),
                "ended_as": row.op,
                "properties": _props(row, fields),
                "geometry": json.loads(row.geojson) if row.geojson else None,
            }
        )
        made_by = int(row.changeset) if row.op == "update" else None
    if now is not None:
        versions.append(
            {
                "valid_from": _stamp(now.valid_from),
                "valid_to": None,
                "created_by": int(now.made_by) if now.made_by is not None else made_by,
                "ended_by": None,
                "ended_as": None,
                "properties": _props(now, fields),
                "geometry": json.loads(now.geojson),
            }
        )
    _creators_by_time(conn, layer, older, versions)
    _attach_changesets(conn, versions, role)
    return versions


def version_at(
    conn: Connection, layer: LayerDef, city: CityDef, fid: int, instant: dt.datetime
) -> tuple[dict[str, Any], bytes | None] | None:
    """Feature ``fid``'s past version valid at ``instant``: every field, and its geometry as
    WKB in the storage CRS, exact; None when ``instant`` falls in no past version (the current
    one, or before the feature or after its deletion)."""
    past = history_table(layer, city)
    fields = [f.name for f in layer.all_fields]
    row = conn.execute(
        sa.select(*(past.c[f] for f in fields), sa.func.ST_AsBinary(past.c.geom).label("wkb"))
        .where(past.c.fid == fid, past.c.valid.op("@>")(sa.cast(instant, sa.TIMESTAMP(True))))
        .limit(1)
    ).first()
    if row is None:
        return None
    return _props(row, fields), bytes(row.wkb) if row.wkb is not None else None


def _creators_by_time(
    conn: Connection, layer: LayerDef, older: Sequence[Any], versions: list[dict[str, Any]]
) -> None:
    """A version whose maker is not on record (the first one of a feature) was made by the
    change set of the layer at the instant it began: the load, or the edit, of that moment."""
    starts = [row.valid_from for row in older]
    for version, start in zip(versions, starts, strict=False):
        if version["created_by"] is None and start is not None:
            found = conn.execute(
                _MADE_AT, {"city": layer.city, "layer": layer.id, "at": start}
            ).scalar()
            version["created_by"] = int(found) if found is not None else None


def _stamp(value: dt.datetime | None) -> str | None:
    if value is None or value in (dt.datetime.min, dt.datetime.max):
        return None
    try:
        return value.isoformat()
    except (OverflowError, ValueError):
        return None


def _attach_changesets(conn: Connection, versions: list[dict[str, Any]], caller: Role) -> None:
    """Each version's change sets: which, what kind and when; who and why for a signed-in
    ``caller`` (``authorship``)."""
    ids = {v[k] for v in versions for k in ("created_by", "ended_by") if v[k] is not None}
    rows = {r.id: r for r in conn.execute(_CHANGESETS, {"ids": list(ids)})} if ids else {}
    for version in versions:
        for key in ("created_by", "ended_by"):
            cs = rows.get(version[key])
            if cs is not None:
                version[key] = {
                    "changeset": cs.id,
                    "kind": cs.kind,
                    **authorship(caller, cs),
                    "at": cs.at.isoformat(),
                }


def changes(
    conn: Connection,
    layer: LayerDef,
    city: CityDef,
    role: Role,
    since: dt.datetime,
    until: dt.datetime,
) -> dict[str, Any]:
    """Features added, modified and deleted between ``since`` and ``until`` (state at each
    instant compared), with the visible fields that changed and whether the geometry did."""
    fields = [f.name for f in visible_fields(role, layer)]
    past = history_table(layer, city)
    meta = rowmeta_table(layer, city)
    touched = sa.union(
        sa.select(past.c.fid).where(
            sa.func.upper(past.c.valid) > since, sa.func.upper(past.c.valid) <= until
        ),
        sa.select(past.c.fid).where(
            sa.func.lower(past.c.valid) > since, sa.func.lower(past.c.valid) <= until
        ),
        sa.select(meta.c.fid).where(meta.c.valid_from > since, meta.c.valid_from <= until),
    ).subquery("touched")
    # two as-of relations in one statement: the two instants bound apart
    before = as_of_relation(layer, city, since, param="as_of_before", name="before")
    after = as_of_relation(layer, city, until, param="as_of_after", name="after")
    columns = [
        touched.c.fid,
        (before.c.fid.is_not(None)).label("was"),
        (after.c.fid.is_not(None)).label("is"),
        sa.func.ST_Equals(before.c.geom, after.c.geom).label("same_geometry"),
        *(before.c[f].label(f"b_{f}") for f in fields),
        *(after.c[f].label(f"a_{f}") for f in fields),
    ]
    rows = conn.execute(
        sa.select(*columns)
        .select_from(
            touched.outerjoin(before, before.c.fid == touched.c.fid).outerjoin(
                after, after.c.fid == touched.c.fid
            )
        )
        .order_by(touched.c.fid)
    ).all()
    added, modified, deleted = [], [], []
    for r in rows:
        m = r._mapping
        if m["is"] and not m["was"]:
            added.append(int(r.fid))
        elif m["was"] and not m["is"]:
            deleted.append(int(r.fid))
        elif m["was"] and m["is"]:
            changed = [f for f in fields if m[f"b_{f}"] != m[f"a_{f}"]]
            if not m["same_geometry"]:
                changed.append("geometry")
            if changed:
                modified.append({"id": int(r.fid), "fields": changed})
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "added": added,
        "modified": modified,
        "deleted": deleted,
    }


def _content(conn: Connection, relation: sa.Table, columns: list[str], *where: Any) -> Any:
    """One row's values of the layer's ``columns`` (its geometry as WKB), or None."""
    picked = [
        sa.func.ST_AsBinary(relation.c[c]).label(c) if c == "geom" else relation.c[c]
        for c in columns
    ]
    row = conn.execute(sa.select(*picked).where(*where).limit(1)).first()
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) if row else None


def revert_changeset(
    engine: Engine,
    layer: LayerDef,
    city: CityDef,
    changeset: int,
    author: Author,
    *,
    own_only: bool = False,
) -> int:
    """Undo change set ``changeset`` of ``layer`` as a new change set (kind ``revert``): every
    feature it touched goes back to its state just before it. Refused (409) when one of those
    features is not now as the change set left it (changed again since, unless a later
    revert put it back: undo after undo works step by step). With ``own_only`` (an editor, not
    an admin) only a change set ``author`` made with the same key (``made_by``; else 403).
    Returns the new change set's id."""
    from digitalcity.editing import store
    from digitalcity.history.tables import ensure_tables

    with engine.begin() as conn:
        info = get_changeset(conn, changeset)
        if info is None or info["city"] != layer.city or info["layer"] != layer.id:
            raise NotFound(f"no change set {changeset} of {layer.city}__{layer.id}")
        if own_only and not made_by(info, author):
            raise NotYourChange(
                "an editor may undo only their own edits; an admin may undo any change "
                "/ 编辑人员只能撤销自己的修改，管理员可撤销任何变更"
            )
        ensure_tables(conn, layer, city)
        past = history_table(layer, city)
        meta = rowmeta_table(layer, city)
        table = layer_table(layer, city)
        names = [c.name for c in table.columns]
        ended = {  # the versions it ended: fid -> how ("update", "delete")
            int(r.fid): r.op
            for r in conn.execute(
                sa.select(past.c.fid, past.c.op).where(past.c.changeset == changeset)
            )
        }
        # the features it made a version of: current since it, or ended since by a later change
        current = {
            int(r.fid)
            for r in conn.execute(sa.select(meta.c.fid).where(meta.c.changeset == changeset))
        }
        later = {
            int(r.fid)
            for r in conn.execute(
                sa.select(past.c.fid).where(
                    sa.func.lower(past.c.valid) == info["at"], past.c.changeset != changeset
                )
            )
        }
        made = current | later
        # a feature current since the change set is as it left it; one it made that changed
        # since must be back as it left it (a later revert), and one it deleted still gone
        for fid in sorted(later - current):
            left = _content(
                conn, past, names, past.c.fid == fid, sa.func.lower(past.c.valid) == info["at"]
            )
            if _content(conn, table, names, table.c.fid == fid) != left:
                raise RevertConflict(
                    f"feature {fid} was changed again after change set {changeset}"
                )
        deleted = sorted(set(ended) - made)
        back = conn.execute(
            sa.select(table.c.fid).where(table.c.fid.in_(deleted)).limit(1)
        ).scalar()
        if back is not None:
            raise RevertConflict(f"feature {back} was changed again after change set {changeset}")
        new, _ = open_changeset(conn, "revert", layer, author, reverts=changeset)
        # the versions it made (or ones equal to them) end now, in one statement each
        updated = sorted(made & set(ended))
        store.close_versions(conn, layer, city, updated, new, "update")
        store.close_versions(conn, layer, city, sorted(made - set(ended)), new, "delete")
        store.delete_rows(conn, layer, city, sorted(made))
        store.unstamp_all(conn, layer, city, sorted(made))
        # and the versions it ended come back
        store.restore_ended(conn, layer, city, changeset)
        store.stamp_all(conn, layer, city, sorted(ended), new)
        store.touched(conn, layer, city, sorted(made | set(ended)))
    return new
