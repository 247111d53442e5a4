"""The plan-vs-use rule table: which 2023-guide classes each zoning district family permits.

Kept as data, ``layers/<city>/use_rules_zoning_vs_landuse.csv``, columns exactly
``zone_prefix,family,permitted,note``: the longest ``zone_prefix`` that starts a zone code
names its family (as the families of the city's zoning code table); ``permitted`` lists
space-separated level-1 ('07') or level-2 ('0805') codes of the 2023 guide; ``note`` says why.
A parcel's use fits when its level-1 or level-2 code is listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from digitalcity.catalog.codes import CodeTable, read_rows
from digitalcity.errors import CatalogError

COLUMNS = ("zone_prefix", "family", "permitted", "note")


@dataclass(frozen=True)
class UseRule:
    prefix: str
    family: str
    permitted: frozenset[str]
    note: str

    def permits(self, level1: str | None, level2: str | None) -> bool | None:
        """True / False, or None when the parcel has no class."""
        if level1 is None and level2 is None:
            return None
        return level1 in self.permitted or level2 in self.permitted


@dataclass(frozen=True)
class UseRules:
    path: Path
    rules: Mapping[str, UseRule]

    def match(self, zone: str | None) -> UseRule | None:
        """The rule of the longest prefix of ``zone``; None if none (or no zone)."""
        if not zone:
            return None
        for end in range(len(zone), 0, -1):
            rule = self.rules.get(zone[:end])
            if rule is not None:
                return rule
        return None


@lru_cache(maxsize=8)
def load_use_rules(path: Path, standard: CodeTable, zoning: CodeTable | None = None) -> UseRules:
    """Read and check a rule table: unique prefixes, codes of ``standard``, families of
    ``zoning`` (level 1) when given. Raises ``CatalogError`` naming the file and row."""
    rules: dict[str, UseRule] = {}
    for line, row in read_rows(path, COLUMNS):  # header, UTF-8 and row width checked there
        where = f"{path}: row {line}"
        prefix, family = row["zone_prefix"], row["family"]
        codes = frozenset(row["permitted"].split())
        if not prefix or prefix in rules:
            raise CatalogError(f"{where}: empty or duplicate zone_prefix {prefix!r}")
        unknown = sorted(c for c in codes if standard.get(c) is None)
        if unknown or not codes:
            raise CatalogError(f"{where}: not {standard.system} codes: {unknown or '(none)'}")
        known = zoning.get(family) if zoning is not None else None
        if zoning is not None and (known is None or known.level != 1):
            raise CatalogError(f"{where}: {family!r} is not a family of {zoning.system}")
        rules[prefix] = UseRule(prefix, family, codes, row["note"])
    if not rules:
        raise CatalogError(f"{path}: no rules")
    return UseRules(path, MappingProxyType(rules))
