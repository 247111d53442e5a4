"""Web maps: the planner app (``/map``), the public map (``/public``) and its static export,
and folium maps for notebooks.

Pages are small HTML templates filled with a JSON config; their JavaScript and CSS live under
``static/`` and the map libraries are vendored under ``static/vendor/`` (no CDN at run time).
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from pathlib import Path

STATIC_URL = "/static/web"
# the pages load their assets from STATIC_URL/v/<assets_version()>/..., kept by browsers for a
# year; STATIC_URL/... serves the same files, revalidated at every use
VERSIONED_URL = f"{STATIC_URL}/v"


def static_dir() -> Path:
    """The folder of the pages' assets (``js/``, ``css/``, ``vendor/``)."""
    return Path(str(resources.files("digitalcity.web").joinpath("static")))


@cache
def assets_version() -> str:
    """A short hash of every asset (its path and bytes): changes whenever one of them does, so
    a page never runs a script, style or library kept from an earlier release."""
    digest = hashlib.sha256()
    root = static_dir()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
