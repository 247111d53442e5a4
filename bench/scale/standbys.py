"""The API over one and over two streaming standbys of a primary holding the real city:
cold item pages (the page cache off) at c=8 through one uvicorn process per setting."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from bench.common.city import city_db
from bench.common.cluster import free_port
from bench.common.runner import http_jobs, run
from bench.common.servers import uvicorn_server
from digitalcity.config import Settings
from digitalcity.db.standby import StandbyCluster

PAGES = 300
CONCURRENCY = 8


def _paths(seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(PAGES):
        x, y = rng.uniform(-71.13, -71.09), rng.uniform(42.36, 42.39)
        out.append(
            f"/collections/cambridge__parcels/items?limit=100&bbox={x - 0.004},{y - 0.003},{x + 0.004},{y + 0.003}"
        )
    return out


def main() -> None:
    with city_db() as db:
        roots = [Path(tempfile.mkdtemp(prefix="digitalcity-bench-standby-")) for _ in range(2)]
        standbys = [
            StandbyCluster(
                Settings(data_dir=r, db_port=free_port(), db_fast_unsafe=True, progress=False),
                db.cluster,
            )
            for r in roots
        ]
        for standby in standbys:
            standby.start()
        try:
            paths = _paths()
            rates = {}
            for count in (0, 1, 2):
                urls = ",".join(s.url() for s in standbys[:count])
                env = {
                    **db.env(),
                    "DIGITALCITY_ITEMS_CACHE_MB": "0",
                    "DIGITALCITY_READ_DATABASE_URLS": urls,
                }
                with uvicorn_server("digitalcity.api.main:app_factory", env, factory=True) as base:
                    run(http_jobs(base, paths[:10], 1), 1)
                    result = run(http_jobs(base, paths, CONCURRENCY), CONCURRENCY)
                rates[count] = result
            print(
                f"\nAPI over standbys (cold 100-item pages, c={CONCURRENCY}, one uvicorn process):"
            )
            for count, result in rates.items():
                label = "primary only" if count == 0 else f"{count} standby(s)"
                print(
                    f"  {label:<16} {result.rps:7.1f} req/s  p95 {result.p95_ms():6.1f} ms  "
                    f"ratio to 1 standby {result.rps / rates[1].rps:.2f}"
                )
            print("  (2 cores: the API process and the servers share them; more standbys add")
            print("   database capacity that only more cores or machines can use)")
        finally:
            for standby in standbys:
                standby.destroy()
