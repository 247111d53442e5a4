"""A throwaway embedded PostGIS cluster on a free port, in a fresh temporary directory."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from digitalcity.config import Settings
from digitalcity.db.cluster import EmbeddedCluster
from digitalcity.db.engine import ensure_ready, make_engine


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BenchDB:
    """A running throwaway cluster, the settings that reach it and an engine on it."""

    settings: Settings
    cluster: EmbeddedCluster
    engine: Engine

    @property
    def password(self) -> str:
        return self.cluster.password

    def libpq_url(self) -> str:
        """The database URL for psycopg and libpq clients (no SQLAlchemy driver suffix)."""
        return self.cluster.url().replace("postgresql+psycopg://", "postgresql://")

    def env(self) -> dict[str, str]:
        """Environment for a digitalcity server on this database."""
        s = self.settings
        return {
            "DIGITALCITY_DATA_DIR": str(s.data_dir),
            "DIGITALCITY_DB_PORT": str(s.db_port),
            "DIGITALCITY_TILES_DIR": str(s.tiles_dir),
            "DIGITALCITY_LAYERS_DIR": str(s.layers_dir),
            "DIGITALCITY_PROGRESS": "false",
        }


@contextmanager
def throwaway_cluster(
    prefix: str = "digitalcity-bench-",
    *,
    fast_unsafe: bool = True,
    keep: bool = False,
    pool_size: int = 5,
    shared_buffers_mb: int | None = None,
) -> Iterator[BenchDB]:
    """Start a cluster under a new ``/tmp/<prefix>*`` with PostGIS ready; yield it.

    The directory comes from ``tempfile.mkdtemp`` (not a pytest tmp dir), so run as root the
    server user can traverse to it. ``fast_unsafe`` turns fsync and synchronous commit off;
    ``shared_buffers_mb`` overrides the server's buffer pool (``Settings.db_shared_buffers_mb``).
    On exit the engine is disposed and, unless ``keep``, the cluster is stopped and its
    directory deleted; with ``keep`` the server is left running and the directory kept.
    """
    root = Path(tempfile.mkdtemp(prefix=prefix))
    settings = Settings(
        data_dir=root,
        db_port=free_port(),
        db_fast_unsafe=fast_unsafe,
        progress=False,
        tiles_dir=root / "tiles",
    )
    if shared_buffers_mb:
        settings = settings.model_copy(update={"db_shared_buffers_mb": shared_buffers_mb})
    cluster = EmbeddedCluster(settings)
    engine: Engine | None = None
    try:
        cluster.start()
        engine = make_engine(settings, pool_size=pool_size)
        ensure_ready(engine)
        yield BenchDB(settings, cluster, engine)
    finally:
        if engine is not None:
            engine.dispose()
        if not keep:
            cluster.destroy()
            shutil.rmtree(root, ignore_errors=True)
