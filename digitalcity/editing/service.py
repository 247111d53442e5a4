"""Create, replace, patch and delete, each in one transaction on the primary (see the package
docstring for the rules)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, cast

import shapely
from sqlalchemy.engine import Engine

from digitalcity.catalog.access import Role, visible_layer
from digitalcity.catalog.codes import CodeTable
from digitalcity.catalog.field_codes import crosswalk_of
from digitalcity.catalog.model import MAX_SNAP_M, CityDef, LayerDef
from digitalcity.editing import store
from digitalcity.editing.snapping import snapped_to_neighbours
from digitalcity.editing.topology import MAX_LISTED, overlaps_added
from digitalcity.editing.validate import Checked, Fault, check_feature
from digitalcity.errors import DigitalCityError, NotFound
from digitalcity.history.changesets import Author, open_changeset
from digitalcity.history.reads import version_at
from digitalcity.history.tables import ensure_tables
from digitalcity.query.crs_ref import CRSRef
from digitalcity.romanise import romanise

MAX_FEATURES = 10_000  # per request


class Forbidden(DigitalCityError):
    status = 403
    title = "Not allowed to edit"


class PreconditionRequired(DigitalCityError):
    status = 428
    title = "If-Match required"


class PreconditionFailed(DigitalCityError):
    status = 412
    title = "The feature has changed"


class EditRejected(DigitalCityError):
    """The request's features break the layer's rules; ``members["faults"]`` lists them all."""

    title = "Invalid edit"

    def __init__(self, faults: list[Fault]) -> None:
        super().__init__(f"{len(faults)} fault(s): " + "; ".join(f.en for f in faults[:20]))
        self.faults = faults
        self.members = {"faults": [f.en for f in faults]}

    @classmethod
    def of(cls, en: str, zh: str) -> EditRejected:
        """A refusal with one fault, in English and Chinese."""
        return cls([Fault(en, zh)])

    def members_in(self, lang: str) -> dict[str, object]:
        """The problem's members in ``lang``: every fault."""
        return {"faults": [f.get(lang) for f in self.faults]}


@dataclass(frozen=True)
class EditContext:
    """Where and as whom an edit happens; ``layers_dir`` holds the crosswalks that derive the
    standard classes from an edited native code."""

    engine: Engine
    layer: LayerDef
    city: CityDef
    author: Author
    codes: dict[str, CodeTable]
    crs: CRSRef
    layers_dir: Path | None = None
    snap_m: float | None = None  # snapping tolerance (m) asked for; None: the layer's

    def snap_tolerance(self) -> float:
        """Metres within which drawn vertices are snapped to neighbours (0: not at all)."""
        if self.snap_m is not None:
            if not 0 <= self.snap_m <= MAX_SNAP_M:  # NaN too
                raise EditRejected.of(
                    f"the snapping tolerance is 0 to {MAX_SNAP_M:g} m",
                    f"吸附容差须在 0 到 {MAX_SNAP_M:g} 米之间",
                )
            return self.snap_m
        return self.layer.editing.snap_m if self.layer.editing else 0.0


def _derive(ctx: EditContext, checked: list[Checked]) -> None:
    """An edited native code brings its standard classes with it (the crosswalk the loader
    used), so maps, legends and statistics never show the old class; an edited name brings
    its romanised form (``FieldDef.romanise``)."""
    for f in ctx.layer.fields:
        if f.romanise is not None:
            for item in checked:
                if f.romanise in item.values:
                    item.values[f.name] = romanise(item.values[f.romanise])
    cls = ctx.layer.classification
    if cls is None or cls.crosswalk is None or ctx.layers_dir is None:
        return
    target = ctx.codes.get(cls.crosswalk.to)
    if target is None:
        return
    walk = crosswalk_of(ctx.layers_dir / cls.crosswalk.file, target, cls)
    for item in checked:
        if cls.field in item.values:
            code = item.values[cls.field]
            found = walk.lookup(str(code)) if code is not None else None
            item.values[cls.crosswalk.level1_field] = found[0] if found else None
            item.values[cls.crosswalk.level2_field] = found[1] if found else None


