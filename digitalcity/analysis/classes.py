"""Land-use class fields and names, from the parcels layer's classification and the code tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from digitalcity.analysis.errors import InvalidParameter
from digitalcity.catalog.codes import CodeTable, code_tables, identity
from digitalcity.catalog.model import LayerDef
from digitalcity.city import City

Level = Literal["level1", "level2", "native"]
LEVELS: tuple[Level, ...] = ("level1", "level2", "native")
UNCLASSIFIED = ("Unclassified", "未分类")


@lru_cache(maxsize=8)
def _tables(root: Path) -> dict[str, CodeTable]:
    return code_tables(root)


@dataclass(frozen=True)
class ClassField:
    """The field holding a layer's classes at one level, and the names of its codes."""

    field: str
    system: str
    table: CodeTable | None
    normalise: Callable[[str], str] = identity  # the classification's, for native codes

    def names(self, code: str | None) -> tuple[str, str]:
        """(English, Chinese) name of ``code``; 'Unclassified' for None, the code if unknown."""
        if code is None:
            return UNCLASSIFIED
        found = None
        if self.table is not None:
            found = self.table.get(code) or self.table.get(self.normalise(code))
        return (found.name_en, found.name_zh) if found else (code, code)

    def colour(self, code: str | None) -> str | None:
        return self.table.colour_for(code) if self.table is not None and code else None


def class_field(city: City, layer: LayerDef, level: Level) -> ClassField:
    """The class field of ``layer`` at ``level`` (InvalidParameter if it has none)."""
    cls = layer.classification
    if cls is None:
        raise InvalidParameter(f"layer {layer.id!r} has no classification")
    normalise: Callable[[str], str] = identity
    if level == "native":
        field, system, normalise = cls.field, cls.system, cls.normaliser
    elif cls.crosswalk is None:
        raise InvalidParameter(f"layer {layer.id!r} has no standard classes, only {cls.system!r}")
    else:
        field = cls.crosswalk.level1_field if level == "level1" else cls.crosswalk.level2_field
        system = cls.crosswalk.to
    root = city.catalog.root
    tables = _tables(root) if root is not None else {}
    return ClassField(field=field, system=system, table=tables.get(system), normalise=normalise)
