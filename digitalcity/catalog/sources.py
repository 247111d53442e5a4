"""Where a city's source files live: its own ``source_dir`` or the shared data directory."""

from __future__ import annotations

from pathlib import Path

from digitalcity.catalog.model import CityDef


def source_root(city: CityDef, data_dir: Path) -> Path:
    """The directory a city's relative source paths resolve against.

    ``source_dir`` in city.toml, if set, is taken as is when absolute, else relative to
    ``data_dir`` (``DIGITALCITY_SOURCE_DATA_DIR``); without it, ``data_dir`` itself.
    """
    if not city.source_dir:
        return data_dir
    own = Path(city.source_dir).expanduser()
    return own if own.is_absolute() else data_dir / own