@dataclass(frozen=True)
class Outcome:
    """What an edit did: the change set, the ids written, their new ETags, repairs made."""

    changeset: int
    fids: list[int]
    etags: dict[int, str]
    repaired: list[int]
    layer_state: tuple[int, int] | None = None  # the layer's (version, revision) after it
    snapped: list[int] = field(default_factory=list)  # ids whose shape was snapped (吸附)


def check_rights(layer: LayerDef, role: Role) -> None:
    """404 for a layer the role cannot see, 403 for one it sees but may not edit."""
    if not visible_layer(role, layer):
        raise NotFound(f"unknown collection {layer.city}__{layer.id}")
    editing = layer.editing
    if editing is None or not editing.enabled or role not in editing.roles:
        raise Forbidden(f"{role} may not edit {layer.qualified_id}")


def _role(ctx: EditContext) -> Role:
    return cast(Role, ctx.author.role)


def checked_features(ctx: EditContext, features: Sequence[Any], *, partial: bool) -> list[Checked]:
    """``features`` checked (``partial``: merge patches), standard classes and romanised names
    derived; EditRejected listing every fault."""
    checked = [
        check_feature(
            ctx.layer,
            ctx.city,
            _role(ctx),
            f,
            ctx.crs,
            ctx.codes,
            needs_geometry=not partial,
        )
        for f in features
    ]
    faults = [
        fault.about(f"feature {n}: ", f"第 {n} 个要素：") if len(checked) > 1 else fault
        for n, c in enumerate(checked)
        for fault in c.faults
    ]
    if faults:
        raise EditRejected(faults)
    _derive(ctx, checked)
    return checked


def snap_shape(conn: Any, ctx: EditContext, item: Checked, own_fid: int | None) -> bool:
    """``item``'s geometry snapped to the layer's other features within the tolerance, in
    ``conn``'s transaction; whether it moved."""
    if item.geometry is None:
        return False
    moved = snapped_to_neighbours(
        conn, ctx.layer, ctx.city, item.geometry, ctx.snap_tolerance(), own_fid
    )
    if moved is None:
        return False
    item.geometry = moved
    return True


def check_topology(conn: Any, ctx: EditContext, item: Checked, own_fid: int | None) -> None:
    """EditRejected when ``item``'s shape breaks the layer's rule against overlaps (naming the
    features it would overlap and by how much, m²), in ``conn``'s transaction."""
    if item.geometry is None:
        return
    found = overlaps_added(conn, ctx.layer, ctx.city, item.geometry, own_fid)
    if not found:
        return
    faults = [
        Fault(
            f"the shape would overlap feature {fid} by {m2:,.1f} m² (this layer allows no overlaps)",
            f"该形状将与要素 {fid} 重叠 {m2:,.1f} 平方米（本图层不允许要素重叠）",
        )
        for fid, m2 in found[:MAX_LISTED]
    ]
    if len(found) > MAX_LISTED:
        more = len(found) - MAX_LISTED
        faults.append(Fault(f"and {more} more features", f"另有 {more} 个要素"))
    raise EditRejected(faults)


def _etag(conn: Any, ctx: EditContext, fid: int) -> str:
    return store.etag(conn, ctx.layer, ctx.city, fid) or ""


