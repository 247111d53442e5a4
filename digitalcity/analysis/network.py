"""The routable street graph: built in PostGIS from the streets layer (noded and snapped in the
local CRS, see ``sql/graph_build.sql``), cached keyed by the layer's version and fingerprint
(``cache.py``), and loaded into the temporary tables ``_edges`` / ``_vertices``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from digitalcity.analysis.bindings import bindings_for, require
from digitalcity.analysis.cache import cached
from digitalcity.analysis.errors import MissingExtension
from digitalcity.analysis.result import AnalysisResult, provenance
from digitalcity.analysis.sqlrun import frame, geo_frame, run, stage
from digitalcity.catalog.model import LayerDef
from digitalcity.city import City

SNAP_M = 0.5
METHOD = (
    f"street lines projected to the local CRS, noded where they cross or touch (ST_UnaryUnion), "
    f"ends within {SNAP_M:g} m snapped together (ST_ClusterDBSCAN); undirected, cost = length (m)"
)


@dataclass(frozen=True)
class Graph:
    key: str
    layer: LayerDef
    built: bool


def streets_layer(city: City) -> LayerDef:
    return city.layer(require(city.id, "streets", bindings_for(city).streets))


def load_graph(conn: Connection, city: City) -> Graph:
    """Make ``_edges`` and ``_vertices`` hold the street graph of the current streets version,
    building and caching it first when the cache has none. Needs pgRouting for routing."""
    if not conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pgrouting'").first():
        raise MissingExtension(
            "pgRouting is not installed in the database: install postgresql-<major>-pgrouting "
            "and run `digitalcity db start` (or CREATE EXTENSION pgrouting)"
        )
    layer = streets_layer(city)

    def build() -> None:
        stage(conn, city, "_streets", layer, dump=True)
        run(conn, "graph_build", {"snap_m": SNAP_M})

    key, built = cached(conn, city, "graph", [layer], ["_edges", "_vertices"], build)
    if not built:
        run(conn, "graph_index")
    return Graph(key, layer, built)


def street_network(city: City) -> AnalysisResult:
    """The routable street graph as a GeoDataFrame of edges (id, source, target, length in m),
    geometry in the storage CRS; summary: edges, vertices, connected components, length."""
    with city.engine.begin() as conn:
        graph = load_graph(conn, city)
        gdf = geo_frame(conn, city, "graph_edges")
        stats = frame(conn, "graph_stats").iloc[0]
        prov = provenance(
            conn, city, "street_network", {"snap_m": SNAP_M}, [graph.layer], method=METHOD
        )
    prov["cache_key"] = graph.key
    summary = {k: (int(v) if k != "length_m" else float(v)) for k, v in stats.items()}
    return AnalysisResult(gdf, city.definition.storage_crs, {"length_m": "m"}, prov, summary)
