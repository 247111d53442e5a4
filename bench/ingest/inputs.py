"""Benchmark inputs: the real parcels and a SYNTHETIC ×N scale-up, plus their layer definitions.

The SYNTHETIC file holds N copies of the real Cambridge parcels (EPSG:4326 lon/lat, degrees),
each translated by a whole cell of a grid of offsets centred on the city, so copies sit side by
side (overlapping only when the grid would otherwise leave the loader's accepted extent, see
``digitalcity.ingest.geometry._outside_city``). Attributes are kept (so the assessor join still
matches on ``ML``); ``copy_no`` and a unique ``bench_id`` are added.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio.raw
import shapely

from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.ingest.topojson import read_topology, topojson_frames

REAL_LAYER = ("cambridge", "parcels")
PARCELS_PATH = "cambridge_ma/ASSESSING_ParcelsFY2014.topojson"
_MIN_PAD_DEG = 0.5  # the loader's smallest padding around the city bbox, degrees


def grid_offsets(city: CityDef, scale: int) -> list[tuple[float, float]]:
    """``scale`` (dx, dy) offsets in degrees, a near-square grid centred on (0, 0).

    Cells are one city bbox wide and tall, shrunk when the outermost copy would lie beyond
    half the loader's padding (so every copy stays well inside the accepted extent).
    """
    assert city.bbox is not None
    minx, miny, maxx, maxy = city.bbox
    cols = math.ceil(math.sqrt(scale))
    rows = math.ceil(scale / cols)
    step_x = min(maxx - minx, _MIN_PAD_DEG / 2 / max((cols - 1) / 2, 1))
    step_y = min(maxy - miny, _MIN_PAD_DEG / 2 / max((rows - 1) / 2, 1))
    cells = [
        ((c - (cols - 1) / 2) * step_x, (r - (rows - 1) / 2) * step_y)
        for r in range(rows)
        for c in range(cols)
    ]
    # the real position (0, 0) first when the grid has a centre cell
    cells.sort(key=lambda d: (abs(d[0]) + abs(d[1]), d[1], d[0]))
    return cells[:scale]


def _field_array(values: np.ndarray) -> np.ndarray:
    """Object values with None where missing (NaN included), as pyogrio writes them."""
    out = np.asarray(values, dtype=object).copy()
    out[pd.isna(out)] = None
    return out


def write_synthetic(
    source: Path,
    out: Path,
    city: CityDef,
    scale: int,
    offsets: list[tuple[float, float]] | None = None,
) -> int:
    """Write the SYNTHETIC ×``scale`` GeoPackage ``out`` from the TopoJSON ``source``; rows written.

    Geometries are decoded with the loader's own TopoJSON decoder (collapsed rings kept, so the
    copies need the same repairs as the real file) and written one copy at a time, at
    ``offsets`` (degrees; default ``grid_offsets(city, scale)``).
    """
    frames = list(topojson_frames(read_topology(source), None, 1_000_000))
    frame, geoms = frames[0]
    names = [str(c) for c in frame.columns]
    fields = {n: _field_array(frame[n].to_numpy(dtype=object)) for n in names}
    fields["UYEAR"] = frame["UYEAR"].fillna(0).to_numpy(dtype=np.int64)
    fields["id"] = frame["id"].to_numpy(dtype=np.int64)
    total = 0
    out.unlink(missing_ok=True)
    for copy_no, (dx, dy) in enumerate(offsets or grid_offsets(city, scale)):
        moved = np.asarray(shapely.transform(geoms, lambda xy, d=(dx, dy): xy + d), dtype=object)
        wkb = np.asarray(shapely.to_wkb(moved), dtype=object)
        data = {
            **fields,
            "copy_no": np.full(len(frame), copy_no, dtype=np.int64),
            "bench_id": np.arange(total + 1, total + len(frame) + 1, dtype=np.int64),
        }
        pyogrio.raw.write(
            out,
            wkb,
            list(data.values()),
            list(data),
            layer="synthetic_parcels",
            driver="GPKG",
            geometry_type="Unknown",
            crs="EPSG:4326",
            append=copy_no > 0,
            layer_options={"SPATIAL_INDEX": "NO"},
        )
        total += len(frame)
    return total


def _without(value: object, removed: set[str]) -> object:
    """``value`` with every reference to a ``removed`` field name dropped (None if it was one)."""
    if isinstance(value, str):
        return None if value in removed else value
    if isinstance(value, list | tuple):
        return [v for v in value if not (isinstance(v, str) and v in removed)]
    if isinstance(value, dict):
        if value.get("field") in removed:  # a label (or the like) of a dropped field
            return None
        return {k: v for k, v in value.items() if not (isinstance(v, str) and v in removed)}
    return value


def bench_layer(base: LayerDef, layer_id: str, path: Path, *, join: bool) -> LayerDef:
    """``base`` (the parcels definition) reading ``path`` (GeoPackage) as layer ``layer_id``.

    Without ``join`` the joins, the joined fields, the classification and every reference to
    those fields (label, search fields, ...) are dropped.
    """
    data = base.model_dump(mode="python", exclude_none=True)
    data["id"] = layer_id
    source = {k: v for k, v in data["source"].items() if k != "crs"}  # the GeoPackage says
    data["source"] = {**source, "path": str(path), "format": "gpkg"}
    if not join:
        removed = {f.name for f in base.all_fields if f.join_name or f.derived}
        data["source"]["joins"] = ()
        data["fields"] = [f for f in data["fields"] if f["name"] not in removed]
        data.pop("classification", None)
        keep = {"id", "city", "title", "description", "source", "fields"}
        for key in [k for k in data if k not in keep]:
            data[key] = _without(data[key], removed)
            if data[key] is None:
                del data[key]
    return LayerDef.model_validate(data)
