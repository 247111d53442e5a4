"""The fixed tile list, an HTTP load runner (threads + httpx) and the raw SQL floor."""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import psycopg

from digitalcity.tiles.query import tile_statement
from digitalcity.tiles.service import TileService, Tileset
from digitalcity.tiles.tms import TileIndex, tile_matrix_set

CENTRE = (-71.1106, 42.3736)  # Cambridge, Massachusetts
ZOOMS = range(10, 17)


def tile_list() -> list[TileIndex]:
    """A fixed list: at z10-z16 the 3 x 3 block of tiles around the centre of Cambridge."""
    tms = tile_matrix_set("WebMercatorQuad")
    tiles = []
    for z in ZOOMS:
        centre = tms.tile(*CENTRE, z)
        tiles += [
            TileIndex(z, centre.x + dx, centre.y + dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
        ]
    return tiles


@dataclass(frozen=True)
class Target:
    """One request: its path on each server (None where a server has no such tileset)."""

    kind: str  # "city" or "parcels"
    tile: TileIndex
    ours: str
    tipg: str | None


def targets(tiles: Sequence[TileIndex]) -> list[Target]:
    out = []
    for t in tiles:
        out.append(Target("city", t, f"/tiles/cambridge/{t.z}/{t.x}/{t.y}", None))
        if t.z >= 13:  # parcels start at z13
            ours = f"/collections/cambridge__parcels/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
            tipg = f"/collections/cambridge.parcels/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
            out.append(Target("parcels", t, ours, tipg))
    return out


@dataclass
class Result:
    requests: int
    seconds: float
    latencies: list[float]  # seconds, in request order
    statuses: dict[int, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    def p95_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


def run(jobs: Sequence[Callable[[], int]], concurrency: int) -> Result:
    """Run every job once on ``concurrency`` threads; latency per job, status counts."""
    latencies = [0.0] * len(jobs)
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def one(i: int) -> None:
        t0 = time.perf_counter()
        status = jobs[i]()
        latencies[i] = time.perf_counter() - t0
        with lock:
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(len(jobs))))
    return Result(len(jobs), time.perf_counter() - started, latencies, statuses)


def http_jobs(base: str, paths: Sequence[str], concurrency: int) -> list[Callable[[], int]]:
    """One GET per path (gzip accepted, body read raw), one keep-alive client per thread."""
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(
                base_url=base, timeout=60, headers={"Accept-Encoding": "gzip"}
            )
        return local.client

    def job(path: str) -> Callable[[], int]:
        def get() -> int:
            with client().stream("GET", path) as response:
                for _ in response.iter_raw():
                    pass
                return response.status_code

        return get

    return [job(p) for p in paths]


_PARAM = re.compile(r"(?<![:\w]):(\w+)")


def floor_jobs(service: TileService, dsn: str, tilesets: Sequence[tuple[Tileset, TileIndex]]):
    """The statements our server runs, executed straight through psycopg (one conn per thread)."""
    local = threading.local()

    def conn() -> psycopg.Connection:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(dsn, autocommit=True)
        return local.conn

    jobs = []
    for tileset, tile in tilesets:
        if not tileset.plans:
            jobs.append(lambda: 204)  # the server answers these without a query too
            continue
        statement, params = tile_statement(service.sources(tileset), tileset.city, tile)
        sql = _PARAM.sub(r"%(\1)s", statement.text)

        def job(sql: str = sql, params: dict = params) -> int:
            data = conn().execute(sql, params).fetchone()[0]
            return 200 if data else 204

        jobs.append(job)
    return jobs
