"""A TopoJSON decoder that keeps every feature.

GDAL's TopoJSON driver turns a ring that collapsed under quantisation (fewer than three
distinct points) into an empty polygon, losing the feature's shape; here such rings are kept
as degenerate rings, so validation can repair them and report it.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import shapely

from digitalcity.errors import SourceError

Ring = list[list[float]]
_EXACT_SUM = 2.0**53


class Topology:
    """Decoded arcs of one TopoJSON file (lon/lat or whatever its coordinates are)."""

    def __init__(self, document: dict[str, Any], source: str) -> None:
        if document.get("type") != "Topology" or "objects" not in document:
            raise SourceError(f"{source}: not a TopoJSON Topology")
        self.objects: dict[str, Any] = document["objects"]
        transform = document.get("transform")
        arcs = document.get("arcs", [])
        decoded = _decode_arcs_at_once(arcs, transform)
        self.arcs: list[np.ndarray] = decoded if decoded is not None else []
        for arc in arcs if decoded is None else []:
            points = np.asarray(arc, dtype=float)[:, :2]
            if transform:
                points = np.cumsum(points, axis=0)
                points = points * transform["scale"] + transform["translate"]
            self.arcs.append(points)

    def _arc(self, index: int) -> np.ndarray:
        return self.arcs[index] if index >= 0 else self.arcs[~index][::-1]

    def _line(self, indexes: list[int]) -> np.ndarray:
        if len(indexes) == 1:  # most rings: one arc, used as it is (callers do not modify it)
            return self._arc(indexes[0])
        parts = [self._arc(i) if n == 0 else self._arc(i)[1:] for n, i in enumerate(indexes)]
        return np.concatenate(parts) if parts else np.empty((0, 2))

    def _ring(self, indexes: list[int]) -> shapely.LinearRing | None:
        coords = self._line(indexes)
        if len(coords) == 0:
            return None
        if not (coords[0] == coords[-1]).all():
            coords = np.vstack([coords, coords[:1]])
        while len(coords) < 4:  # collapsed ring: keep it, validation repairs it
            coords = np.vstack([coords, coords[-1:]])
        return shapely.linearrings(coords)

    def _polygon(self, rings: list[list[int]]) -> shapely.Polygon | None:
        built = [self._ring(r) for r in rings]
        if not built or built[0] is None:
            return None
        return shapely.Polygon(built[0], [r for r in built[1:] if r is not None])

    def geometry(self, obj: dict[str, Any]) -> shapely.Geometry | None:
        kind = obj.get("type")
        if kind == "Point":
            return shapely.Point(self._point(obj["coordinates"]))
        if kind == "MultiPoint":
            return shapely.MultiPoint([self._point(c) for c in obj["coordinates"]])
        if kind == "LineString":
            return shapely.LineString(self._line(obj["arcs"]))
        if kind == "MultiLineString":
            return shapely.MultiLineString([self._line(a) for a in obj["arcs"]])
        if kind == "Polygon":
            return self._polygon(obj["arcs"])
        if kind == "MultiPolygon":
            polygons = [p for p in (self._polygon(rings) for rings in obj["arcs"]) if p is not None]
            return shapely.MultiPolygon(polygons) if polygons else None
        return None

    def _point(self, coords: list[float]) -> list[float]:
        return list(coords[:2])

    def features(
        self, layer: str | None, *, with_geometry: bool = True
    ) -> Iterator[tuple[dict[str, Any], shapely.Geometry | None]]:
        """(properties, geometry) of each member of ``layer`` (the first object by default)."""
        for chunk in self.feature_chunks(layer, 4096, with_geometry=with_geometry):
            yield from zip(*chunk, strict=True)

    def feature_chunks(
        self, layer: str | None, size: int, *, with_geometry: bool = True
    ) -> Iterator[tuple[list[dict[str, Any]], np.ndarray]]:
        """Properties and geometries (an object array; None where a member has none or a
        broken one) of up to ``size`` members at a time."""
        name = layer or next(iter(self.objects), None)
        if name not in self.objects:
            raise SourceError(f"TopoJSON has no object {name!r} (has {', '.join(self.objects)})")
        collection = self.objects[name]
        members = collection.get("geometries", [collection])
        for start in range(0, len(members), size):
            chunk = members[start : start + size]
            props = []
            for member in chunk:
                p = dict(member.get("properties") or {})
                if "id" in member:
                    p.setdefault("id", member["id"])
                props.append(p)
            if with_geometry:
                yield props, self.geometries(chunk)
            else:
                yield props, np.full(len(chunk), None, dtype=object)

    def geometries(self, members: list[dict[str, Any]]) -> np.ndarray:
        """The geometries of ``members``: polygons built all at once, the rest one by one."""
        out = np.full(len(members), None, dtype=object)
        polygon_at = [i for i, m in enumerate(members) if m.get("type") == "Polygon"]
        if polygon_at:
            out[polygon_at] = self._polygons([members[i].get("arcs") for i in polygon_at])
        for i, member in enumerate(members):
            if member.get("type") != "Polygon":
                out[i] = self._guarded(member)
        return out

    def _guarded(self, member: dict[str, Any]) -> shapely.Geometry | None:
        try:
            return self.geometry(member)
        except (ValueError, IndexError, KeyError, TypeError, shapely.errors.GEOSException):
            return None

    def _polygons(self, arcs_of: list[Any]) -> np.ndarray:
        """Polygons from their rings' arc indexes in one ``from_ragged_array`` call; rings are
        treated as in ``_ring`` (closed, padded to four points, empty holes dropped)."""
        rings: list[np.ndarray] = []
        ring_counts = np.zeros(len(arcs_of), dtype=np.int64)
        built = np.ones(len(arcs_of), dtype=bool)
        for n, polygon in enumerate(arcs_of):
            try:
                lines = [self._line(r) for r in polygon]
            except (ValueError, IndexError, KeyError, TypeError):
                lines = []
            if not lines or len(lines[0]) == 0:
                built[n] = False
                continue
            lines = [line for line in lines if len(line)]
            rings += lines
            ring_counts[n] = len(lines)
        out = np.full(len(arcs_of), None, dtype=object)
        if not rings:
            return out
        rings = _closed_rings(rings)
        lengths = np.fromiter((len(r) for r in rings), dtype=np.int64, count=len(rings))
        ring_offsets = np.concatenate([[0], np.cumsum(lengths)])
        polygon_offsets = np.concatenate([[0], np.cumsum(ring_counts[built])])
        polygons = shapely.from_ragged_array(
            shapely.GeometryType.POLYGON,
            np.concatenate(rings),
            (ring_offsets, polygon_offsets),
        )
        out[np.flatnonzero(built)] = polygons
        return out


def _closed_rings(rings: list[np.ndarray]) -> list[np.ndarray]:
    """Rings closed and padded to at least four points (a collapsed ring is kept, so
    validation repairs it and reports it); rings already so are returned as they are."""
    firsts = np.array([r[0] for r in rings])
    lasts = np.array([r[-1] for r in rings])
    short = np.fromiter((len(r) < 4 for r in rings), dtype=bool, count=len(rings))
    bad = np.flatnonzero(~np.all(firsts == lasts, axis=1) | short)
    for i in bad:
        coords = rings[i]
        if not (coords[0] == coords[-1]).all():
            coords = np.vstack([coords, coords[:1]])
        while len(coords) < 4:
            coords = np.vstack([coords, coords[-1:]])
        rings[i] = coords
    return rings


def _decode_arcs_at_once(
    arcs: list[Any], transform: dict[str, Any] | None
) -> list[np.ndarray] | None:
    """All arcs decoded in one pass, exactly as arc by arc, or None when that cannot be
    guaranteed (ragged or empty arcs, or delta sums that floating point would round)."""
    if not arcs or not all(arcs):
        return None
    try:
        flat = np.asarray(list(chain.from_iterable(arcs)), dtype=float)
    except (ValueError, TypeError):
        return None
    if flat.ndim != 2 or flat.shape[1] < 2:
        return None
    points = flat[:, :2]
    ends = np.cumsum([len(arc) for arc in arcs])
    if transform:
        if not (np.all(points == np.round(points)) and np.abs(points).sum() < _EXACT_SUM):
            return None
        sums = np.cumsum(points, axis=0)  # exact: integers whose sums stay below 2**53
        before = np.vstack([np.zeros((1, 2)), sums[ends[:-1] - 1]])
        points = sums - np.repeat(before, np.diff(ends, prepend=0), axis=0)
        points = points * transform["scale"] + transform["translate"]
    return np.split(points, ends[:-1])


def read_topology(path: Path) -> Topology:
    try:
        document = orjson.loads(path.read_bytes())
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
