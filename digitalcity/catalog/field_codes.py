"""Which fields of a layer hold codes of a code table, and which codes they may hold.

A classified layer's classification field holds the native system's leaf codes (a level-1
code with children is a heading, not a value); its crosswalk's level-1 and level-2 fields
hold the target system's codes of that level. Query builders, queryables and edit forms
offer these as lists.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path

from digitalcity.catalog.codes import Code, CodeTable, Crosswalk, load_crosswalk
from digitalcity.catalog.model import Classification, LayerDef


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


@functools.lru_cache(maxsize=32)
def crosswalk_of(path: Path, target: CodeTable, cls: Classification) -> Crosswalk:
    """The crosswalk file at ``path`` of classification ``cls`` into ``target``, read once per
    process."""
    return load_crosswalk(path, target, cls.normaliser)


def native_code_known(
    layer: LayerDef, tables: Mapping[str, CodeTable], layers_dir: Path | None
) -> Callable[[str], bool]:
    """Whether a code of ``layer``'s classification field is one the layer knows: one its
    crosswalk maps to a standard class, when it has one (in ``layers_dir``), else one of its
    code table (written as the table writes it: the classification's ``normalise``). Every
    code is known to an unclassified layer, or one whose table is not loaded."""
    cls = layer.classification
    if cls is None:
        return lambda _code: True
    target = tables.get(cls.crosswalk.to) if cls.crosswalk else None
    if cls.crosswalk and target is not None and layers_dir is not None:
        walk = crosswalk_of(layers_dir / cls.crosswalk.file, target, cls)
        return lambda code: walk.lookup(code) is not None
    native = tables.get(cls.system)
    if native is None:
        return lambda _code: True
    normalise = cls.normaliser
    return lambda code: normalise(code) in native
