"""digitalcity: a digital city (数字城市) GIS platform.

Notebook use::

    import digitalcity as dc
    city = dc.open_city("cambridge")
    parcels = city.read("parcels", bbox=(-71.12, 42.36, -71.10, 42.37), crs="EPSG:26986")
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("digitalcity")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"


def open_city(city_id: str, settings=None, *, role="land_bureau"):  # noqa: ANN001, ANN201
    """Open a loaded city for reading layers as GeoDataFrames (see :class:`digitalcity.city.City`)."""
    from digitalcity.city import open_city as _open_city

    return _open_city(city_id, settings, role=role)


def __getattr__(name: str):  # noqa: ANN202 - lazy submodules keep `import digitalcity` light
    if name in ("maps", "analysis"):
        import importlib

        return importlib.import_module(f"digitalcity.{name}")
    raise AttributeError(f"module 'digitalcity' has no attribute {name!r}")


__all__ = ["__version__", "analysis", "maps", "open_city"]