def create_features(ctx: EditContext, features: Sequence[Any]) -> Outcome:
    """Insert ``features`` (GeoJSON Features) as new features, all or none."""
    check_rights(ctx.layer, _role(ctx))
    if not features:
        raise EditRejected.of("no features", "没有要素")
    if len(features) > MAX_FEATURES:
        raise EditRejected.of(
            f"at most {MAX_FEATURES:,} features per request", f"每次最多 {MAX_FEATURES:,} 个要素"
        )
    checked = checked_features(ctx, features, partial=False)
    with ctx.engine.begin() as conn:
        ensure_tables(conn, ctx.layer, ctx.city)
        changeset, _ = open_changeset(conn, "edit", ctx.layer, ctx.author)
        fids, snapped = [], []
        first = store.next_fid(conn, ctx.layer, ctx.city)
        for n, item in enumerate(checked):
            fid = first + n
            if snap_shape(conn, ctx, item, None):
                snapped.append(fid)
            try:
                check_topology(conn, ctx, item, None)
            except EditRejected as refused:  # which of the request's features
                if len(checked) == 1:
                    raise
                raise EditRejected(
                    [f.about(f"feature {n}: ", f"第 {n} 个要素：") for f in refused.faults]
                ) from None
            assert item.geometry is not None
            store.insert_row(conn, ctx.layer, ctx.city, fid, item.values, item.geometry)
            store.stamp(conn, ctx.layer, ctx.city, fid, changeset)
            fids.append(fid)
        etags = {fid: _etag(conn, ctx, fid) for fid in fids}
        state = store.touched(conn, ctx.layer, ctx.city, fids)
    repaired = [fids[n] for n, c in enumerate(checked) if c.repaired]
    return Outcome(changeset, fids, etags, repaired, state, snapped)


def lock_current(conn: Any, ctx: EditContext, fid: int, if_match: str | None) -> None:
    """Feature ``fid`` locked to the end of the transaction, when its ETag is one of those in
    ``if_match`` (428 without any, 412 when stale, 404 when there is no such feature)."""
    if not if_match:
        raise PreconditionRequired("send the feature's ETag in If-Match")
    current = store.lock_etag(conn, ctx.layer, ctx.city, fid)
    if current is None:
        raise NotFound(f"no feature {fid} in {ctx.layer.city}__{ctx.layer.id}")
    _check_if_match(current, if_match, fid)


def _check_if_match(current: str, if_match: str | None, fid: int) -> None:
    """PreconditionRequired without ``if_match``, PreconditionFailed when ``current`` (the
    locked row's ETag) is not among its tags."""
    if not if_match:
        raise PreconditionRequired("send the feature's ETag in If-Match")
    wanted = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
    if "*" not in wanted and current not in wanted:
        raise PreconditionFailed(
            f"feature {fid} changed since that ETag was read: read it again and reapply"
        )


def _write(
    ctx: EditContext, fid: int, if_match: str | None, feature: Any, *, replace: bool
) -> Outcome:
    check_rights(ctx.layer, _role(ctx))
    item = checked_features(ctx, [feature], partial=not replace)[0]
    with ctx.engine.begin() as conn:
        ensure_tables(conn, ctx.layer, ctx.city)
        lock_current(conn, ctx, fid, if_match)
        snapped = [fid] if snap_shape(conn, ctx, item, fid) else []
        check_topology(conn, ctx, item, fid)
        values = item.values
        if replace:  # fields not sent become NULL, except the ones the caller may not write
            writable = {
                f.name
                for f in ctx.layer.all_fields
                if not f.read_only and f.name in {v.name for v in _visible(ctx)}
            }
            values = {name: item.values.get(name) for name in writable}
        changeset = store.supersede(conn, ctx.layer, ctx.city, fid, ctx.author, "update")
        tag = store.update_row(conn, ctx.layer, ctx.city, fid, values, item.geometry) or ""
        state = store.touched(conn, ctx.layer, ctx.city, [fid])
    return Outcome(changeset, [fid], {fid: tag}, [fid] if item.repaired else [], state, snapped)


def _visible(ctx: EditContext) -> list[Any]:
    from digitalcity.catalog.access import visible_fields

    return list(visible_fields(_role(ctx), ctx.layer))


def replace_feature(ctx: EditContext, fid: int, if_match: str | None, feature: Any) -> Outcome:
    """PUT: the feature becomes ``feature`` (its geometry and every writable field)."""
    return _write(ctx, fid, if_match, feature, replace=True)


