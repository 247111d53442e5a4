"""Selections of the city tileset: which of its layers one tile request asks for.

The city tileset carries every layer a role may see. A map that shows one theme at a time
(the public map: land use, or the zoning plan, or a census layer) would download the themes
it is not showing with every tile, so its style reads the tileset in parts
(``theme_selections``): the layers without a theme together, and each themed layer alone.
MapLibre fetches a source's tiles only while one of its layers is visible, so a theme's
tiles are fetched when the theme is chosen. Measured on Cambridge's public map at z13 (nine
tiles): 490 KB for the whole tileset, 333 KB for the base and land use.

A request names its selection with OGC API – Tiles' ``collections`` parameter (collection
ids, comma-separated); ``selection_query`` writes it, in catalog order, so every map asking
for the same layers asks with the same URL and shares caches.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from digitalcity.catalog import LayerDef
from digitalcity.catalog.ids import collection_id
from digitalcity.tiles.content import LayerPlan

Selection = frozenset[str]  # layer ids


def theme_selections(layers: Iterable[LayerDef]) -> list[Selection]:
    """The parts a one-theme-at-a-time map reads: the layers without a theme (when any),
    then each themed layer on its own, in catalog order."""
    layers = list(layers)
    base = frozenset(layer.id for layer in layers if not layer.theme)
    themed = [frozenset({layer.id}) for layer in layers if layer.theme]
    return ([base] if base else []) + themed


def selection_query(plans: Iterable[LayerPlan], selection: Selection) -> str:
    """``collections=<ids>`` naming the layers of ``selection`` among ``plans`` (catalog
    order: one URL per selection)."""
    ids = [collection_id(p.layer) for p in plans if p.layer.id in selection]
    return "collections=" + quote(",".join(ids), safe=",")


def with_query(url: str, query: str) -> str:
    """``url`` with ``query`` appended (``?`` or ``&``)."""
    return f"{url}{'&' if '?' in url else '?'}{query}"
