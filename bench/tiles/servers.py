"""A throwaway database with Cambridge loaded, and tile servers run by uvicorn on free ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine

from digitalcity.catalog import Catalog, load_catalog
from digitalcity.config import Settings
from digitalcity.db.cluster import EmbeddedCluster
from digitalcity.db.engine import ensure_ready, make_engine
from digitalcity.db.live import VersionMap
from digitalcity.ingest.city import load_city
from digitalcity.tiles.prepare import prepare_layer

CITY = "cambridge"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BenchDB:
    settings: Settings
    cluster: EmbeddedCluster
    engine: Engine
    catalog: Catalog

    def env(self) -> dict[str, str]:
        """Environment for a digitalcity server on this database."""
        s = self.settings
        return {
            "DIGITALCITY_DATA_DIR": str(s.data_dir),
            "DIGITALCITY_DB_PORT": str(s.db_port),
            "DIGITALCITY_TILES_DIR": str(s.tiles_dir),
            "DIGITALCITY_PROGRESS": "false",
        }

    def libpq_url(self) -> str:
        return self.cluster.url().replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def bench_db() -> Iterator[BenchDB]:
    """Start a throwaway cluster, load Cambridge through our loaders, build the 3857 copies."""
    root = Path(tempfile.mkdtemp(prefix="digitalcity-bench-tiles-"))
    settings = Settings(
        data_dir=root, db_port=free_port(), db_fast_unsafe=True, progress=False,
        tiles_dir=root / "tiles",
    )  # fmt: skip
    cluster = EmbeddedCluster(settings)
    cluster.start()
    engine = make_engine(settings, pool_size=10)
    try:
        ensure_ready(engine)
        catalog = load_catalog(settings.layers_dir)
        for outcome in load_city(catalog, CITY, None, engine, settings):
            if outcome.error:
                raise SystemExit(f"load failed: {outcome.error}")
        versions = VersionMap()
        versions.load(engine)
        for layer in catalog.city_layers(CITY):
            state = versions.get(CITY, layer.id)
            if state:
                prepare_layer(engine, layer, catalog.city(CITY), state.version)
        yield BenchDB(settings, cluster, engine, catalog)
    finally:
        engine.dispose()
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def uvicorn_server(app: str, env: dict[str, str], *, factory: bool = False) -> Iterator[str]:
    """Run ``app`` with uvicorn (one worker) on a free port; yields its base URL."""
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning"]
    if factory:
        args.append("--factory")
    proc = subprocess.Popen(args, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{app} exited: {proc.stderr.read()[-2000:] if proc.stderr else ''}"
                )
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"{app} did not start within 60 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
