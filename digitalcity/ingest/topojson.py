"""A TopoJSON decoder that keeps every feature.

GDAL's TopoJSON driver turns a ring that collapsed under quantisation (fewer than three
distinct points) into an empty polygon, losing the feature's shape; here such rings are kept
as degenerate rings, so validation can repair them and report it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
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
        name = layer or next(iter(self.objects), None)
        if name not in self.objects:
            raise SourceError(f"TopoJSON has no object {name!r} (has {', '.join(self.objects)})")
        collection = self.objects[name]
        members = collection.get("geometries", [collection])
        for member in members:
            props = dict(member.get("properties") or {})
            if "id" in member:
                props.setdefault("id", member["id"])
            if not with_geometry:
                yield props, None
                continue
            try:
                geom = self.geometry(member)
            except (ValueError, IndexError, KeyError, TypeError, shapely.errors.GEOSException):
                geom = None
            yield props, geom


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
        with path.open("rb") as fh:
            document = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(
            f"cannot read {path.name}: not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})"
        ) from None
    return Topology(document, path.name)


def topojson_frames(
    topology: Topology, layer: str | None, batch_rows: int
) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """Attributes and geometries in batches of ``batch_rows``."""
    props: list[dict[str, Any]] = []
    geoms: list[shapely.Geometry | None] = []
    for p, g in topology.features(layer):
        props.append(p)
        geoms.append(g)
        if len(props) == batch_rows:
            yield pd.DataFrame(props), _object_array(geoms)
            props, geoms = [], []
    if props:
        yield pd.DataFrame(props), _object_array(geoms)


def _object_array(items: list[shapely.Geometry | None]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out
