"""Splitting a feature along a line and merging features into one (地块分割与合并): each in
one transaction and one change set, with the lineage recorded (``digitalcity.lineage``), so the
history says which features a feature came from and became, and a revert undoes it whole.

The shapes are cut and joined with shapely in the layer's storage CRS; a part's share of the
whole is of its area (polygons) or length (lines) in that CRS's plane (in lon/lat, a parcel's
share differs from its share in metres by far less than a millionth). Field values follow each
field's ``split`` and ``merge`` policies (``FieldDef``): fields the caller may not read or write
are carried the same way, since no value is taken from the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import shapely
from shapely.ops import split
from sqlalchemy.engine import Connection

from digitalcity.catalog.access import Role, visible_fields
from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.editing import lineage, shapes, store
from digitalcity.editing.service import (
    EditContext,
    EditRejected,
    check_rights,
    lock_current,
)
from digitalcity.editing.snapping import line_snapped_to
from digitalcity.editing.validate import Checked, as_layer_type, check_geometry
from digitalcity.errors import NotFound
from digitalcity.history.changesets import open_changeset
from digitalcity.history.tables import ensure_tables

MAX_PARTS = 100  # parts one split may make
MAX_MERGED = 100  # features one merge may join
MIN_SHARE = 1e-6  # a part smaller than this share of the whole is a slip of the line
MAX_NEIGHBOURS = 200


@dataclass(frozen=True)
class Reshaped:
    """What a split or merge did: its change set, the feature id kept (by the largest part of
    a split, or by the merged feature), the features it created (split) and removed (merge),
    the ETags of the features it wrote, and each part's share of the whole (split)."""

    changeset: int
    kept: int
    created: list[int]
    removed: list[int]
    etags: dict[int, str]
    shares: dict[int, float]
    layer_state: tuple[int, int] | None = None
    measures: dict[int, float] | None = None  # m² (polygons) or m (lines), after it

    @property
    def fids(self) -> list[int]:
        """The features as they are after it: the kept one first."""
        return [self.kept, *self.created]


def _polygonal(layer: LayerDef) -> bool:
    if layer.geometry_type.endswith("Point"):
        raise EditRejected.of("points cannot be split or merged", "点要素不能分割或合并")
    return layer.geometry_type.endswith("Polygon")


def _measure(geom: shapely.Geometry, polygonal: bool) -> float:
    return float(shapely.area(geom) if polygonal else shapely.length(geom))


def _cutting_line(ctx: EditContext, line: Any) -> shapely.Geometry:
    """The line a split follows (a GeoJSON LineString or MultiLineString in the edit's CRS, or a
    Feature holding one), checked as an edit's geometry is and in the storage CRS."""
    if isinstance(line, dict) and line.get("type") == "Feature":
        line = line.get("geometry")
    if not isinstance(line, dict) or line.get("type") not in ("LineString", "MultiLineString"):
        raise EditRejected.of(
            "the split needs a line: a GeoJSON LineString", "分割需要一条线：GeoJSON LineString"
        )
    as_line = ctx.layer.model_copy(update={"geometry_type": "MultiLineString"})
    checked = Checked()
    check_geometry(as_line, ctx.city, line, ctx.crs, checked)
    if checked.faults:
        raise EditRejected([f.about("the line: ", "分割线：") for f in checked.faults])
    assert checked.geometry is not None
    return checked.geometry


def split_parts(
    geom: shapely.Geometry, cutter: shapely.Geometry, polygonal: bool
) -> list[shapely.Geometry]:
    """``geom`` cut along ``cutter``, largest part first; the parts of a multi-part shape the
    line does not cross stay with the largest. One part when the line crosses nothing."""
    pieces = list(shapely.get_parts(geom))
    crossed = False
    for line in shapely.get_parts(cutter):
        cut = []
        for piece in pieces:
            got = list(shapely.get_parts(split(piece, line)))
            crossed |= len(got) > 1
            cut.extend(got)
        pieces = cut
    if not crossed:
        return [geom]
    untouched = [p for p in shapely.get_parts(geom) if any(p.equals(q) for q in pieces)]
    fresh = [p for p in pieces if not any(p.equals(q) for q in untouched)]
    fresh.sort(key=lambda p: _measure(p, polygonal), reverse=True)
    if untouched:
        fresh[0] = shapely.union_all([fresh[0], *untouched])
    return fresh


def _split_values(
    layer: LayerDef, values: dict[str, Any], share: float, *, keeps_id: bool
) -> dict[str, Any]:
    """A part's field values by each field's ``split`` policy (fields the definition does not
    name, such as bookkeeping columns, are carried as they are)."""
    policies = {f.name: f for f in layer.all_fields}
    out: dict[str, Any] = {}
    for name, value in values.items():
        field = policies.get(name)
        policy = field.split if field is not None and not field.derived else "duplicate"
        if policy == "ratio" and value is not None and field is not None:
            shared = float(value) * share
            out[name] = round(shared) if field.type == "integer" else shared
        elif policy == "keep" and not keeps_id:
            out[name] = None
        else:
            out[name] = value
    return out


