"""Settings for every part of digitalcity, read from ``DIGITALCITY_*`` variables.

Settings are created explicitly (``Settings()``) and passed in; nothing reads them at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from digitalcity.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _default_data_dir() -> Path:
    # A root-run service keeps its cluster where an unprivileged server user can reach it.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/digitalcity")
    return Path(user_data_dir("digitalcity"))


class Settings(BaseSettings):
    """All run-time configuration; see README "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="DIGITALCITY_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None
    db_host: str = "127.0.0.1"
    db_port: int = 54329
    db_name: str = "digitalcity"
    db_user: str = "digitalcity"
    db_service_user: str = "digitalcity"
    db_fast_unsafe: bool = False
    # The embedded cluster's shared_buffers (MiB). Size it to hold the tables read most (tuning
    # guides say a quarter of RAM): what falls out of it is read from the OS page cache, or
    # from disk where the page cache is reclaimed (bench.scale, on a VM that pages out idle
    # page cache: ×305 tiles 1.0-2.2× of ×1 between runs at 256 MiB).
    db_shared_buffers_mb: int = 256
    # Behind PgBouncer in transaction pooling mode: no named prepared statements (see
    # deploy/pgbouncer.ini).
    db_transaction_pooling: bool = False
    # Connections each process keeps open (per database, standbys too), and how many more it
    # may open at busy moments. A connection beyond the kept ones is closed when returned,
    # so requests steadily above the kept number start a PostgreSQL backend each: with 5
    # kept, Cambridge 1,000-parcel pages at c=8 spent 3 ms more PostgreSQL CPU a page and
    # ran at 120-125 against 149-150 req/s with 16 kept, 140-153 with 10 (bench.api). Size
    # processes x (kept + extra) within the server's max_connections (100 for the embedded
    # cluster), or use PgBouncer.
    db_pool_size: int = Field(default=10, ge=1)
    db_pool_overflow: int = Field(default=20, ge=0)
    # Hot standbys that answer reads (comma-separated URLs); loads, edits, keys and analyses
    # (which stage temporary tables) go to the primary. See digitalcity/db/routing.py.
    read_database_urls: str | None = None
    replica_max_lag_mb: float = 16.0
    replica_check_seconds: float = 1.0
    # Statement timeouts per role, milliseconds (0: none); every statement run for a request.
    statement_timeout_anonymous_ms: int = 15_000
    statement_timeout_planner_ms: int = 60_000
    statement_timeout_land_bureau_ms: int = 300_000
    statement_timeout_admin_ms: int = 600_000
    pg_bin_dir: Path | None = None

    layers_dir: Path = PROJECT_ROOT / "layers"
    source_data_dir: Path = PROJECT_ROOT.parent / "shared" / "data"
    tiles_dir: Path = PROJECT_ROOT / "tiles"

    tile_cache: bool = True
    tile_copies: bool = True
    tile_max_age: int = 3600
    tile_poll_seconds: float = 5.0
    tile_render_cores: int = 0  # 0: the machine's cores (see TileOptions.render_cores)

    keep_versions: int = 1
    # rows per COPY batch (at most; four are in flight): on the SYNTHETIC OSM-like set (21
    # sparse text columns), 4,000 kept the peak at 100 MiB above the idle interpreter
    # against 208 MiB with 16,000, in the same time (6.61 against 6.76 s, bench.ingest)
    copy_batch_rows: int = 4_000
    progress: bool = True

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    items_default_limit: int = 10
    items_max_limit: int = 10_000
    count_threshold: int = 500_000
    items_cache_mb: int = 64
    items_stream_above: int = 2_000
    # next pages of walks by key rendered ahead and kept for their requests (0: none); see
    # digitalcity.api.prefetch
    items_prefetch_pages: int = 4
    # max_parallel_workers_per_gather on the API's connections (-1: the server's own). Parallel
    # plans pay for starting workers on every page, tile and card: bbox pages of the SYNTHETIC
    # OSM-like roads took 13-21 ms without workers against 24-31 ms with them (medians, c=1).
    api_parallel_workers: int = 0
    export_max_features: int = 2_000_000  # f=gpkg|shp|fgb|kml: features per file at most
    public_base_url: str | None = None
    basemap_url: str | None = None
    basemap_crs: str = "WGS84"
    basemap_attribution: str | None = None

    @field_validator("keep_versions")
    @classmethod
    def _keep_at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("keep_versions must be at least 1 (the previous version is kept)")
        return value

    def statement_timeout_ms(self, role: str) -> int:
        """The statement timeout of ``role`` in milliseconds (0: none)."""
        return int(
            getattr(self, f"statement_timeout_{role}_ms", self.statement_timeout_anonymous_ms)
        )

    @property
    def cluster_dir(self) -> Path:
        """Data directory of the embedded PostgreSQL cluster."""
        return self.data_dir / "pgdata"


def settings_from_environment() -> Settings:
    """``Settings()`` read from the ``DIGITALCITY_*`` variables; a value that is not valid is a
    ``ConfigError`` naming each variable and what is wrong with it (one line, no traceback)."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"DIGITALCITY_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"invalid setting: {problems}") from None
