"""Legend entries of a classified layer, from the code tables (the colours maps use too)."""

from __future__ import annotations

from dataclasses import dataclass

from digitalcity.catalog.codes import CodeTable
from digitalcity.catalog.model import LayerDef


@dataclass(frozen=True)
class LegendEntry:
    code: str
    label: str
    colour: str | None


@dataclass(frozen=True)
class Legend:
    field: str
    system: str
    entries: tuple[LegendEntry, ...]


def legend_for(layer: LayerDef, tables: dict[str, CodeTable], lang: str) -> Legend | None:
    """The classes a layer is coloured by: the standard level-1 classes when the layer maps its
    native codes through a crosswalk, otherwise the native system's own codes."""
    cls = layer.classification
    if cls is None:
        return None
    if cls.crosswalk and cls.crosswalk.to in tables:
        table, field = tables[cls.crosswalk.to], cls.crosswalk.level1_field
        codes = table.level(1)
    elif cls.system in tables:
        table, field = tables[cls.system], cls.field
        codes = table.level(2) or table.level(1)
    else:
        return None
    entries = tuple(
        LegendEntry(code.code, f"{code.code} {code.name(lang)}", table.colour_for(code.code))
        for code in codes
        if not code.variant
    )
    return Legend(field, table.system, entries)
