"""Typed user errors: the CLI prints them in one line, the API turns them into problem JSON."""

from __future__ import annotations


class DigitalCityError(Exception):
    """Base class of every error caused by input or environment rather than by a bug."""

    status = 400
    title = "Bad request"


class ConfigError(DigitalCityError):
    """Settings or environment are unusable (missing binaries, unreachable database)."""

    status = 500
    title = "Configuration error"


class CatalogError(DigitalCityError):
    """A layer or city definition is invalid."""

    title = "Invalid layer definition"


class NotFound(DigitalCityError):
    """An unknown city, layer or feature (or one the caller may not see)."""

    status = 404
    title = "Not found"


class SourceError(DigitalCityError):
    """A source file is missing, unreadable, truncated or has no usable CRS."""

    title = "Unusable source data"


class LoadError(DigitalCityError):
    """A load could not complete; the previous version of the layer is untouched."""

    title = "Load failed"


class ClusterError(DigitalCityError):
    """The embedded PostgreSQL cluster could not be created, started or stopped."""

    status = 500
    title = "Database cluster error"


class InvalidParameter(DigitalCityError):
    """An analysis parameter is out of range, malformed or meaningless (never computed on)."""

    title = "Invalid parameter"


class OutsideCity(InvalidParameter):
    """A geometry does not overlap the extent of the city's layers."""

    title = "Geometry outside the city"


class LayerNotLoaded(DigitalCityError):
    """An input layer is defined in the catalog but has no loaded version in the database."""

    status = 409
    title = "Layer not loaded"


class MissingExtension(DigitalCityError):
    """A database extension an analysis needs (pgRouting) is not installed."""

    status = 503
    title = "Database extension missing"


class DatabaseUnavailable(DigitalCityError):
    """No database answers (stopped, unreachable, or the primary is down for a write)."""

    status = 503
    title = "Database unavailable"
    retry_after_s = 5


class TimedOut(DigitalCityError):
    """A statement ran past the caller's time budget and was stopped."""

    status = 503
    title = "Time budget exceeded"
    retry_after_s = 30
