"""The analyses' typed errors (defined with the others in ``digitalcity.errors``)."""

from digitalcity.errors import InvalidParameter, LayerNotLoaded, MissingExtension, OutsideCity

__all__ = ["InvalidParameter", "LayerNotLoaded", "MissingExtension", "OutsideCity"]