def patch_feature(ctx: EditContext, fid: int, if_match: str | None, patch: Any) -> Outcome:
    """PATCH (JSON merge patch): the given fields (null clears one) and, if given, geometry."""
    return _write(ctx, fid, if_match, patch, replace=False)


def delete_feature(ctx: EditContext, fid: int, if_match: str | None) -> Outcome:
    """DELETE: the feature ends; its last version stays in the history."""
    check_rights(ctx.layer, _role(ctx))
    with ctx.engine.begin() as conn:
        ensure_tables(conn, ctx.layer, ctx.city)
        lock_current(conn, ctx, fid, if_match)
        changeset = store.supersede(conn, ctx.layer, ctx.city, fid, ctx.author, "delete")
        store.delete_row(conn, ctx.layer, ctx.city, fid)
        state = store.touched(conn, ctx.layer, ctx.city, [fid])
    return Outcome(changeset, [fid], {}, [], state)


def restore_version(ctx: EditContext, fid: int, if_match: str | None, instant: dt.datetime) -> Outcome:
    """The feature as it was at ``instant`` again, as a new version (恢复历史版本): its shape
    exactly (not snapped; checked against the layer's rule on overlaps) and every field the
    caller may write; fields it may not write or see, and read-only ones, stay as they are now,
    and derived ones follow the restored values. A deleted feature comes back whole, as that
    version, with no ETag to match. EditRejected when ``instant`` falls in the current version
    or in none."""
    check_rights(ctx.layer, _role(ctx))
    with ctx.engine.begin() as conn:
        ensure_tables(conn, ctx.layer, ctx.city)
        store.lock_ids(conn, ctx.layer)  # so two restores of a deleted feature queue
        current = store.lock_etag(conn, ctx.layer, ctx.city, fid)
        found = version_at(conn, ctx.layer, ctx.city, fid, instant)
        if found is None and current is None:
            raise NotFound(f"no feature {fid} in {ctx.layer.city}__{ctx.layer.id} at that instant")
        if found is None:
            _no_version(fid, instant)
        values, wkb = found
        geometry = shapely.from_wkb(wkb) if wkb is not None else None
        if current is None:  # deleted: back whole, as that version
            check_topology(conn, ctx, Checked(geometry=geometry), fid)
            changeset, _ = open_changeset(conn, "edit", ctx.layer, ctx.author)
            if not store.insert_version(conn, ctx.layer, ctx.city, fid, instant):
                _no_version(fid, instant)
            store.stamp(conn, ctx.layer, ctx.city, fid, changeset)
            tag = _etag(conn, ctx, fid)
        else:
            _check_if_match(current, if_match, fid)
            writable = {f.name for f in _visible(ctx) if not f.read_only and not f.derived}
            item = Checked(
                values={name: values[name] for name in writable if name in values},
                geometry=geometry,
            )
            _derive(ctx, [item])
            check_topology(conn, ctx, item, fid)
            changeset = store.supersede(conn, ctx.layer, ctx.city, fid, ctx.author, "update")
            tag = store.update_row(conn, ctx.layer, ctx.city, fid, item.values, item.geometry) or ""
        state = store.touched(conn, ctx.layer, ctx.city, [fid])
    return Outcome(changeset, [fid], {fid: tag}, [], state)


def restore_reason(reason: str, instant: dt.datetime) -> str:
    """A restore's reason: the one given, else which version it restored."""
    return reason or f"restore {instant.isoformat()}"


def _no_version(fid: int, instant: dt.datetime) -> NoReturn:
    stamp = instant.isoformat()
    raise EditRejected.of(
        f"feature {fid} has no earlier version at {stamp}: "
        "name an instant inside one of its past versions (its history's valid_from)",
        f"要素 {fid} 在 {stamp} 没有更早的版本：请给出其某个历史版本期间内的时刻（历史中的 valid_from）",
    )
