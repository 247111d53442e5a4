"""Splitting a tile's layers into two runs rendered at once on two connections.

A city tile at z13–z15 holds some twenty layers, one of them (parcels) heavy: rendered in one
statement, its latency is the sum of every layer's. With a spare core the layers go in two
contiguous runs (so the tile's bytes keep the catalog's layer order), balanced by the number of
features each layer is expected to have in the tile: its row count times the share of its extent
the tile covers, weighted by geometry type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from digitalcity.catalog import LayerDef
from digitalcity.db.live import LayerState
from digitalcity.tiles.content import POINT_TYPES, LayerPlan
from digitalcity.tiles.tms import TileIndex, tile_bounds

T = TypeVar("T")
# a split costs ~1 ms; tiles weighing more take 10-40 ms (Cambridge, z13-z15)
MIN_SPLIT_WEIGHT = 1000.0
_LINE_TYPES = {"LineString", "MultiLineString"}


def expected_features(state: LayerState | None, bounds: tuple[float, float, float, float]) -> float:
    """Rows of the layer expected inside a tile's lon/lat ``bounds``, assuming they spread
    evenly over the layer's extent."""
    if state is None:
        return 0.0
    if state.extent is None:
        return float(state.rows)
    w, s, e, n = state.extent
    tw, ts, te, tn = bounds
    area = max(e - w, 1e-9) * max(n - s, 1e-9)
    overlap = max(0.0, min(e, te) - max(w, tw)) * max(0.0, min(n, tn) - max(s, ts))
    return state.rows * min(1.0, overlap / area)


def geometry_weight(layer: LayerDef) -> float:
    if layer.geometry_type in POINT_TYPES:
        return 1.0
    return 2.0 if layer.geometry_type in _LINE_TYPES else 4.0


def split_in_two(items: Sequence[T], weight: Callable[[T], float]) -> list[Sequence[T]]:
    """``items`` in two contiguous runs of about equal weight, or one run when light."""
    if len(items) < 2:
        return [items]
    weights = [weight(i) for i in items]
    total = sum(weights)
    if total < MIN_SPLIT_WEIGHT:
        return [items]
    best_at, best_max, running = 1, total, 0.0
    for at in range(1, len(items)):
        running += weights[at - 1]
        heavier = max(running, total - running)
        if heavier < best_max:
            best_at, best_max = at, heavier
    return [items[:best_at], items[best_at:]]


def plan_weight(
    state_of: Callable[[LayerDef], LayerState | None], tile: TileIndex
) -> Callable[[tuple[LayerPlan, object]], float]:
    """The weight of a (plan, source) pair of ``tile`` (the tile's bounds are computed on the
    first call: a one-layer tile is never weighed)."""
    bounds: list[tuple[float, float, float, float]] = []

    def weight(pair: tuple[LayerPlan, object]) -> float:
        if not bounds:
            bounds.append(tile_bounds(tile))
        layer = pair[0].layer
        return expected_features(state_of(layer), bounds[0]) * geometry_weight(layer)

    return weight
