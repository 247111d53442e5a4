"""A city's recent changes: its change sets (loads, edits, reverts), newest first, each with
what it changed that the caller may see, in the caller's language.

Each change set is read from the history itself: the versions it ended (history rows whose
period ends at its instant) against the versions it made (current rows it stamped, and
history rows whose period begins at its instant), compared field by field over the fields
the caller may read, and geometry by geometry. A change set that changed nothing the caller
may see is left out, so the feed tells no one of a change to a field or layer hidden from
them. Who made a change and why are shown to signed-in callers only: a reason is written for
colleagues, not for the public. Geometries are GeoJSON in CRS84 (lon/lat degrees).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from digitalcity.catalog.access import Role, visible_fields, visible_layer
from digitalcity.catalog.codes import CodeTable
from digitalcity.catalog.field_codes import field_codes
from digitalcity.catalog.ids import collection_id
from digitalcity.catalog.model import CityDef, FieldDef, LayerDef
from digitalcity.catalog.registry import Catalog
from digitalcity.errors import DigitalCityError
from digitalcity.history.changeset_sql import DIGITS, changeset_statement, statement_shape
from digitalcity.history.changesets import authorship
from digitalcity.lru import BoundedLRU

DEFAULT_DAYS = 90  # the period a feed covers when it is not given
MAX_ENTRIES = 100  # change sets a page lists at most
MAX_FEATURES = 100  # features an entry details at most (the rest are counted)
SCAN = 200  # change sets a page reads at most, to find ``limit`` the caller may see

_CANDIDATES = sa.text(
    "SELECT id, kind, layer, key_id, role, reason, at, reverts, (SELECT l.kind FROM "
    "digitalcity.lineage l WHERE l.changeset = c.id LIMIT 1) AS reshape "
    "FROM digitalcity.changesets c WHERE city = :city AND layer = ANY(:layers) AND at > :since AND at <= :until "
    "AND id < :before ORDER BY id DESC LIMIT :scan"
)


@dataclass(frozen=True)
class FeedQuery:
    """What a page of the feed covers: change sets made after ``since`` up to ``until``,
    older than change set ``before`` (the previous page's last), at most ``limit``, each
    detailing at most ``features`` features, in ``lang``; with ``bbox`` (lon/lat degrees,
    west, south, east, north), only the features whose geometry before or after meets it."""

    since: dt.datetime
    until: dt.datetime
    before: int | None = None
    limit: int = 20
    features: int = 20
    lang: str = "zh"
    bbox: tuple[float, float, float, float] | None = None

    def check(self) -> None:
        if self.since > self.until:
            raise DigitalCityError("since is after until")
        if self.bbox is not None:
            w, s, e, n = self.bbox
            if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
                raise DigitalCityError(
                    "bbox must be west,south,east,north in degrees, west ≤ east, south ≤ north"
                )
        if not 1 <= self.limit <= MAX_ENTRIES:
            raise DigitalCityError(f"limit must be between 1 and {MAX_ENTRIES}")
        if not 0 <= self.features <= MAX_FEATURES:
            raise DigitalCityError(f"features must be between 0 and {MAX_FEATURES}")


def city_changes(
    conn: Connection,
    catalog: Catalog,
    city: CityDef,
    role: Role,
    query: FeedQuery,
    *,
    codes: Mapping[str, CodeTable],
    loaded: Callable[[LayerDef], bool] = lambda _: True,
) -> dict[str, Any]:
    """A page of ``city``'s change sets in ``query``'s period, newest first, over the layers
    ``role`` may see that are ``loaded``: each with its counts (added, modified, deleted), the
    lon/lat box of what it touched, and its first features with the fields that changed
    (values before and after, coded values named). ``next_before`` continues the feed when
    more change sets may follow."""
    query.check()
    layers = {
        layer.id: layer
        for layer in catalog.city_layers(city.id)
        if visible_layer(role, layer) and loaded(layer)
    }
    entries: list[dict[str, Any]] = []
    next_before: int | None = None
    if layers:
        candidates = conn.execute(
            _CANDIDATES,
            {
                "city": city.id,
                "layers": list(layers),
                "since": query.since,
                "until": query.until,
                "before": query.before if query.before is not None else 2**63 - 1,
                "scan": SCAN,
            },
        ).all()
        consumed = 0
        for row in candidates:
            consumed += 1
            entry = _entry(conn, layers[row.layer], city, role, row, query, codes)
            if entry is not None:
                entries.append(entry)
            if len(entries) == query.limit:
                break
        if consumed < len(candidates) or len(candidates) == SCAN:
            next_before = int(candidates[consumed - 1].id)
    return {
        "city": city.id,
        "since": query.since.isoformat(),
        "until": query.until.isoformat(),
        "area": list(query.bbox) if query.bbox else None,
        "changesets": entries,
        "next_before": next_before,
    }


def every_change(
    conn: Connection,
    catalog: Catalog,
    city: CityDef,
    role: Role,
    query: FeedQuery,
    *,
    codes: Mapping[str, CodeTable],
    loaded: Callable[[LayerDef], bool] = lambda _: True,
) -> list[dict[str, Any]]:
    """Every change set of ``query``'s period (``city_changes`` page after page), newest
    first, for notebooks and the command line."""
    entries: list[dict[str, Any]] = []
    page_query = query
    while True:
        page = city_changes(conn, catalog, city, role, page_query, codes=codes, loaded=loaded)
        entries += page["changesets"]
        if page["next_before"] is None:
            return entries
        page_query = replace(query, before=page["next_before"])


FEATURE_COLUMNS = (
    "changeset", "at", "kind", "layer", "change", "fid", "name", "fields", "before", "after",
    "geometry_changed", "role", "reason", "geometry",
)  # fmt: skip


def feature_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per feature the change sets ``entries`` list: the change set (id, time, kind,
    layer, who and why when shown), how the feature changed, its name, the fields that
    changed with their values before and after, and its geometry (GeoJSON, CRS84); the
    columns are ``FEATURE_COLUMNS``."""
    rows = []
    for entry in entries:
        for feature in entry["features"]:
            rows.append(
                {
                    "changeset": entry["id"],
                    "at": dt.datetime.fromisoformat(entry["at"]),
                    "kind": entry["kind"],
                    "layer": entry["layer"],
                    "change": feature["change"],
                    "fid": feature["id"],
                    "name": feature["name"],
                    "fields": [c["field"] for c in feature["fields"]],
                    "before": {c["field"]: c["before"] for c in feature["fields"]},
                    "after": {c["field"]: c["after"] for c in feature["fields"]},
                    "geometry_changed": feature["geometry_changed"],
                    "role": entry.get("role"),
                    "reason": entry.get("reason"),
                    "geometry": feature["geometry"],
                }
            )
    return rows


def _entry(
    conn: Connection,
    layer: LayerDef,
    city: CityDef,
    role: Role,
    changeset: Any,
    query: FeedQuery,
    codes: Mapping[str, CodeTable],
) -> dict[str, Any] | None:
    """One change set as the caller may see it; None when it changed nothing they may see
    (in ``query.bbox``, when given)."""
    fields = visible_fields(role, layer)
    found = _cached(conn, layer, city, fields, changeset, query, codes, None)
    if found is not None and query.bbox is not None:
        # the whole change set's box first (kept): only one that meets the area is read again
        # over the area
        found = (
            _cached(conn, layer, city, fields, changeset, query, codes, query.bbox)
            if _meets(found["bbox"], query.bbox)
            else None
        )
    if found is None:
        return None
    entry = dict(found)
    if changeset.reverts is not None:
        entry["reverts"] = int(changeset.reverts)
    entry.update(authorship(role, changeset))
    return entry


def _meets(box: list[float] | None, area: tuple[float, float, float, float]) -> bool:
    """Whether a change set's box (rounded to ``DIGITS``) may meet ``area``."""
    slack = 10**-DIGITS
    return box is not None and not (
        box[2] + slack < area[0]
        or box[0] - slack > area[2]
        or box[3] + slack < area[1]
        or box[1] - slack > area[3]
    )


def _cached(
    conn: Connection,
    layer: LayerDef,
    city: CityDef,
    fields: tuple[FieldDef, ...],
    changeset: Any,
    query: FeedQuery,
    codes: Mapping[str, CodeTable],
    area: tuple[float, float, float, float] | None,
) -> dict[str, Any] | None:
    """``_what_changed`` (in ``area``), kept (``_KEPT``); its statement's rows kept apart
    from the language (``_ROWS``)."""
    shape = statement_shape(layer, city, fields, query.features, area is not None)
    key = (*shape, changeset.id, changeset.at, query.lang, area)
    kept = _KEPT.get(key)
    if kept is not None and kept[0] is codes:  # kept with these code tables
        return kept[1]
    rows_key = (*shape, changeset.id, changeset.at, area)
    rows = _ROWS.get(rows_key)
    if rows is None:
        rows = _changed_rows(conn, layer, city, fields, changeset, query, area)
        _ROWS.put(rows_key, rows, _weight(rows))
    found = _what_changed(rows, layer, fields, changeset, query, codes)
    _KEPT.put(key, (codes, found), _weight(rows))
    return found


# What a committed change set did never changes (the versions it ended and made stay in the
# history as they are; a later change ends a version, it does not rewrite it), so answers are
# kept per visible fields, detail, language and area, with the code tables that named their
# values, within 64 MB (their geometries' GeoJSON text and a few hundred bytes of the rest
# each). A Cambridge walk of 227 change sets: 0.92 s computed in a new process, 0.065 s kept
# (bench.feed).
_KEPT: BoundedLRU[tuple, tuple[Mapping[str, CodeTable], dict[str, Any] | None]] = BoundedLRU(
    64 * 2**20
)
# The statement's rows, kept apart from the language: a big load is counted and boxed over
# all its rows (the 246,900 SYNTHETIC roads: most of a cold walk's 3.5 s), then named in each
# language from the same rows.
_ROWS: BoundedLRU[tuple, list[Any]] = BoundedLRU(32 * 2**20)


def _changed_rows(
    conn: Connection,
    layer: LayerDef,
    city: CityDef,
    fields: tuple[FieldDef, ...],
    changeset: Any,
    query: FeedQuery,
    area: tuple[float, float, float, float] | None,
) -> list[Any]:
    """The change set's statement's rows: its counts and box on each, and its first
    ``query.features`` features over ``fields`` (those meeting ``area``, lon/lat degrees,
    when given); none when it changed nothing there."""
    values: dict[str, Any] = {"changeset": changeset.id, "at": changeset.at}
    if area is not None:
        values.update(zip(("area_w", "area_s", "area_e", "area_n"), area, strict=True))
    statement = changeset_statement(layer, city, fields, query.features, area is not None)
    return list(conn.execute(statement, values).all())


def _weight(rows: list[Any]) -> int:
    """About how many bytes an answer from ``rows`` holds."""
    return 500 + sum(
        300 + len(r.geometry or "") + len(r.previous_geometry or "")
        for r in rows
        if r.fid is not None
    )


def _what_changed(
    rows: list[Any],
    layer: LayerDef,
    fields: tuple[FieldDef, ...],
    changeset: Any,
    query: FeedQuery,
    codes: Mapping[str, CodeTable],
) -> dict[str, Any] | None:
    """A change set's counts, box and first features, in ``query.lang``, from its
    statement's ``rows``; None when empty."""
    if not rows:
        return None
    first = rows[0]
    named = layer.name_field(query.lang, {f.name for f in fields})
    # each coded field's names, once a change set (per feature and field, they took more
    # time than the statement: bench.feed)
    coded = {
        field: {c.code: c.name(query.lang) for c in known}
        for field, known in field_codes(layer, codes).items()
    }
    features = [_feature(r, fields, named, coded, query.lang) for r in rows if r.fid is not None]
    entry = {
        "id": int(changeset.id),
        "kind": changeset.kind,
        "reshape": changeset.reshape,  # "split" or "merge" (editing.reshape), else None
        "at": changeset.at.isoformat(),
        "layer": layer.id,
        "collection": collection_id(layer),
        "layer_title": layer.title.get(query.lang),
        "added": int(first.n_added),
        "modified": int(first.n_modified),
        "deleted": int(first.n_deleted),
        "bbox": _box(first),
        "features": features,
        "more": int(first.n_added + first.n_modified + first.n_deleted) - len(features),
    }
    return entry


def _box(row: Any) -> list[float] | None:
    """The lon/lat box [w, s, e, n] of a change set's old and new geometries."""
    parts = [
        (
            getattr(row, f"{k}_xmin"),
            getattr(row, f"{k}_ymin"),
            getattr(row, f"{k}_xmax"),
            getattr(row, f"{k}_ymax"),
        )
        for k in ("old", "new")
    ]
    boxes = [p for p in parts if p[0] is not None]
    if not boxes:
        return None
    return [
        round(min(b[0] for b in boxes), DIGITS),
        round(min(b[1] for b in boxes), DIGITS),
        round(max(b[2] for b in boxes), DIGITS),
        round(max(b[3] for b in boxes), DIGITS),
    ]


def _feature(
    row: Any,
    fields: tuple[FieldDef, ...],
    named: str | None,
    coded: Mapping[str, Mapping[str, str]],
    lang: str,
) -> dict[str, Any]:
    """One feature of a change set: its id, how it changed, its name, the visible fields
    that changed (value before and after; a coded value's name too, from ``coded``: field ->
    code -> name) and its geometry."""
    m = row._mapping
    kind = row.kind
    changes = []
    for f in fields:
        before = m[f"b_{f.name}"] if kind != "added" else None
        after = m[f"a_{f.name}"] if kind != "deleted" else None
        if kind == "modified" and before == after:
            continue
        if kind != "modified" and before is None and after is None:
            continue
        change: dict[str, Any] = {
            "field": f.name,
            "title": f.title.get(lang),
            "unit": f.unit,
            "before": _plain(before),
            "after": _plain(after),
        }
        names = coded.get(f.name)
        if names:
            change["before_name"] = names.get(str(before)) if before is not None else None
            change["after_name"] = names.get(str(after)) if after is not None else None
        changes.append(change)
    name = None
    if named is not None:
        name = m[f"a_{named}"] if kind != "deleted" else m[f"b_{named}"]
    out: dict[str, Any] = {
        "id": int(row.fid),
        "change": kind,
        "name": None if name is None else str(name),
        "geometry_changed": bool(kind == "modified" and row.geometry_changed),
        "fields": changes,
        "geometry": orjson.loads(row.geometry) if row.geometry else None,
    }
    if row.previous_geometry:
        out["previous_geometry"] = orjson.loads(row.previous_geometry)
    return out


def _plain(value: Any) -> Any:
    """A value as JSON writes it: dates and times as ISO 8601, decimals as numbers."""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if value is not None and not isinstance(value, bool | int | float | str):
        try:
            return float(value)
        except (TypeError, ValueError):
            return str(value)
    return value