def _cut(
    conn: Connection, ctx: EditContext, fid: int, cutter: shapely.Geometry, polygonal: bool
) -> tuple[dict[str, Any], list[shapely.Geometry], list[float]]:
    """Feature ``fid``'s values, its parts cut along ``cutter`` (largest first) and each part's
    share of the whole; the refusals of a split."""
    found = store.current_row(conn, ctx.layer, ctx.city, fid)
    if found is None:
        raise NotFound(f"no feature {fid} in {ctx.layer.city}__{ctx.layer.id}")
    values, geom = found
    if geom is None or geom.is_empty:
        raise EditRejected.of(
            f"feature {fid} has no shape to split", f"要素 {fid} 没有可分割的几何"
        )
    parts = split_parts(
        geom, line_snapped_to(cutter, geom, ctx.city, ctx.snap_tolerance()), polygonal
    )
    if len(parts) < 2:
        raise EditRejected.of(
            "the line does not cross the feature from one side to the other",
            "分割线没有完整穿过该要素",
        )
    if len(parts) > MAX_PARTS:
        raise EditRejected.of(
            f"the line cuts {len(parts)} parts: at most {MAX_PARTS}",
            f"分割线切出 {len(parts)} 块：最多 {MAX_PARTS} 块",
        )
    whole = sum(_measure(p, polygonal) for p in parts)
    shares = [_measure(p, polygonal) / whole for p in parts]
    if min(shares) < MIN_SHARE:
        raise EditRejected.of(
            "the line cuts off a sliver (less than a millionth of the feature): draw it again",
            "分割线切出了细小碎片（不到要素的百万分之一）：请重新绘制",
        )
    return values, parts, shares


def preview_split(ctx: EditContext, fid: int, line: Any) -> list[dict[str, Any]]:
    """What splitting feature ``fid`` along ``line`` would make, writing nothing: each part
    (largest first, the one keeping the id) as GeoJSON in lon/lat, its share of the whole and
    its area in m² or length in m on the ellipsoid."""
    check_rights(ctx.layer, cast(Role, ctx.author.role))
    polygonal = _polygonal(ctx.layer)
    cutter = _cutting_line(ctx, line)
    with ctx.engine.connect() as conn:
        _, parts, shares = _cut(conn, ctx, fid, cutter, polygonal)
        shown = shapes.shapes_in_lonlat(conn, ctx.city, parts, polygonal)
    return [
        {"keeps_id": n == 0, "share": share, "measure": measure, "geometry": geometry}
        for n, (share, (geometry, measure)) in enumerate(zip(shares, shown, strict=True))
    ]


def split_feature(ctx: EditContext, fid: int, if_match: str | None, line: Any) -> Reshaped:
    """Cut feature ``fid`` (a polygon or line) along ``line`` (GeoJSON, in the edit's CRS): its
    largest part keeps the id, each other part becomes a new feature, field values shared by
    their ``split`` policies. Needs the feature's ETag (``if_match``)."""
    check_rights(ctx.layer, cast(Role, ctx.author.role))
    polygonal = _polygonal(ctx.layer)
    cutter = _cutting_line(ctx, line)
    layer, city = ctx.layer, ctx.city
    with ctx.engine.begin() as conn:
        ensure_tables(conn, layer, city)
        lock_current(conn, ctx, fid, if_match)
        values, parts, shares = _cut(conn, ctx, fid, cutter, polygonal)
        changeset, _ = open_changeset(conn, "edit", layer, ctx.author)
        store.close_version(conn, layer, city, fid, changeset, "update")
        kept = _split_values(layer, values, shares[0], keeps_id=True)
        tag = store.update_row(conn, layer, city, fid, kept, as_layer_type(layer, parts[0]))
        store.stamp(conn, layer, city, fid, changeset)
        first = store.next_fid(conn, layer, city)
        created = list(range(first, first + len(parts) - 1))
        for new, part, share in zip(created, parts[1:], shares[1:], strict=True):
            fresh = _split_values(layer, values, share, keeps_id=False)
            store.insert_row(conn, layer, city, new, fresh, as_layer_type(layer, part))
            store.stamp(conn, layer, city, new, changeset)
        lineage.record_lineage(conn, layer, changeset, "split", [fid], [fid, *created])
        etags = {fid: tag or "", **{n: store.etag(conn, layer, city, n) or "" for n in created}}
        state = store.touched(conn, layer, city, [fid, *created])
        sizes = shapes.measures(conn, layer, city, [fid, *created])
    return Reshaped(
        changeset,
        fid,
        created,
        [],
        etags,
        dict(zip([fid, *created], shares, strict=True)),
        state,
        sizes,
    )


