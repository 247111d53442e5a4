"""A TopoJSON decoder that keeps every feature.

GDAL's TopoJSON driver turns a ring that collapsed under quantisation (fewer than three
distinct points) into an empty polygon, losing the feature's shape; here such rings are kept
as degenerate rings, so validation can repair them and report it.

All arcs are decoded into one coordinate array; polygons and multipolygons are assembled
from it by index arithmetic and built in one ``shapely.from_ragged_array`` call per batch.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import shapely

from digitalcity.errors import SourceError
from digitalcity.ingest.topojson_text import TextArcs, split_arcs

_EXACT_SUM = 2.0**53


class Topology:
    """Decoded arcs of one TopoJSON file (lon/lat or whatever its coordinates are)."""

    def __init__(self, document: dict[str, Any], source: str, arcs: TextArcs | None = None) -> None:
        """``arcs``: the top-level arcs when they were read apart (see ``split_arcs``)."""
        if document.get("type") != "Topology" or not isinstance(document.get("objects"), dict):
            raise SourceError(f"{source}: not a TopoJSON Topology")
        self.objects: dict[str, Any] = document["objects"]
        self.transform = document.get("transform")
        if arcs is None:
            listed = document.get("arcs") or []
            if not isinstance(listed, list):
                raise SourceError(f"{source}: its arcs are not a list")
            arcs = _listed_arcs(listed, source)
        self.points, self.starts, self.ends = _decoded_arcs(arcs, self.transform, source)

    # -- one geometry at a time (points and lines) -----------------------------------------
    def _arc(self, index: int) -> np.ndarray:
        if index >= 0:
            return self.points[self.starts[index] : self.ends[index]]
        return self.points[self.starts[~index] : self.ends[~index]][::-1]

    def _point_positions(self, positions: list[Any]) -> np.ndarray:
        """Point positions (quantised ones, unlike arcs, are not deltas: only transformed)."""
        points = _positions(positions)
        if self.transform:
            points = points * self.transform["scale"] + self.transform["translate"]
        return points

    def _line(self, indexes: list[int]) -> np.ndarray:
        if len(indexes) == 1:  # most lines: one arc, used as it is (callers do not modify it)
            return self._arc(indexes[0])
        parts = [self._arc(i) if n == 0 else self._arc(i)[1:] for n, i in enumerate(indexes)]
        return np.concatenate(parts) if parts else np.empty((0, 2))

    def _other(self, obj: dict[str, Any]) -> shapely.Geometry | None:
        kind = obj.get("type")
        if kind == "Point":
            return shapely.Point(self._point_positions([obj["coordinates"]])[0])
        if kind == "MultiPoint":
            return shapely.MultiPoint(self._point_positions(obj["coordinates"]))
        if kind == "LineString":
            return shapely.LineString(self._line(obj["arcs"]))
        if kind == "MultiLineString":
            return shapely.MultiLineString([self._line(a) for a in obj["arcs"]])
        return None

    def _guarded(self, member: dict[str, Any]) -> shapely.Geometry | None:
        try:
            return self._other(member)
        except (ValueError, IndexError, KeyError, TypeError, shapely.errors.ShapelyError):
            return None

    # -- members ---------------------------------------------------------------------------
    def members(self, layer: str | None) -> list[dict[str, Any]]:
        """The members of ``layer`` (the first object by default)."""
        name = layer or next(iter(self.objects), None)
        if name not in self.objects:
            raise SourceError(f"TopoJSON has no object {name!r} (has {', '.join(self.objects)})")
        collection = self.objects[name]
        if not isinstance(collection, dict):
            raise SourceError(f"TopoJSON object {name!r} is not a geometry")
        members = collection.get("geometries", [collection])
        return [m if isinstance(m, dict) else {} for m in members]

    @staticmethod
    def columns(members: list[dict[str, Any]]) -> list[str]:
        """Every property name of ``members``, in order of appearance ("id" too when a member
        has one)."""
        names: dict[str, None] = {}
        for member in members:
            props = member.get("properties")
            if isinstance(props, dict):
                names.update(dict.fromkeys(props))
            if "id" in member:
                names["id"] = None
        return list(names)

    def feature_chunks(
        self, layer: str | None, size: int
    ) -> Iterator[tuple[list[dict[str, Any]], np.ndarray]]:
        """Properties and geometries (an object array; None where a member has none or a
        broken one) of up to ``size`` members at a time."""
        members = self.members(layer)
        for start in range(0, len(members), size):
            chunk = members[start : start + size]
            yield [_properties(m) for m in chunk], self.geometries(chunk)

    def geometries(self, members: list[dict[str, Any]]) -> np.ndarray:
        """The geometries of ``members``: polygons and multipolygons built all at once, the
        rest one by one."""
        out = np.full(len(members), None, dtype=object)
        kinds = [m.get("type") for m in members]
        polygon_at = [i for i, kind in enumerate(kinds) if kind == "Polygon"]
        if polygon_at:
            out[polygon_at] = self._polygons([members[i].get("arcs") for i in polygon_at])
        multi_at = [i for i, kind in enumerate(kinds) if kind == "MultiPolygon"]
        if multi_at:
            out[multi_at] = self._multipolygons([members[i].get("arcs") for i in multi_at])
        for i, kind in enumerate(kinds):
            if kind not in ("Polygon", "MultiPolygon"):
                out[i] = self._guarded(members[i])
        return out

    # -- polygons, by index arithmetic -----------------------------------------------------
    def _polygons(self, arcs_of: list[Any]) -> np.ndarray:
        """Polygons from their rings' arc indexes (None where there is no outer ring or an
        index is broken)."""
        rings = self._rings(arcs_of)
        out = np.full(len(arcs_of), None, dtype=object)
        built = np.flatnonzero(rings.built)
        if len(built):  # (from_ragged_array needs at least one)
            out[built] = shapely.from_ragged_array(
                shapely.GeometryType.POLYGON, rings.coords, (rings.ring_offsets, rings.offsets)
            )
        return out

    def _multipolygons(self, arcs_of: list[Any]) -> np.ndarray:
        """Multipolygons from their polygons' ring arc indexes: parts without an outer ring
        are dropped; a member with a broken part, or no part left, is None."""
        out = np.full(len(arcs_of), None, dtype=object)
        listed = np.flatnonzero([type(parts) is list for parts in arcs_of])
        if not len(listed):
            return out
        members = [arcs_of[i] for i in listed]
        rings = self._rings(list(chain.from_iterable(members)))
        member_of = np.repeat(np.arange(len(members)), [len(parts) for parts in members])
        built_parts = np.bincount(member_of[rings.built], minlength=len(members))
        broken = np.bincount(member_of[rings.broken], minlength=len(members)) > 0
        multis = shapely.from_ragged_array(
            shapely.GeometryType.MULTIPOLYGON,
            rings.coords,
            (rings.ring_offsets, rings.offsets, np.concatenate([[0], np.cumsum(built_parts)])),
        )
        multis[broken | (built_parts == 0)] = None
        out[listed] = multis
        return out

    def _rings(self, polygons: list[Any]) -> _Rings:
        """The rings of ``polygons`` (each a list of rings, each a list of arc indexes):
        arcs joined, empty rings dropped, rings closed and padded to four points (``_closed``);
        a polygon whose outer ring is empty is not built."""
        n_arcs = len(self.starts)
        refs = _arc_refs(polygons, n_arcs)
        if refs is None:  # some index is not a whole number in range: leave those out
            return self._rings([p if _valid_rings(p, n_arcs) else None for p in polygons])
        index, ring_lengths = self._joined(refs)
        polygon_of_ring = np.repeat(np.arange(len(polygons)), refs.ring_counts)
        first_ring = np.cumsum(refs.ring_counts) - refs.ring_counts
        built = ~refs.broken & (refs.ring_counts > 0)
        built[built] = ring_lengths[first_ring[built]] > 0
        ring_keep = built[polygon_of_ring] & (ring_lengths > 0)
        kept_per_polygon = np.bincount(polygon_of_ring[ring_keep], minlength=len(polygons))
        coords = self.points[index[np.repeat(ring_keep, ring_lengths)]]
        ring_offsets = np.concatenate([[0], np.cumsum(ring_lengths[ring_keep])])
        coords, ring_offsets = _closed(coords, ring_offsets)
        offsets = np.concatenate([[0], np.cumsum(kept_per_polygon[built])])
        return _Rings(coords, ring_offsets, offsets, built, refs.broken)

    def _joined(self, refs: _ArcRefs) -> tuple[np.ndarray, np.ndarray]:
        """Per ring, its arcs joined: the positions' indexes into ``points`` (each arc after a
        ring's first without its first point; ``~i`` runs arc i backwards), and the rings'
        lengths."""
        ref, sizes = refs.refs, refs.ring_sizes
        first = np.zeros(len(ref), dtype=bool)
        first[(np.cumsum(sizes) - sizes)[sizes > 0]] = True
        reverse = ref < 0
        arc = np.where(reverse, ~ref, ref)
        start, end = self.starts[arc], self.ends[arc]
        skip = (~first).astype(np.int64)
        lengths = np.maximum(end - start - skip, 0)
        step = np.where(reverse, -1, 1)
        base = np.where(reverse, end - 1 - skip, start + skip)
        before = np.cumsum(lengths) - lengths
        index = np.repeat(base - step * before, lengths)
        index += np.repeat(step, lengths) * np.arange(lengths.sum())
        ring_of_ref = np.repeat(np.arange(len(sizes)), sizes)
        ring_lengths = np.bincount(ring_of_ref, weights=lengths, minlength=len(sizes))
        return index, ring_lengths.astype(np.int64)


@dataclass
class _ArcRefs:
    refs: np.ndarray  # every ring's arc indexes, one ring after the other
    ring_sizes: np.ndarray  # arc indexes per ring
    ring_counts: np.ndarray  # rings per polygon (0 where broken)
    broken: np.ndarray  # per polygon: not a list of lists


def _arc_refs(polygons: list[Any], n_arcs: int) -> _ArcRefs | None:
    """The arc indexes of ``polygons``' rings, or None when one is not a whole number within
    range (``-n_arcs .. n_arcs - 1``)."""
    refs: list[Any] = []
    ring_sizes: list[int] = []
    ring_counts = np.zeros(len(polygons), dtype=np.int64)
    broken = np.zeros(len(polygons), dtype=bool)
    for n, polygon in enumerate(polygons):
        if type(polygon) is list and all(type(ring) is list for ring in polygon):
            ring_counts[n] = len(polygon)
            for ring in polygon:
                refs += ring
                ring_sizes.append(len(ring))
        else:
            broken[n] = True
    try:
        ref = np.array(refs)
    except (ValueError, TypeError):  # a ring holding lists: nested too deep
        return None
    if len(ref) and (
        ref.ndim != 1 or ref.dtype.kind != "i" or ref.min() < -n_arcs or ref.max() >= n_arcs
    ):
        return None
    return _ArcRefs(ref.astype(np.int64), np.asarray(ring_sizes, np.int64), ring_counts, broken)


@dataclass
class _Rings:
    coords: np.ndarray  # (n, 2) coordinates of every kept ring, one after the other
    ring_offsets: np.ndarray  # start of each kept ring in coords (+ the end)
    offsets: np.ndarray  # start of each built polygon in the kept rings (+ the end)
    built: np.ndarray  # per polygon: it has an outer ring
    broken: np.ndarray  # per polygon: not a list of rings of valid arc indexes


def _valid_rings(polygon: Any, n_arcs: int) -> bool:
    """A list of rings, each a list of arc indexes within range (``~i`` reverses arc i)."""
    if not isinstance(polygon, list):
        return False
    return all(
        isinstance(ring, list) and all(type(r) is int and -n_arcs <= r < n_arcs for r in ring)
        for ring in polygon
    )


def _properties(member: dict[str, Any]) -> dict[str, Any]:
    """A member's properties, with its "id" unless a property has that name (not copied when
    there is nothing to add)."""
    props = member.get("properties")
    if not isinstance(props, dict):
        props = {}
    if "id" in member and "id" not in props:
        props = {**props, "id": member["id"]}
    return props


def _closed(coords: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rings closed and padded to at least four points (a collapsed ring is kept, so
    validation repairs it and reports it); nothing is copied when all already are."""
    if len(offsets) < 2:
        return coords, offsets
    lengths = np.diff(offsets)
    open_ = np.any(coords[offsets[:-1]] != coords[offsets[1:] - 1], axis=1)
    bad = np.flatnonzero(open_ | (lengths < 4))
    if not len(bad):
        return coords, offsets
    rings = np.split(coords, offsets[1:-1])
    for i in bad:
        ring = rings[i]
        if not (ring[0] == ring[-1]).all():
            ring = np.vstack([ring, ring[:1]])
        while len(ring) < 4:
            ring = np.vstack([ring, ring[-1:]])
        rings[i] = ring
    lengths = np.fromiter((len(r) for r in rings), dtype=np.int64, count=len(rings))
    return np.concatenate(rings), np.concatenate([[0], np.cumsum(lengths)])


