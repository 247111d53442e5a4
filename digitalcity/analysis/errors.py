"""Typed errors of the analysis library (``DigitalCityError`` subclasses → 4xx in the API)."""

from __future__ import annotations

from digitalcity.errors import DigitalCityError


class InvalidParameter(DigitalCityError):
    """A parameter is out of range, malformed or meaningless (never computed on)."""

    status = 400
    title = "Invalid parameter"


class OutsideCity(InvalidParameter):
    """A geometry does not overlap the extent of the city's layers."""

    title = "Geometry outside the city"


class LayerNotLoaded(DigitalCityError):
    """An input layer is defined in the catalog but has no loaded version in the database."""

    status = 409
    title = "Layer not loaded"


class MissingExtension(DigitalCityError):
    """A database extension the analysis needs (pgRouting) is not installed."""

    status = 503
    title = "Database extension missing"