def next_to_each_other(geoms: Sequence[shapely.Geometry], polygonal: bool) -> bool:
    """Whether ``geoms`` form one group, each reaching the others through features it shares a
    stretch of boundary with or overlaps (polygons), or meets (lines)."""

    def joined(a: shapely.Geometry, b: shapely.Geometry) -> bool:
        if not polygonal:
            return bool(a.intersects(b))
        return bool(a.relate_pattern(b, "****1****") or a.relate_pattern(b, "2********"))

    reached, frontier = {0}, [0]
    while frontier:
        current = frontier.pop()
        for other in range(len(geoms)):
            if other not in reached and joined(geoms[current], geoms[other]):
                reached.add(other)
                frontier.append(other)
    return len(reached) == len(geoms)


def _merged_values(layer: LayerDef, rows: dict[int, dict[str, Any]], keep: int) -> dict[str, Any]:
    """The merged feature's values: the kept feature's, and sums for ``merge = "sum"``."""
    out = dict(rows[keep])
    for field in layer.all_fields:
        if field.merge == "sum" and not field.derived and field.name in out:
            given = [r[field.name] for r in rows.values() if r.get(field.name) is not None]
            out[field.name] = sum(given) if given else None
    return out


def merge_features(
    ctx: EditContext, fids: Sequence[int], if_match: str | None, keep: int | None = None
) -> Reshaped:
    """Join features ``fids`` (polygons sharing boundaries, or lines meeting) into one, which
    keeps the id ``keep`` (default: the largest) with that feature's values and the sums of
    ``merge = "sum"`` fields; the others end. ``if_match`` lists every feature's ETag."""
    check_rights(ctx.layer, cast(Role, ctx.author.role))
    polygonal = _polygonal(ctx.layer)
    ids = sorted(set(fids))  # locked in id order: two merges never wait on each other
    if not 2 <= len(ids) <= MAX_MERGED:
        raise EditRejected.of(
            f"a merge joins 2 to {MAX_MERGED} features", f"合并需要 2 至 {MAX_MERGED} 个要素"
        )
    if keep is not None and keep not in ids:
        raise EditRejected.of(
            f"the id to keep ({keep}) is not among the merged features",
            f"保留的编号（{keep}）不在所合并的要素之中",
        )
    layer, city = ctx.layer, ctx.city
    with ctx.engine.begin() as conn:
        ensure_tables(conn, layer, city)
        for fid in ids:
            lock_current(conn, ctx, fid, if_match)
        rows: dict[int, dict[str, Any]] = {}
        geoms: dict[int, shapely.Geometry] = {}
        for fid in ids:
            found = store.current_row(conn, layer, city, fid)
            assert found is not None  # locked above
            rows[fid], geom = found
            if geom is None or geom.is_empty:
                raise EditRejected.of(f"feature {fid} has no shape", f"要素 {fid} 没有几何")
            geoms[fid] = geom
        if not next_to_each_other(list(geoms.values()), polygonal):
            raise EditRejected.of(
                "the features are not all next to each other (sharing a boundary)",
                "这些要素并不都彼此相邻（共用边界）",
            )
        merged = shapely.union_all(list(geoms.values()))
        if not polygonal:
            merged = shapely.line_merge(merged)
        if merged.geom_type.startswith("Multi") and not layer.geometry_type.startswith("Multi"):
            count = shapely.get_num_geometries(merged)
            raise EditRejected.of(
                f"the merged shape has {count} parts: this layer holds single shapes",
                f"合并后的几何有 {count} 个部分：本图层只存单一几何",
            )
        if keep is None:
            keep = max(ids, key=lambda f: (_measure(geoms[f], polygonal), -f))
        changeset, _ = open_changeset(conn, "edit", layer, ctx.author)
        removed = [f for f in ids if f != keep]
        for fid in removed:
            store.close_version(conn, layer, city, fid, changeset, "delete")
            store.delete_row(conn, layer, city, fid)
            store.unstamp(conn, layer, city, fid)
        store.close_version(conn, layer, city, keep, changeset, "update")
        values = _merged_values(layer, rows, keep)
        tag = store.update_row(conn, layer, city, keep, values, as_layer_type(layer, merged))
        store.stamp(conn, layer, city, keep, changeset)
        lineage.record_lineage(conn, layer, changeset, "merge", ids, [keep])
        state = store.touched(conn, layer, city, ids)
        sizes = shapes.measures(conn, layer, city, [keep])
    return Reshaped(changeset, keep, [], removed, {keep: tag or ""}, {}, state, sizes)


def merge_candidates(
    conn: Connection, layer: LayerDef, city: CityDef, role: Role, fid: int
) -> list[dict[str, Any]] | None:
    """The features feature ``fid`` may be merged with (``shapes.neighbours``): id, ETag, label
    (when the role may read the layer's label field), geometry as GeoJSON text in lon/lat;
    None when there is no feature ``fid``."""
    _polygonal(layer)
    readable = {f.name for f in visible_fields(role, layer)}
    label = layer.label_field if layer.label_field in readable else None
    return shapes.neighbours(conn, layer, city, fid, label, MAX_NEIGHBOURS)