def _listed_arcs(arcs: list[Any], source: str) -> TextArcs:
    """Arcs parsed as JSON lists, as one positions array (x, y) and a length per arc."""
    try:
        lengths = np.fromiter(map(len, arcs), dtype=np.int64, count=len(arcs))
        points = _positions_at_once(arcs)
        if points is None:
            points = np.concatenate([_positions(arc) for arc in arcs] or [np.empty((0, 2))])
    except (TypeError, ValueError, IndexError) as exc:
        raise SourceError(f"{source}: broken TopoJSON arcs ({exc})") from None
    return TextArcs(points, lengths)


def _decoded_arcs(
    arcs: TextArcs, transform: Any, source: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every arc's positions (quantised arcs delta-decoded and transformed), with each arc's
    start and end in them."""
    ends = np.cumsum(arcs.lengths)
    starts = ends - arcs.lengths
    points = arcs.positions
    if transform:
        try:
            points = _delta_decoded(points, starts, arcs.lengths)
            points = points * transform["scale"] + transform["translate"]
        except (TypeError, ValueError, KeyError) as exc:
            raise SourceError(f"{source}: broken TopoJSON transform ({exc})") from None
    return points, starts, ends


def _positions_at_once(arcs: list[Any]) -> np.ndarray | None:
    """All arcs' positions (x, y) in one conversion; None when their dimensions differ."""
    try:
        flat = np.asarray(list(chain.from_iterable(arcs)), dtype=float)
    except ValueError:
        return None
    if flat.ndim != 2 or flat.shape[1] < 2:
        return None if len(flat) else np.empty((0, 2))
    return flat[:, :2]


def _positions(arc: Any) -> np.ndarray:
    points = np.asarray(arc, dtype=float)
    if points.size == 0:
        return np.empty((0, 2))
    if points.ndim != 2 or points.shape[1] < 2:
        raise ValueError("positions need two coordinates")
    return points[:, :2]


def _delta_decoded(points: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Quantised positions (deltas from the previous position of the same arc) made
    absolute: in one pass when the sums are exact (integers below 2**53), else arc by arc."""
    if np.all(points == np.round(points)) and np.abs(points).sum() < _EXACT_SUM:
        sums = np.vstack([np.zeros((1, 2)), np.cumsum(points, axis=0)])
        return sums[1:] - np.repeat(sums[starts], lengths, axis=0)
    parts = [np.cumsum(points[s : s + n], axis=0) for s, n in zip(starts, lengths, strict=True)]
    return np.concatenate(parts or [np.empty((0, 2))])


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while JSON builds its (acyclic) objects: its
    passes over them took as long as the parse itself (Cambridge's parcels: 0.07 → 0.04 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_topology(path: Path) -> Topology:
    data = path.read_bytes()
    split = split_arcs(data)
    if split is not None:
        try:
            with _collector_paused():
                document = orjson.loads(split[0])
        except orjson.JSONDecodeError:
            document = None  # parsed whole below, for the error message
        if isinstance(document, dict) and document.get("arcs") == []:
            return Topology(document, path.name, split[1])
    try:
        with _collector_paused():
            document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"cannot read {path.name}: not valid JSON ({exc.msg})") from None
    if not isinstance(document, dict):
        raise SourceError(f"{path.name}: not a TopoJSON Topology")
    return Topology(document, path.name)


def topojson_frames(
    topology: Topology, layer: str | None, batch_rows: int
) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """Attributes and geometries in batches of ``batch_rows``."""
    for props, geoms in topology.feature_chunks(layer, batch_rows):
        yield pd.DataFrame(props), geoms
