"""Population allocation from census blocks to any polygon: areal interpolation (block
population × share of the block's area inside) or dasymetric allocation onto residential
parcels. Areas measured in the city's local metric CRS; populations are fractional persons."""

from __future__ import annotations

from typing import Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from digitalcity.analysis import params
from digitalcity.analysis.bindings import bindings_for, require
from digitalcity.analysis.classes import class_field
from digitalcity.analysis.errors import InvalidParameter
from digitalcity.analysis.result import AnalysisResult, provenance
from digitalcity.analysis.sqlrun import frame, run, stage
from digitalcity.analysis.zones import stage_zones
from digitalcity.catalog.model import LayerDef
from digitalcity.city import City

Method = Literal["areal", "dasymetric"]
METHODS: tuple[Method, ...] = ("areal", "dasymetric")
UNITS = {"population": "persons (fractional)", "area_m2": "m²", "density_per_km2": "persons/km²"}


def population_field(layer: LayerDef) -> str:
    """The field of a population layer that counts persons: its ``population`` meaning, else
    the field whose unit is 'persons'."""
    declared = layer.semantic("population")
    if declared is not None:
        return declared.name
    for f in layer.all_fields:
        if f.unit == "persons" and f.type in ("integer", "float"):
            return f.name
    raise InvalidParameter(f"layer {layer.id!r} has no field counted in persons")


def stage_carriers(
    conn: Connection, city: City, method: Method, *, near: str | None = None
) -> list[LayerDef]:
    """Stage ``_blocks`` and ``_carriers`` for ``method``; returns the layers read. With
    ``near`` (areal only: a staged table of targets), only the blocks around the targets."""
    bound = bindings_for(city)
    blocks = city.layer(require(city.id, "population", bound.population))
    near = near if method == "areal" else None
    stage(conn, city, "_blocks", blocks, {"pop": population_field(blocks)}, near=near)
    if method == "areal":
        run(conn, "carriers_areal")
        return [blocks]
    parcels = city.layer(require(city.id, "parcels", bound.parcels))
    level1 = class_field(city, parcels, "level1").field
    residential = require(city.id, "residential land class", bound.residential_level1)
    stage(conn, city, "_residential", parcels, where={level1: [residential]})
    run(conn, "carriers_dasymetric")
    return [blocks, parcels]


def layer_total(conn: Connection, city: City, layer: LayerDef) -> float:
    """The sum of a population layer's persons field over every row."""
    table = city.relation(layer)
    total = conn.execute(sa.select(sa.func.sum(table.c[population_field(layer)]))).scalar()
    return float(total or 0.0)


def method_text(city: City, method: Method) -> str:
    bound = bindings_for(city)
    if method == "areal":
        return (
            f"areal interpolation: {bound.population} population × (area of the block inside "
            f"the polygon / block area), areas in {city.local_crs}"
        )
    return (
        f"dasymetric: each {bound.population} block's population placed on its residential "
        f"parcels ({bound.parcels}, level-1 class {bound.residential_level1}) in proportion to "
        f"their area, then shared by area inside the polygon; blocks without residential "
        f"parcels fall back to areal interpolation; areas in {city.local_crs}"
    )


def population_in_polygon(
    city: City,
    polygon: params.PolygonLike,
    *,
    polygon_crs: str | int = "EPSG:4326",
    method: Method = "areal",
) -> AnalysisResult:
    """Residents of ``polygon`` (in ``polygon_crs``, lon/lat by default): one row with the
    population, the polygon's area (m², local CRS) and density; summary adds the city total."""
    method = params.choice(method, "method", METHODS)
    with city.engine.begin() as conn:
        area = params.polygon(conn, city, polygon, polygon_crs)
        stage_zones(conn, city, None, area)
        run(conn, "targets_from")
        inputs = stage_carriers(conn, city, method, near="_targets")
        rows = frame(conn, "population_allocate")
        totals = frame(conn, "carriers_totals").iloc[0]
        if method == "areal":  # the staged blocks are those near the polygon: total them all
            totals["population"] = layer_total(conn, city, inputs[0])
        prov = provenance(
            conn,
            city,
            "population_in_polygon",
            {
                "method": method,
                "polygon_crs": str(polygon_crs),
                "polygon": params.describe(area, city),
            },
            inputs,
            method=method_text(city, method),
        )
    out = _with_density(rows.drop(columns="tid"))
    summary = {
        "population": float(out["population"].sum()),
        "city_population": float(totals["population"]),
        "fallback_population": float(totals["fallback_population"]),
    }
    return AnalysisResult(out, None, UNITS, prov, summary)


def population_by_zone(city: City, zone_layer: str, *, method: Method = "areal") -> AnalysisResult:
    """Residents of each zone of a polygon layer (by its label, e.g. neighbourhood names);
    the zones' sum reconciles with the census total where they cover every block."""
    method = params.choice(method, "method", METHODS)
    with city.engine.begin() as conn:
        zones = stage_zones(conn, city, zone_layer, None)
        run(conn, "targets_from")
        inputs = stage_carriers(conn, city, method)
        rows = frame(conn, "population_allocate")
        labels = frame(conn, "targets_zone")
        totals = frame(conn, "carriers_totals").iloc[0]
        prov = provenance(
            conn,
            city,
            "population_by_zone",
            {"zone_layer": zone_layer, "method": method},
            [*inputs, *zones],
            method=method_text(city, method),
        )
    merged = rows.merge(labels, on="tid")
    out = merged.groupby("zone", dropna=False)[["population", "area_m2"]].sum().reset_index()
    out = _with_density(out)
    summary = {
        "population": float(out["population"].sum()),
        "city_population": float(totals["population"]),
        "fallback_population": float(totals["fallback_population"]),
    }
    return AnalysisResult(out, None, UNITS, prov, summary)


def _with_density(out: pd.DataFrame) -> pd.DataFrame:
    out = out.astype({"population": float, "area_m2": float})
    out["density_per_km2"] = out["population"] / (out["area_m2"] / 1e6)
    return out
