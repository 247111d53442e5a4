"""One change to every feature a query matches (批量修改): the same fields set on all the
features an items query selects (``bbox``, CQL2 ``filter``, field equality), in one
transaction and one change set, as staff do after a rezoning or a survey of a district.

The caller says how many features it means to change (``expected``: the count it was shown);
when the query matches another number by the time the change runs (features added, moved or
changed meanwhile), nothing is written (412). Only fields: shapes are edited one by one. The
rows are locked while compared and written, and a feature already holding the values gets no
new version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa

from digitalcity.catalog.access import Role
from digitalcity.db.schema import layer_table
from digitalcity.editing import store
from digitalcity.editing.service import (
    MAX_FEATURES,
    EditContext,
    EditRejected,
    PreconditionFailed,
    PreconditionRequired,
    check_rights,
    checked_features,
)
from digitalcity.history.changesets import open_changeset
from digitalcity.history.tables import ensure_tables
from digitalcity.query.items import ItemsQuery


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk change did: its change set (None when every match already held the
    values), how many features matched, and those changed."""

    changeset: int | None
    matched: int
    changed: list[int]
    layer_state: tuple[int, int] | None = None


def bulk_patch(
    ctx: EditContext, query: ItemsQuery, expected: int | None, patch: Any
) -> BulkOutcome:
    """Set ``patch["properties"]`` (a JSON merge patch of fields, checked as a PATCH's are) on
    every feature ``query`` matches, which must be ``expected`` features (at most
    ``MAX_FEATURES``)."""
    check_rights(ctx.layer, cast(Role, ctx.author.role))
    if expected is None:
        raise PreconditionRequired(
            "say how many features the change is for (expected=N: the number matched)"
        )
    if not isinstance(patch, dict):
        raise EditRejected.of("the body must be a JSON object", "请求体必须是 JSON 对象")
    if "geometry" in patch:
        raise EditRejected.of(
            "a change to many features sets fields, not shapes", "批量修改只能改字段，不能改几何"
        )
    [item] = checked_features(
        ctx, [{"type": "Feature", "properties": patch.get("properties")}], partial=True
    )
    if not item.values:
        raise EditRejected.of(
            "no field to change: give them in properties",
            "没有要修改的字段：请在 properties 中给出",
        )
    layer, city = ctx.layer, ctx.city
    table = layer_table(layer, city)
    differs = sa.or_(
        *(table.c[name].is_distinct_from(value) for name, value in item.values.items())
    )
    with ctx.engine.begin() as conn:
        ensure_tables(conn, layer, city)
        rows = conn.execute(
            sa.select(table.c.fid, differs.label("differs"))
            .where(*query.where(table))
            .order_by(table.c.fid)
            .limit(MAX_FEATURES + 1)
            .with_for_update(of=table)
        ).all()
        if len(rows) > MAX_FEATURES:
            raise EditRejected.of(
                f"the query matches more than {MAX_FEATURES:,} features: narrow it",
                f"查询匹配的要素超过 {MAX_FEATURES:,} 个：请缩小范围",
            )
        if len(rows) != expected:
            raise PreconditionFailed(
                f"the query matches {len(rows):,} features now, not {expected:,}: list them again"
            )
        changing = [int(r.fid) for r in rows if r.differs]
        if not changing:
            return BulkOutcome(None, len(rows), [])
        changeset, _ = open_changeset(conn, "edit", layer, ctx.author)
        store.close_versions(conn, layer, city, changing, changeset, "update")
        store.update_rows(conn, layer, city, changing, item.values)
        store.stamp_all(conn, layer, city, changing, changeset)
        state = store.touched(conn, layer, city, changing)
    return BulkOutcome(changeset, len(rows), changing, state)
