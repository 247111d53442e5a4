"""Which fields of a layer hold codes of a code table, and which codes they may hold.

A classified layer's classification field holds the native system's leaf codes (a level-1
code with children is a heading, not a value); its crosswalk's level-1 and level-2 fields
hold the target system's codes of that level. Query builders, queryables and edit forms
offer these as lists.
"""

from __future__ import annotations

from collections.abc import Mapping

from digitalcity.catalog.codes import Code, CodeTable
from digitalcity.catalog.model import LayerDef


def leaf_codes(table: CodeTable) -> tuple[Code, ...]:
    """The codes a feature may carry: every code below level 1, and level-1 codes without
    children, in the table's order."""
    parents = {c.parent for c in table if c.parent}
    return tuple(c for c in table if c.level > 1 or c.code not in parents)


def field_codes(layer: LayerDef, tables: Mapping[str, CodeTable]) -> dict[str, tuple[Code, ...]]:
    """Field name -> the codes it may hold, for the layer's coded fields whose table is
    loaded (none for an unclassified layer)."""
    cls = layer.classification
    if cls is None:
        return {}
    out: dict[str, tuple[Code, ...]] = {}
    native = tables.get(cls.system)
    if native is not None:
        out[cls.field] = leaf_codes(native)
    crosswalk = cls.crosswalk
    target = tables.get(crosswalk.to) if crosswalk else None
    if crosswalk and target is not None:
        out[crosswalk.level1_field] = target.level(1)
        out[crosswalk.level2_field] = target.level(2)
    return out
