"""Web maps: the planner app (``/map``), the public map (``/public``) and its static export,
and folium maps for notebooks.

Pages are small HTML templates filled with a JSON config; their JavaScript and CSS live under
``static/`` and the map libraries are vendored under ``static/vendor/`` (no CDN at run time).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

STATIC_URL = "/static/web"


def static_dir() -> Path:
    """The folder of the pages' assets (``js/``, ``css/``, ``vendor/``)."""
    return Path(str(resources.files("digitalcity.web").joinpath("static")))
