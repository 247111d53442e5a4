"""Independent computations for the analysis tests: source files read with geopandas, areas with
shapely in the local CRS or pyproj ``Geod``, the street graph rebuilt with shapely noding and
networkx. Nothing here imports ``digitalcity.analysis``. (No tests in this module.)"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
import shapely.ops
from conftest import SHARED_DATA
from shapely.geometry.polygon import orient

LOCAL = "EPSG:26986"  # Cambridge's local metric CRS (NAD83 / Massachusetts Mainland)
GEOD = pyproj.Geod(ellps="WGS84")
CAMBRIDGE = SHARED_DATA / "cambridge_ma"
SNAP_M = 0.5
CENSUS_TOTAL = 101_355


def city(catalog, engine, city_id: str = "cambridge", role: str = "land_bureau"):
    from digitalcity.city import City

    return City(catalog, catalog.city(city_id), engine, role)


@lru_cache
def read(name: str, crs: str | None = LOCAL) -> gpd.GeoDataFrame:
    """A Cambridge source file (lon/lat), made valid, reprojected to ``crs`` (None: lon/lat)."""
    gdf = gpd.read_file(CAMBRIDGE / name)
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)  # the TopoJSON declares none; it is lon/lat
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    return gdf if crs is None else gdf.to_crs(crs)


def parcels(crs: str | None = LOCAL) -> gpd.GeoDataFrame:
    """Parcels in source order: feature id = row number (1-based), as the loader numbers them."""
    gdf = read("ASSESSING_ParcelsFY2014.topojson", crs).copy()
    gdf.index = pd.RangeIndex(1, len(gdf) + 1, name="fid")
    return gdf


def geodesic_area(geom) -> float:
    """Area (m²) on the WGS84 ellipsoid of a lon/lat geometry."""
    if isinstance(geom, shapely.Polygon):
        return 0.0 if geom.is_empty else abs(GEOD.geometry_area_perimeter(orient(geom, 1.0))[0])
    return sum(geodesic_area(part) for part in getattr(geom, "geoms", ()))


def overlay_areas(left: gpd.GeoDataFrame, right: gpd.GeoDataFrame) -> pd.DataFrame:
    """Area (m²) of every intersecting pair: columns left (index), right (index), area_m2."""
    li, ri = right.sindex.query(left.geometry.values, predicate="intersects")
    areas = shapely.area(shapely.intersection(left.geometry.values[li], right.geometry.values[ri]))
    out = pd.DataFrame({"left": left.index[li], "right": right.index[ri], "area_m2": areas})
    return out[out["area_m2"] > 0]


def areal_population(targets: list, blocks: gpd.GeoDataFrame | None = None) -> list[float]:
    """Residents of each target polygon (local CRS) by areal interpolation of census blocks."""
    blocks = blocks if blocks is not None else read("DEMOGRAPHICS_Blocks2000.geojson")
    geoms, pops = blocks.geometry.values, blocks["POP_LAB"].to_numpy(dtype=float)
    areas = shapely.area(geoms)
    out = []
    for target in targets:
        idx = blocks.sindex.query(target, predicate="intersects")
        inside = shapely.area(shapely.intersection(geoms[idx], target))
        out.append(float(np.sum(pops[idx] * inside / areas[idx])))
    return out


class StreetGraph:
    """The street centre-lines noded with shapely (unary union), ends within SNAP_M merged."""

    def __init__(self) -> None:
        lines = read("TRANS_Centerlines.geojson").geometry.values
        noded = shapely.get_parts(shapely.unary_union(shapely.get_parts(lines)))
        self.lines = [g for g in noded if g.length > 0]
        ends = np.array([[g.coords[0], g.coords[-1]] for g in self.lines])  # (n, 2, 2)
        points, inverse = np.unique(ends.reshape(-1, 2), axis=0, return_inverse=True)
        tree = shapely.STRtree(shapely.points(points))
        pairs = tree.query(shapely.points(points), predicate="dwithin", distance=SNAP_M)
        close = nx.Graph()
        close.add_nodes_from(range(len(points)))
        close.add_edges_from(zip(pairs[0], pairs[1], strict=True))
        cluster = np.empty(len(points), dtype=int)
        self.vertices = []
        for i, members in enumerate(nx.connected_components(close)):
            cluster[list(members)] = i
            self.vertices.append(points[list(members)].mean(axis=0))
        self.vertices = np.array(self.vertices)
        node = cluster[inverse.reshape(-1)].reshape(-1, 2)
        self.ends = node  # (source, target) vertex of each line
        self.graph = nx.Graph()
        for (u, v), line in zip(node, self.lines, strict=True):
            old = self.graph.get_edge_data(u, v)
            if old is None or line.length < old["length"]:
                self.graph.add_edge(u, v, length=line.length)

    def nearest_vertex(self, point) -> tuple[int, float]:
        d = np.hypot(self.vertices[:, 0] - point.x, self.vertices[:, 1] - point.y)
        i = int(np.argmin(d))
        return i, float(d[i])

    def catchment(self, point, budget_m: float, buffer_m: float = 50.0):
        """Walking catchment (local CRS polygon), built as the library describes its method."""
        start, access = self.nearest_vertex(point)
        if access > budget_m:
            return None
        dist = nx.single_source_dijkstra_path_length(
            self.graph, start, cutoff=budget_m - access, weight="length"
        )
        dist = {n: d + access for n, d in dist.items()}
        parts = [shapely.LineString([point, self.vertices[start]])]
        for (u, v), line in zip(self.ends, self.lines, strict=True):
            du, dv, cost = dist.get(u), dist.get(v), line.length
            if (du is not None and du + cost <= budget_m) or (
                dv is not None and dv + cost <= budget_m
            ):
                parts.append(line)
                continue
            if du is not None and du < budget_m:
                parts.append(
                    shapely.ops.substring(line, 0, (budget_m - du) / cost, normalized=True)
                )
            if dv is not None and dv < budget_m:
                parts.append(
                    shapely.ops.substring(line, 1 - (budget_m - dv) / cost, 1, normalized=True)
                )
        return shapely.unary_union([p.buffer(buffer_m, quad_segs=4) for p in parts])
