"""What GDAL (through pyogrio) tells of a vector source's layers before reading them.

A source of measured geometries (XYM, XYZM: a PolylineZM shapefile, as survey and CAD
exports write) makes pyogrio warn that it reads no measures; the loader drops heights and
measures itself (layers are stored 2D: ``digitalcity.ingest.geometry``), so that warning
is not passed on.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyogrio
from pyogrio.errors import DataLayerError

_MEASURES_WARNING = re.escape("Measured (M) geometry types are not supported")


@contextmanager
def measures_read_quietly() -> Iterator[None]:
    """Within: pyogrio's warning that it reads no measures (M) is not shown."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_MEASURES_WARNING, category=UserWarning)
        yield


@contextmanager
def crs_left_unmatched() -> Iterator[None]:
    """Within: GDAL's shapefile driver does not look its .prj up among the EPSG definitions
    (``USE_OSR_FIND_MATCHES``), for reads that take the CRS from ``layer_info``. The lookup
    finds a known CRS in about 10 ms, but searches 0.14 s before giving up on a projection
    of a bureau's own (Xiamen Island's Transverse Mercator), at every opening."""
    previous = pyogrio.get_gdal_config_option("USE_OSR_FIND_MATCHES")
    pyogrio.set_gdal_config_options({"USE_OSR_FIND_MATCHES": "NO"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"USE_OSR_FIND_MATCHES": previous})


def layer_info(path: Path, layer: str | int | None = None, encoding: str | None = None) -> Any:
    """``pyogrio.read_info`` of one layer (fields, CRS, feature count, bounds)."""
    with measures_read_quietly():
        try:
            return pyogrio.read_info(path, layer=layer, encoding=encoding)
        except IndexError:  # pyogrio's answer to a source of no layer (a corrupt file)
            raise DataLayerError(f"{path.name} holds no layer GDAL can read") from None
        except UnicodeDecodeError as exc:  # a field name pyogrio cannot decode
            raise DataLayerError(
                f"{path.name}: a field name is not {encoding or 'UTF-8'} text ({exc.reason} at "
                f"byte {exc.start}): a damaged file, or set source.encoding"
            ) from None


def spatial_layers(path: Path) -> tuple[list[str], list[str]]:
    """The names of the layers ``path`` holds, in GDAL's order, and of those with geometry."""
    with measures_read_quietly():
        listed = pyogrio.list_layers(path)
    return [str(name) for name, _ in listed], [str(name) for name, kind in listed if kind]


def plain_geometry_type(name: str) -> str:
    """A GDAL geometry type name as a layer definition names it: "3D LineString",
    "LineString Z", "LineString M" and "LineString ZM" are "LineString" (stored 2D)."""
    return re.sub(r"^3D |(?: Z| M| ZM)$", "", name.replace("Measured ", ""))
