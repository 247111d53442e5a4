"""A load runner: jobs on a thread pool, timed one by one; HTTP GET jobs with httpx."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import psycopg


@dataclass
class Result:
    """One run: how many jobs, wall seconds, each job's latency and the status counts."""

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


def thread_connection(dsn: str) -> Callable[[], psycopg.Connection]:
    """A getter of one autocommit psycopg connection per calling thread (opened on first use)."""
    local = threading.local()

    def conn() -> psycopg.Connection:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(dsn, autocommit=True)
        return local.conn

    return conn
