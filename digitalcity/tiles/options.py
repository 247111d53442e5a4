"""Tile settings read from ``Settings`` (and, until it has the fields, the environment).

``Settings`` has ``tiles_dir``; the other fields are proposed for it (``tile_cache``,
``tile_copies``, ``tile_max_age``, ``tile_poll_seconds``). Until they exist, the same
names are read from ``DIGITALCITY_TILE_*`` variables when the app or CLI is created, never
at import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_FALSE = {"0", "false", "no", "off"}


def _setting(settings: Any, name: str, default: Any) -> Any:
    value = getattr(settings, name, None)
    if value is not None:
        return value
    env = os.environ.get(f"DIGITALCITY_{name.upper()}")
    if env is None:
        return default
    if isinstance(default, bool):
        return env.strip().lower() not in _FALSE
    return type(default)(env)


@dataclass(frozen=True)
class TileOptions:
    """How tiles are served: cache on/off and where, 3857 copies, HTTP max-age, poll interval."""

    tiles_dir: Path
    cache: bool = True
    copies: bool = True
    max_age: int = 3600
    poll_seconds: float = 5.0
    gzip_level: int = 5

    @property
    def cache_dir(self) -> Path:
        return self.tiles_dir / "cache"

    @classmethod
    def from_settings(cls, settings: Any) -> TileOptions:
        return cls(
            tiles_dir=Path(settings.tiles_dir),
            cache=bool(_setting(settings, "tile_cache", True)),
            copies=bool(_setting(settings, "tile_copies", True)),
            max_age=int(_setting(settings, "tile_max_age", 3600)),
            poll_seconds=float(_setting(settings, "tile_poll_seconds", 5.0)),
        )
