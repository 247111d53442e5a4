"""A load runner: jobs on a thread pool, timed one by one; HTTP GET jobs with http.client."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import make_conninfo


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


def run(jobs: Sequence[Callable[[], int]], concurrency: int, *, warm: bool = False) -> Result:
    """Run every job once on ``concurrency`` threads; latency per job, status counts. With
    ``warm``, each thread first runs one of the jobs untimed, so the timed jobs do not pay
    for what a thread opens on first use (its HTTP or database connection, the server's
    connection and caches behind it): a pass of 40 pages at c=8 otherwise counts 8 of them."""
    latencies = [0.0] * len(jobs)
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def one(i: int) -> None:
        t0 = time.perf_counter()
        status = jobs[i]()
        latencies[i] = time.perf_counter() - t0
        with lock:
            statuses[status] = statuses.get(status, 0) + 1

    with ThreadPoolExecutor(concurrency) as pool:
        if warm and jobs:
            everyone = threading.Barrier(concurrency)  # one warm-up job on every thread

            def warm_up(i: int) -> None:
                jobs[i % len(jobs)]()
                everyone.wait()

            list(pool.map(warm_up, range(concurrency)))
        started = time.perf_counter()
        list(pool.map(one, range(len(jobs))))
    return Result(len(jobs), time.perf_counter() - started, latencies, statuses)


Call = Callable[..., int]


def http_caller(base: str) -> Call:
    """``call(method, path, body=None, headers=None)``: one request on this thread's
    keep-alive connection to ``base``, the body read as sent; returns the status. The client
    is the standard library's ``http.client``: the lightest Python client, so the figures
    measure the servers (httpx adds 1.2–5 ms to every request)."""
    parsed = urlsplit(base)
    local = threading.local()

    def connection() -> http.client.HTTPConnection:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        return local.conn

    def call(
        method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> int:
        for attempt in (1, 2):
            conn = connection()
            try:
                conn.request(method, path, body=body, headers=headers or {})
                response = conn.getresponse()
                response.read()
                return response.status
            except (http.client.HTTPException, ConnectionError):
                conn.close()  # the server closed a keep-alive connection: reconnect once
                del local.conn
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    return call


def http_jobs(base: str, paths: Sequence[str], concurrency: int) -> list[Callable[[], int]]:
    """One GET per path (gzip accepted, body read as sent), one keep-alive connection per
    thread (``http_caller``)."""
    call = http_caller(base)
    gzip = {"Accept-Encoding": "gzip"}
    return [lambda p=p: call("GET", p, headers=gzip) for p in paths]  # type: ignore[misc]


def thread_connection(dsn: str, options: str | None = None) -> Callable[[], psycopg.Connection]:
    """A getter of one autocommit psycopg connection per calling thread (opened on first use);
    ``options`` as libpq's (e.g. ``-c max_parallel_workers_per_gather=0``)."""
    local = threading.local()
    conninfo = make_conninfo(dsn, options=options) if options else dsn

    def conn() -> psycopg.Connection:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(conninfo, autocommit=True)
        return local.conn

    return conn
