"""Collection ids of the web APIs: ``<city>__<layer>`` (e.g. ``cambridge__parcels``).

One place formats and parses them, so OGC API Features and Tiles name layers alike.
"""

from __future__ import annotations

from digitalcity.catalog.model import LayerDef
from digitalcity.catalog.registry import Catalog
from digitalcity.errors import NotFound

SEPARATOR = "__"


def collection_id(layer: LayerDef) -> str:
    """The API collection id of ``layer``: ``<city>__<layer>``."""
    return f"{layer.city}{SEPARATOR}{layer.id}"


def parse_collection_id(text: str, catalog: Catalog) -> LayerDef:
    """The layer named by a collection id; ``NotFound`` for anything else.

    City and layer ids may themselves contain ``__``, so every city prefix is tried
    rather than splitting at the first separator.
    """
    for city_id in catalog.cities:
        prefix = city_id + SEPARATOR
        if text.startswith(prefix):
            layer_id = text[len(prefix) :]
            for layer in catalog.layers.get(city_id, ()):
                if layer.id == layer_id:
                    return layer
    raise NotFound(f"unknown collection {text[:100]!r}")
