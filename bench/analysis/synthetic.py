"""The SYNTHETIC ×N scale-up: N translated copies of the parcels and of the neighbourhoods,
loaded by our loader as layers of their own, and a ``City`` whose parcels role points at them.

The copies use the grid of ``bench.ingest.inputs.grid_offsets`` (copy 0 in place, the others
side by side, all inside the loader's accepted extent); each neighbourhood copy is renamed
``"<name> #<copy>"`` and renumbered so every synthetic zone is its own group.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
import sqlalchemy as sa

from bench.common.cluster import BenchDB
from bench.ingest.inputs import PARCELS_PATH, bench_layer, grid_offsets, write_synthetic
from digitalcity.catalog import Catalog, CityDef, LayerDef
from digitalcity.city import City
from digitalcity.db.schema import layer_table
from digitalcity.ingest import load_layer

CITY = "cambridge"
PARCELS = "parcels"
ZONES = "neighbourhoods"


@dataclass(frozen=True)
class Scaled:
    """One size of the land-use benchmark: a city seeing the parcels and zones to use."""

    scale: int
    synthetic: bool
    city: City
    parcels: str  # layer id of the parcels (the city's parcels role)
    zones: str  # layer id of the grouping polygons
    parcel_rows: int
    zone_rows: int
    name: str | None = None  # another dataset's

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return f"SYNTHETIC ×{self.scale}" if self.synthetic else "demo (real)"


def write_zones(
    source: Path,
    out: Path,
    city: CityDef,
    scale: int,
    offsets: list[tuple[float, float]] | None = None,
) -> int:
    """Write ``scale`` translated copies of the neighbourhoods GeoJSON ``source`` (lon/lat) to
    the GeoPackage ``out`` (at ``offsets``, degrees; default ``grid_offsets``), each copy's
    zones renamed and renumbered; rows written."""
    frame = pyogrio.read_dataframe(source)
    copies = []
    for copy_no, (dx, dy) in enumerate(offsets or grid_offsets(city, scale)):
        part = frame.copy()
        part["geometry"] = shapely.transform(frame.geometry.values, lambda xy, d=(dx, dy): xy + d)
        part["NAME"] = [f"{name} #{copy_no}" for name in frame["NAME"]]
        part["N_HOOD"] = [str(copy_no * 100 + int(n)) for n in frame["N_HOOD"]]
        copies.append(part)
    merged = gpd.GeoDataFrame(pd.concat(copies, ignore_index=True), crs=frame.crs)
    out.unlink(missing_ok=True)
    pyogrio.write_dataframe(merged, out, layer="synthetic_neighbourhoods", driver="GPKG")
    return len(merged)


def zones_layer(base: LayerDef, layer_id: str, path: Path) -> LayerDef:
    """``base`` (the neighbourhoods definition) reading the GeoPackage ``path`` as ``layer_id``."""
    data = base.model_dump(mode="python", exclude_none=True)
    data["id"] = layer_id
    source = {k: v for k, v in data["source"].items() if k != "crs"}
    data["source"] = {**source, "path": str(path), "format": "gpkg"}
    return LayerDef.model_validate(data)


def scaled_city(city: City, parcels: LayerDef, zones: LayerDef) -> City:
    """A ``City`` over a catalog with ``parcels`` and ``zones`` added, whose parcels role is
    ``parcels`` (library code unchanged: the analyses follow the roles)."""
    catalog: Catalog = city.catalog.with_layer(parcels).with_layer(zones)
    roles = city.definition.roles.model_copy(update={"parcels": parcels.id})
    definition = city.definition.model_copy(update={"roles": roles})
    return City(catalog, definition, city.engine, city.role)


def _rows(city: City, layer_id: str) -> int:
    table = layer_table(city.layer(layer_id), city.definition)
    with city.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def real(city: City) -> Scaled:
    """Size 1: the demo data as loaded (the real parcels and neighbourhoods)."""
    return _sized(1, False, city, PARCELS, ZONES)


def other_dataset(city: City, name: str) -> Scaled:
    """Another dataset as loaded: its city's parcels and districts roles."""
    roles = city.definition.roles
    assert roles.parcels and roles.districts, "the dataset's city names no parcels or districts"
    return _sized(1, True, city, roles.parcels, roles.districts, name)


def _sized(
    scale: int, synthetic: bool, city: City, parcels: str, zones: str, name: str | None = None
) -> Scaled:
    """A ``Scaled`` with the row counts of its parcels and zones as loaded."""
    rows = _rows(city, parcels), _rows(city, zones)
    return Scaled(scale, synthetic, city, parcels, zones, *rows, name)


def synthetic(db: BenchDB, city: City, scale: int, work: Path) -> Scaled:
    """Write and load the SYNTHETIC ×``scale`` parcels (with the assessor join, so the
    land-use classes are derived as for the real layer) and neighbourhoods."""
    started = time.perf_counter()
    source = db.settings.source_data_dir
    parcels_path = work / f"SYNTHETIC_parcels_x{scale}.gpkg"
    zones_path = work / f"SYNTHETIC_neighbourhoods_x{scale}.gpkg"
    write_synthetic(source / PARCELS_PATH, parcels_path, city.definition, scale)
    zones_base = city.catalog.layer(CITY, ZONES)
    write_zones(source / zones_base.source.path, zones_path, city.definition, scale)
    parcels = bench_layer(
        city.catalog.layer(CITY, PARCELS), f"bench_parcels_x{scale}", parcels_path, join=True
    )
    zones = zones_layer(zones_base, f"bench_neighbourhoods_x{scale}", zones_path)
    for layer in (parcels, zones):
        report = load_layer(layer, city.definition, db.engine, db.settings, force=True)
        if report.rejected:
            print(f"  note: {layer.id}: {len(report.rejected)} rows rejected by the loader")
    scaled = scaled_city(city, parcels, zones)
    out = _sized(scale, True, scaled, parcels.id, zones.id)
    print(
        f"SYNTHETIC ×{scale}: {out.parcel_rows:,} parcels, {out.zone_rows} zones written and "
        f"loaded by our loader in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return out
