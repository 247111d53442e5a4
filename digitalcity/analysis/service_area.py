"""Walking service areas along the street network (pgRouting): 5/10/15-minute catchments of
facilities, the residents inside each (areal interpolation from census blocks) and the share
of the city's population covered — the 15-minute life circle (15分钟生活圈)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection

from digitalcity.analysis import params
from digitalcity.analysis.bindings import bindings_for
from digitalcity.analysis.errors import InvalidParameter
from digitalcity.analysis.network import METHOD as GRAPH_METHOD
from digitalcity.analysis.network import load_graph
from digitalcity.analysis.population import method_text, stage_carriers
from digitalcity.analysis.result import AnalysisResult, provenance
from digitalcity.analysis.sqlrun import frame, geo_frame, run, stage, storage_params
from digitalcity.catalog.model import LayerDef
from digitalcity.city import City

MAX_FACILITIES = 1_000  # per catchment request (service_areas, life_circle)
DEFAULT_MINUTES = (5, 10, 15)
UNITS = {
    "minutes": "min",
    "walk_m": "m (walking distance = minutes × speed)",
    "area_m2": "m²",
    "population": "persons (fractional, areal interpolation)",
    "share": "fraction of the city's census population (0-1)",
}


def _method(speed: float, buffer_m: float) -> str:
    return (
        f"{GRAPH_METHOD}; walking at {speed:g} m/min from the nearest graph vertex of each "
        f"facility (the straight access leg counts against the walk); pgr_drivingDistance gives "
        f"the reachable vertices, edges are kept whole or cut where the walk ends; catchment = "
        f"those lines buffered by {buffer_m:g} m"
    )


def _check(
    minutes: Any, walk_speed_kmh: Any, buffer_m: Any
) -> tuple[tuple[float, ...], float, float]:
    return (
        params.minutes(minutes),
        params.walk_speed(walk_speed_kmh) * 1000 / 60,
        params.distance(buffer_m, "buffer_m", maximum=500.0),
    )


def _facility_layer(city: City, layer_id: str) -> LayerDef:
    layer = city.layer(layer_id)
    if layer.geometry_type not in ("Point", "MultiPoint"):
        raise InvalidParameter(f"layer {layer_id!r} is not a point layer of facilities")
    return layer


def _catchments(
    conn: Connection,
    city: City,
    layer: LayerDef,
    minutes: Sequence[float],
    speed: float,
    buffer_m: float,
) -> None:
    """Stage ``_facilities`` of ``layer`` and build ``_catchments`` on the loaded graph.
    More than ``MAX_FACILITIES`` facilities is an InvalidParameter (catchments of every street
    light are no question a person asks, and would hold a core for minutes)."""
    stage(conn, city, "_facilities", layer, {"label": layer.label_field}, dump=True)
    count = conn.exec_driver_sql("SELECT count(*) FROM _facilities").scalar_one()
    if count > MAX_FACILITIES:
        raise InvalidParameter(
            f"{layer.id} has {count:,} facilities; catchments take at most {MAX_FACILITIES:,}"
        )
    run(
        conn,
        "service_area",
        {
            "minutes": list(minutes),
            "speed_m_per_min": speed,
            "max_m": max(minutes) * speed,
            "buffer_m": buffer_m,
        },
    )


def service_areas(
    city: City,
    facility_layer: str,
    *,
    minutes: Sequence[float] = DEFAULT_MINUTES,
    walk_speed_kmh: float = 4.8,
    buffer_m: float = 50.0,
) -> AnalysisResult:
    """Walking catchments of every facility of ``facility_layer`` for each time in ``minutes``
    (1-120) at ``walk_speed_kmh`` (default 4.8 km/h = 80 m/min), with their residents.

    GeoDataFrame (storage CRS): fid, label, minutes, walk_m, area_m2, population; summary per
    time: residents covered by the union of the catchments and their share of the city.
    """
    minutes, speed, buffer_m = _check(minutes, walk_speed_kmh, buffer_m)
    layer = _facility_layer(city, facility_layer)
    with city.engine.begin() as conn:
        graph = load_graph(conn, city)
        _catchments(conn, city, layer, minutes, speed, buffer_m)
        gdf = geo_frame(conn, city, "catchments")
        run(conn, "targets_catchments")
        inputs = stage_carriers(conn, city, "areal")
        pops = frame(conn, "population_allocate")
        run(conn, "coverage_union", {"layer": layer.id})
        run(conn, "all_kinds_start", {"layer": layer.id})
        coverage = _coverage_population(conn, city)
        prov = provenance(
            conn,
            city,
            "service_areas",
            {
                "facility_layer": facility_layer,
                "minutes": list(minutes),
                "walk_speed_kmh": walk_speed_kmh,
                "buffer_m": buffer_m,
            },
            [layer, graph.layer, *inputs],
            method=f"{_method(speed, buffer_m)}; residents by {method_text(city, 'areal')}",
        )
    prov["graph_cache_key"] = graph.key
    gdf = gdf.merge(pops[["tid", "population"]], on="tid", how="left").drop(columns="tid")
    gdf["population"] = gdf["population"].astype(float).fillna(0.0)
    covered = coverage[coverage["layer"].notna()]
    summary = {
        "city_population": coverage.attrs["city_population"],
        "coverage": [
            {
                "minutes": float(r.minutes),
                "population": float(r.population),
                "share": float(r.share),
                "area_m2": float(r.area_m2),
            }
            for r in covered.itertuples()
        ],
    }
    return AnalysisResult(gdf, city.definition.storage_crs, UNITS, prov, summary)


def life_circle(
    city: City,
    *,
    minutes: float | Sequence[float] = 15,
    facility_layers: Sequence[str] | None = None,
    walk_speed_kmh: float = 4.8,
    buffer_m: float = 50.0,
) -> AnalysisResult:
    """The share of residents within a walk of each kind of facility, and of all kinds at once.

    ``facility_layers`` default to the city's life-circle facilities (Cambridge: public schools,
    fire stations, subway stations). GeoDataFrame (storage CRS), one row per layer and time
    plus rows with layer None for the area that reaches every kind: population, share, area.
    """
    minutes, speed, buffer_m = _check(minutes, walk_speed_kmh, buffer_m)
    ids = (
        list(facility_layers)
        if facility_layers is not None
        else list(bindings_for(city).life_circle_facilities)
    )
    if not ids:
        raise InvalidParameter(f"no facility layers given for city {city.id!r}")
    layers = [_facility_layer(city, x) for x in ids]
    with city.engine.begin() as conn:
        graph = load_graph(conn, city)
        for i, layer in enumerate(layers):
            _catchments(conn, city, layer, minutes, speed, buffer_m)
            run(conn, "coverage_union", {"layer": layer.id})
            run(conn, "all_kinds_start" if i == 0 else "all_kinds_step", {"layer": layer.id})
            for table in ("_facilities", "_origins", "_reached", "_catchments"):
                conn.exec_driver_sql(f"DROP TABLE {table}")
        inputs = stage_carriers(conn, city, "areal")
        gdf = _coverage_population(conn, city, geometry=True)
        prov = provenance(
            conn,
            city,
            "life_circle",
            {
                "minutes": list(minutes),
                "facility_layers": ids,
                "walk_speed_kmh": walk_speed_kmh,
                "buffer_m": buffer_m,
            },
            [*layers, graph.layer, *inputs],
            method=f"{_method(speed, buffer_m)}; coverage = union of a layer's catchments; "
            f"'all' = intersection of the layers' coverages; residents by "
            f"{method_text(city, 'areal')}",
        )
    prov["graph_cache_key"] = graph.key
    summary = {
        "city_population": gdf.attrs["city_population"],
        "all_kinds": {
            str(float(r.minutes)): float(r.share) for r in gdf[gdf["layer"].isna()].itertuples()
        },
    }
    return AnalysisResult(gdf, city.definition.storage_crs, UNITS, prov, summary)


def _coverage_population(conn: Connection, city: City, *, geometry: bool = False) -> pd.DataFrame:
    """Residents of the coverage areas in ``_coverage`` / ``_all_kinds`` (needs ``_carriers``)."""
    run(conn, "coverage_targets")
    pops = frame(conn, "population_allocate")
    total = float(frame(conn, "carriers_totals").iloc[0]["population"])
    if geometry:
        shapes: pd.DataFrame = geo_frame(conn, city, "targets_coverage_geoms")
    else:
        shapes = frame(conn, "targets_coverage", storage_params(city))
    out = shapes.merge(pops, on="tid").drop(columns="tid")
    out["population"] = out["population"].astype(float)
    out["share"] = out["population"] / total if total else float("nan")
    out.attrs["city_population"] = total
    return out
