"""Filtered item pages on both benchmark datasets: CQL2 text filters with a bbox, through our
server (cold: page cache off) and tipg, against the SQL floor (the statements our server
compiles for the same filters, run through psycopg). Prints req/s and the ratios."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from urllib.parse import quote

from bench.api.__main__ import LIMIT, Dataset, cambridge, floor_jobs, line, osm_like
from bench.common.runner import Result, http_jobs, run
from bench.common.servers import tipg_env, uvicorn_server
from digitalcity.catalog.ids import collection_id
from digitalcity.query import parse_text
from digitalcity.query.items import ItemsQuery

# public fields only: anonymous callers (and so these pages) may filter on nothing else
FILTERS = {
    "cambridge": (
        "use_code = '101'",
        "year_built < 1900 AND land_area_sqft > 3000",
        "address LIKE '%MASSACHUSETTS%' OR use_code IN ('111', '112', '340')",
        "NOT (use_code = '101') AND stories >= 3",
    ),
    "osm": (
        "highway = 'primary'",
        "name IS NOT NULL AND highway IN ('residential', 'service')",
        "maxspeed IS NOT NULL OR lanes IS NOT NULL",
        "name LIKE 'name 1%'",
    ),
}


@dataclass(frozen=True)
class FilteredPage:
    filter: str
    box: tuple[float, float, float, float]

    def query_string(self) -> str:
        bbox = ",".join(map(str, self.box))
        return f"bbox={bbox}&limit={LIMIT}&filter-lang=cql2-text&filter={quote(self.filter)}"


def _datasets(boxes: int) -> Iterator[tuple[str, Callable[[], AbstractContextManager[Dataset]]]]:
    yield "cambridge", lambda: cambridge(boxes, 0)
    yield "osm", lambda: osm_like(boxes)


def measure(data: Dataset, filters: tuple[str, ...]) -> dict[tuple[str, int], Result]:
    """Every filter over every bbox of ``data``: floor, ours cold and tipg, at c=1 and c=8."""
    layer = data.catalog.layer(data.city, data.layer)
    city = data.catalog.city(data.city)
    pages = [FilteredPage(f, b) for b in data.boxes for f in filters]
    queries = [
        ItemsQuery(
            layer=layer, city=city, role="anonymous", bbox=p.box, limit=LIMIT,
            filter=parse_text(p.filter),
        )
        for p in pages
    ]  # fmt: skip
    ours = [f"/collections/{collection_id(layer)}/items?{p.query_string()}" for p in pages]
    theirs = [
        f"/collections/{city.schema_name}.{data.layer}/items?{p.query_string()}" for p in pages
    ]
    results: dict[tuple[str, int], Result] = {}
    for c in (1, 8):
        results[("sql", c)] = run(floor_jobs(data.db, queries), c, warm=True)
    cold_env = {**data.db.env(), "DIGITALCITY_ITEMS_CACHE_MB": "0"}
    with uvicorn_server("digitalcity.api.main:app_factory", cold_env, factory=True) as base:
        run(http_jobs(base, ours[: len(filters)], 1), 1)  # connect, compile
        for c in (1, 8):
            results[("cold", c)] = run(http_jobs(base, ours, c), c, warm=True)
    tipg = {**tipg_env(data.db, [city.schema_name]), "TIPG_MAX_FEATURES_PER_QUERY": str(LIMIT)}
    try:
        with uvicorn_server("tipg.main:app", tipg) as base:
            run(http_jobs(base, theirs[: len(filters)], 1), 1)
            for c in (1, 8):
                results[("tipg", c)] = run(http_jobs(base, theirs, c), c, warm=True)
    except (ImportError, RuntimeError) as exc:
        print(f"tipg could not run ({data.label}): {str(exc).splitlines()[-1]}")
    return results


def report(data: Dataset, filters: tuple[str, ...], results: dict[tuple[str, int], Result]) -> None:
    print(
        f"\n{data.label}: {len(filters)} CQL2 filters x {len(data.boxes)} bboxes "
        f"(limit {LIMIT}) on {data.city}.{data.layer}:"
    )
    for f in filters:
        print(f"    {f}")
    names = (("sql", "SQL floor: our statements"), ("cold", "digitalcity, cold"), ("tipg", "tipg"))
    for c in (1, 8):
        print(f"  concurrency {c}")
        for key, name in names:
            if (key, c) in results:
                print(line(name, results[(key, c)]))
        cold = results[("cold", c)]
        print(f"  cold / SQL floor: {cold.rps / results[('sql', c)].rps:.2f}x")
        if ("tipg", c) in results:
            print(f"  cold / tipg:      {cold.rps / results[('tipg', c)].rps:.2f}x")


def main(dataset: str, boxes: int) -> None:
    """Measure and report on ``dataset`` ("cambridge", "osm" or "both")."""
    for name, open_data in _datasets(boxes):
        if dataset in (name, "both"):
            with open_data() as data:
                results = measure(data, FILTERS[name])
            report(data, FILTERS[name], results)
