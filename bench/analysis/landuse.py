"""Land-use statistics by neighbourhood: ours (``landuse_statistics``, in PostGIS) and the same
computation with geopandas in memory, timed apart, and the check that they agree.

The geopandas version follows the library's stated method: parcels and zones projected to the
city's local metric CRS (EPSG:26986 for Cambridge), parcel areas split exactly at zone edges
(``gpd.overlay(how="intersection")``), area (m²) summed per zone and level-1 class, parcels
counted in the zone holding their point on surface.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from statistics import median
from typing import ParamSpec, TypeVar

import geopandas as gpd
import pandas as pd

from bench.analysis.synthetic import Scaled
from digitalcity.analysis import landuse_statistics
from digitalcity.analysis.classes import Level, class_field
from digitalcity.analysis.zones import zone_layer

LEVEL: Level = "level1"
TOLERANCE = 0.005  # the two total areas agree within 0.5 %
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Inputs:
    """Parcels (fid index, ``code``) and zones (``zone``) in the city's storage CRS."""

    parcels: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame


def ours(size: Scaled) -> pd.DataFrame:
    """``landuse_statistics(level="level1", group_by=<zones>)``: zone, code, area_m2, parcels."""
    result = landuse_statistics(size.city, level=LEVEL, group_by=size.zones)
    return result.frame[["zone", "code", "area_m2", "parcels"]]


def read(size: Scaled) -> Inputs:
    """Parcels (their level-1 class) and zones (their label) read from PostGIS by ``City.read``."""
    city = size.city
    cls = class_field(city, city.layer(size.parcels), LEVEL)
    _, label = zone_layer(city, size.zones)
    parcels = city.read(size.parcels, columns=[cls.field]).rename(columns={cls.field: "code"})
    zones = city.read(size.zones, columns=[label]).rename(columns={label: "zone"})
    return Inputs(parcels.rename_geometry("geometry"), zones.rename_geometry("geometry"))


def geopandas_stats(inputs: Inputs, local_crs: str) -> pd.DataFrame:
    """Area (m², ``local_crs``) and parcel count per zone and class, in memory."""
    parcels = inputs.parcels.to_crs(local_crs).reset_index()[["fid", "code", "geometry"]]
    zones = inputs.zones.to_crs(local_crs).reset_index(drop=True)[["zone", "geometry"]]
    pieces = gpd.overlay(parcels, zones, how="intersection", keep_geom_type=True)
    pieces["area_m2"] = pieces.geometry.area
    area = pieces.groupby(["zone", "code"], dropna=False)["area_m2"].sum()
    points = gpd.GeoDataFrame(
        parcels[["fid", "code"]], geometry=parcels.geometry.representative_point(), crs=local_crs
    )
    inside = gpd.sjoin(points, zones, predicate="intersects", how="inner")
    counts = inside.groupby(["zone", "code"], dropna=False)["fid"].nunique().rename("parcels")
    out = pd.concat([area, counts], axis=1).fillna({"area_m2": 0.0, "parcels": 0})
    return out.reset_index().astype({"parcels": int})


@dataclass(frozen=True)
class Timing:
    """Median seconds of each part of one size, the last results and their agreement."""

    ours_s: float
    read_s: float
    compute_s: float
    ours_frame: pd.DataFrame
    gpd_frame: pd.DataFrame

    @property
    def total_s(self) -> float:
        return self.read_s + self.compute_s

    def check(self) -> tuple[bool, str]:
        """Whether the total areas agree within ``TOLERANCE``, and a one-line account."""
        a, b = float(self.ours_frame["area_m2"].sum()), float(self.gpd_frame["area_m2"].sum())
        rel = abs(a - b) / max(abs(b), 1e-9)
        keys = ["zone", "code"]
        merged = (
            self.ours_frame.fillna({"code": "∅"})
            .merge(self.gpd_frame.fillna({"code": "∅"}), on=keys, how="outer", suffixes=("", "_g"))
            .fillna(0)
        )
        worst = (merged["area_m2"] - merged["area_m2_g"]).abs().max()
        pc_ours, pc_gpd = (
            int(self.ours_frame["parcels"].sum()),
            int(self.gpd_frame["parcels"].sum()),
        )
        ok = rel <= TOLERANCE
        text = (
            f"total area PostGIS {a / 1e4:,.2f} ha vs geopandas {b / 1e4:,.2f} ha: "
            f"{rel * 100:.4f} % apart ({'OK' if ok else 'MISMATCH'}, limit 0.5 %); "
            f"{len(merged)} zone×class rows, largest row difference {worst:,.1f} m²; "
            f"parcels counted {pc_ours:,} vs {pc_gpd:,}"
        )
        return ok, text


def timed(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> tuple[float, T]:
    """Wall seconds of ``fn(*args, **kwargs)`` and its value."""
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - started, value


def measure(size: Scaled, repeat: int) -> Timing:
    """Ours, the read and the geopandas compute, each ``repeat`` times interleaved; medians."""
    ours_s, read_s, compute_s = [], [], []
    ours_frame = gpd_frame = pd.DataFrame()
    for run_no in range(repeat):
        seconds, ours_frame = timed(ours, size)
        ours_s.append(seconds)
        seconds, inputs = timed(read, size)
        read_s.append(seconds)
        seconds, gpd_frame = timed(geopandas_stats, inputs, size.city.local_crs)
        compute_s.append(seconds)
        del inputs
        print(
            f"  run {run_no + 1}/{repeat} landuse {size.label}: PostGIS {ours_s[-1]:.2f} s, "
            f"geopandas read {read_s[-1]:.2f} s + compute {compute_s[-1]:.2f} s",
            flush=True,
        )
    return Timing(median(ours_s), median(read_s), median(compute_s), ours_frame, gpd_frame)
