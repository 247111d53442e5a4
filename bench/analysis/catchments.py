"""Walking catchments of every public school: ours (``service_areas``, pgRouting in PostGIS)
and the same method in memory (shapely noding, networkx Dijkstra), with their areas compared.

The in-memory version follows ``digitalcity.analysis.network.METHOD`` and
``service_area._method``: centre-lines projected to the local CRS, noded where they cross or
touch (``unary_union``), ends within 0.5 m snapped together (single-link clusters, the
centroid as vertex), undirected, cost = length (m); each school starts at its nearest vertex
with the straight access leg counted against the walk (80 m/min); edges kept whole or cut
where the walk ends; catchment = those lines (and the access leg) buffered 50 m
(``quad_segs=4``) and unioned. Areas in m² of the local CRS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from shapely.ops import substring

from digitalcity.analysis import service_areas
from digitalcity.analysis.cache import CACHE_SCHEMA
from digitalcity.analysis.network import SNAP_M, streets_layer
from digitalcity.city import City

SCHOOLS = "public_schools"
SPEED_M_PER_MIN = 4.8 * 1000 / 60  # the library's default walk, 80 m/min
BUFFER_M = 50.0


def drop_cache(city: City) -> None:
    """Empty the analysis cache (the cached street graph), so the next call builds it."""
    with city.engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {CACHE_SCHEMA} CASCADE"))


def ours(city: City, minutes: Sequence[float]) -> pd.DataFrame:
    """``service_areas(city, "public_schools", minutes=...)``: fid, minutes, area_m2."""
    result = service_areas(city, SCHOOLS, minutes=tuple(minutes))
    return pd.DataFrame(result.frame[["fid", "minutes", "area_m2"]])


@dataclass(frozen=True)
class Inputs:
    """Schools (points, fid index) and street centre-lines, in the storage CRS."""

    schools: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame


def read(city: City) -> Inputs:
    """The schools and the streets read from PostGIS by ``City.read`` (geometry only)."""
    return Inputs(city.read(SCHOOLS, columns=[]), city.read(streets_layer(city).id, columns=[]))


@dataclass(frozen=True)
class Graph:
    """The street graph: edge lines, ends and lengths (m), vertex points, a networkx graph."""

    lines: np.ndarray
    source: np.ndarray
    target: np.ndarray
    cost: np.ndarray
    vertices: np.ndarray
    graph: nx.Graph


def build_graph(streets: gpd.GeoDataFrame, local_crs: str, snap_m: float = SNAP_M) -> Graph:
    """The routable graph of ``streets`` in ``local_crs`` (see the module docstring)."""
    lines = streets.to_crs(local_crs).geometry.explode(index_parts=False).to_numpy()
    noded = shapely.get_parts(shapely.union_all(lines))
    noded = noded[shapely.length(noded) > 0]
    m = len(noded)
    ends = np.vstack(
        [
            shapely.get_coordinates(shapely.get_point(noded, 0)),
            shapely.get_coordinates(shapely.get_point(noded, -1)),
        ]
    )
    points_xy, which = np.unique(ends, axis=0, return_inverse=True)
    points = shapely.points(points_xy)
    near_a, near_b = shapely.STRtree(points).query(points, predicate="dwithin", distance=snap_m)
    clusters = nx.Graph()
    clusters.add_nodes_from(range(len(points)))
    clusters.add_edges_from(zip(near_a.tolist(), near_b.tolist(), strict=True))
    label = np.empty(len(points), dtype=np.int64)
    for k, members in enumerate(nx.connected_components(clusters)):
        label[list(members)] = k
    count = np.bincount(label)
    centre = np.column_stack([np.bincount(label, points_xy[:, i]) / count for i in range(2)])
    vertex = label[which.ravel()]
    source, target, cost = vertex[:m], vertex[m:], shapely.length(noded)
    graph = nx.Graph()
    graph.add_nodes_from(range(len(count)))
    for u, v, c in zip(source.tolist(), target.tolist(), cost.tolist(), strict=True):
        if not graph.has_edge(u, v) or graph[u][v]["cost"] > c:
            graph.add_edge(u, v, cost=c)
    return Graph(noded, source, target, cost, shapely.points(centre), graph)


def _cut(lines: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[shapely.Geometry]:
    return [
        substring(line, float(a), float(b), normalized=True)
        for line, a, b in zip(lines, starts, ends, strict=True)
    ]


def catchments(
    graph: Graph,
    schools: gpd.GeoDataFrame,
    local_crs: str,
    minutes: Sequence[float],
    speed: float = SPEED_M_PER_MIN,
    buffer_m: float = BUFFER_M,
) -> pd.DataFrame:
    """fid, minutes, area_m2 (and geometry, local CRS) of each school's walking catchments."""
    origins = schools.to_crs(local_crs)
    points = origins.geometry.to_numpy()
    nearest = shapely.STRtree(graph.vertices).nearest(points)
    access = shapely.distance(points, graph.vertices[nearest])
    max_m = max(minutes) * speed
    rows = []
    for fid, point, vid, access_m in zip(origins.index, points, nearest, access, strict=True):
        walked = nx.single_source_dijkstra_path_length(
            graph.graph, int(vid), cutoff=max(max_m - access_m, 0.0), weight="cost"
        )
        reached = np.full(len(graph.vertices), np.inf)
        nodes = np.fromiter(walked.keys(), dtype=np.int64, count=len(walked))
        reached[nodes] = np.fromiter(walked.values(), dtype=float, count=len(walked)) + access_m
        reached[reached > max_m] = np.inf
        du, dv, c = reached[graph.source], reached[graph.target], graph.cost
        for m in minutes:
            budget = m * speed
            whole = (du + c <= budget) | (dv + c <= budget)
            from_u = (du < budget) & (du + c > budget) & (dv + c > budget) & (c > 0)
            from_v = (dv < budget) & (dv + c > budget) & (du + c > budget) & (c > 0)
            parts = [
                *graph.lines[whole],
                *_cut(
                    graph.lines[from_u], np.zeros(from_u.sum()), (budget - du[from_u]) / c[from_u]
                ),
                *_cut(
                    graph.lines[from_v],
                    1 - (budget - dv[from_v]) / c[from_v],
                    np.ones(from_v.sum()),
                ),
            ]
            if access_m <= budget:
                parts.append(shapely.LineString([point, graph.vertices[vid]]))
            shape = shapely.union_all(shapely.buffer(np.asarray(parts), buffer_m, quad_segs=4))
            rows.append((fid, float(m), float(shape.area), shape))
    frame = pd.DataFrame(rows, columns=["fid", "minutes", "area_m2", "geometry"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=local_crs)


def compare(ours_frame: pd.DataFrame, gpd_frame: pd.DataFrame) -> tuple[float, int]:
    """The largest relative difference of a catchment's area (ours as reference) and the
    number of catchments matched by school fid and minutes."""
    merged = ours_frame.merge(
        pd.DataFrame(gpd_frame[["fid", "minutes", "area_m2"]]),
        on=["fid", "minutes"],
        suffixes=("", "_g"),
    )
    rel = (merged["area_m2"] - merged["area_m2_g"]).abs() / merged["area_m2"]
    return float(rel.max()), len(merged)
