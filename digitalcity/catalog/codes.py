"""Land-use code tables and crosswalks, read from CSV files under ``layers/`` (format in
``layers/codes/README.md``); immutable once loaded, and a bad file raises ``CatalogError``."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from digitalcity.errors import CatalogError

CODE_COLUMNS = ("code", "level", "parent", "name_zh", "name_en", "colour", "variant")
CROSSWALK_COLUMNS = ("from_prefix", "to_level1", "to_level2", "note")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Code:
    """One class of a code system; ``parent`` is the code one level up ('' at level 1)."""

    code: str
    level: int
    parent: str
    name_zh: str
    name_en: str
    colour: str
    variant: str = ""

    def name(self, lang: str = "zh") -> str:
        """The name in ``lang``: Chinese for 'zh' / 'zh-*', English otherwise."""
        return self.name_zh if lang.lower().startswith("zh") else self.name_en


@dataclass(frozen=True)
class CodeTable:
    """Immutable table of the codes of one system, in file order."""

    system: str
    codes: tuple[Code, ...]
    _index: Mapping[str, Code] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", MappingProxyType({c.code: c for c in self.codes}))

    def get(self, code: str) -> Code | None:
        return self._index.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._index

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes)

    def level(self, n: int) -> tuple[Code, ...]:
        """All codes at level ``n``, in file order."""
        return tuple(c for c in self.codes if c.level == n)

    def colour_for(self, code: str) -> str | None:
        """The code's ``#rrggbb`` colour, else its nearest ancestor's; None if none or unknown."""
        current = self._index.get(code)
        while current is not None:
            if current.colour:
                return current.colour
            current = self._index.get(current.parent) if current.parent else None
        return None


def read_rows(
    path: Path, columns: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, stripped row) of a UTF-8 CSV whose header is exactly ``columns``
    (or ``columns`` followed by ``optional``)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = tuple(reader.fieldnames or ())
            if header not in (columns, (*columns, *optional)):
                raise CatalogError(f"{path}: columns {list(header)}, expected {list(columns)}")
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    raise CatalogError(f"{path}: row {reader.line_num}: wrong number of fields")
                yield reader.line_num, {k: v.strip() for k, v in row.items()}
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from exc
    except (csv.Error, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: not a valid UTF-8 CSV: {exc}") from exc


def load_code_table(path: Path, system: str) -> CodeTable:
    """Read and validate a code table CSV (columns ``CODE_COLUMNS``)."""
    codes: dict[str, Code] = {}
    lines: dict[str, int] = {}
    for line, row in read_rows(path, CODE_COLUMNS):
        where, code = f"{path}: row {line}: code {row['code']!r}", row["code"]
        if not code or code in codes:
            raise CatalogError(f"{where}: {'duplicate' if code else 'empty'} code")
        if row["level"] not in {"1", "2", "3"}:
            raise CatalogError(f"{where}: level must be 1, 2 or 3")
        if (row["level"] == "1") != (row["parent"] == ""):
            raise CatalogError(f"{where}: level 1 codes, and only they, have no parent")
        if row["colour"] and not _COLOUR.fullmatch(row["colour"]):
            raise CatalogError(f"{where}: bad colour {row['colour']!r}, expected #rrggbb")
        fields = {k: row[k] for k in ("parent", "name_zh", "name_en", "colour", "variant")}
        codes[code] = Code(code=code, level=int(row["level"]), **fields)
        lines[code] = line
    for entry in codes.values():
        parent = codes.get(entry.parent)
        if entry.parent and (parent is None or parent.level != entry.level - 1):
            raise CatalogError(
                f"{path}: row {lines[entry.code]}: code {entry.code!r}: unknown parent "
                f"{entry.parent!r} (must be a level {entry.level - 1} code of this table)"
            )
    return CodeTable(system=system, codes=tuple(codes.values()))


def identity(code: str) -> str:
    """Default normaliser: strip whitespace only."""
    return code.strip()


def code_rewriter(rules: Sequence[tuple[str, str]]) -> Callable[[str], str]:
    """A normaliser of native codes from ``(pattern, replacement)`` rules: white space is
    stripped, then the first rule whose pattern (a regular expression) matches the whole code
    writes it as its replacement (``\\1``: the first group); a code no rule matches is kept.
    No rules: ``identity``. The rules come from a classification's ``normalise``."""
    if not rules:
        return identity
    compiled = [(re.compile(pattern), to) for pattern, to in rules]

    def normalise(code: str) -> str:
        code = code.strip()
        for pattern, to in compiled:
            if (found := pattern.fullmatch(code)) is not None:
                return found.expand(to)
        return code

    return normalise


@dataclass(frozen=True)
class Crosswalk:
    """Mapping of native codes to (level-1, level-2) codes of ``target``: exact rows first,
    then the longest row declared a prefix (``match = prefix``), so ``lane`` never matches
    ``lanes`` unless a row says so."""

    target: str
    rules: Mapping[str, tuple[str, str]]
    normalise: Callable[[str], str] = identity
    prefixes: Mapping[str, tuple[str, str]] = field(default_factory=lambda: MappingProxyType({}))

    def lookup(self, native_code: str) -> tuple[str, str] | None:
        """Target (level 1, level 2) for ``native_code``; None if nothing matches."""
        code = self.normalise(native_code)
        exact = self.rules.get(code)
        if exact is not None:
            return exact
        for end in range(len(code), 0, -1):
            hit = self.prefixes.get(code[:end])
            if hit is not None:
                return hit
        return None


def load_crosswalk(
    path: Path, target: CodeTable, normalise: Callable[[str], str] = identity
) -> Crosswalk:
    """Read a crosswalk CSV (``CROSSWALK_COLUMNS``) and check every target code in ``target``;
    ``normalise`` writes a native code as the crosswalk's rows do (the classification's
    ``normaliser``)."""
    rules: dict[str, tuple[str, str]] = {}
    prefixes: dict[str, tuple[str, str]] = {}
    for line, row in read_rows(path, CROSSWALK_COLUMNS, ("match",)):
        where = f"{path}: row {line}"
        prefix, l1, l2 = row["from_prefix"], row["to_level1"], row["to_level2"]
        if not prefix or prefix in rules or prefix in prefixes:
            raise CatalogError(f"{where}: empty or duplicate from_prefix {prefix!r}")
        if (first := target.get(l1)) is None or first.level != 1:
            raise CatalogError(f"{where}: {l1!r} is not a level 1 code of {target.system!r}")
        if l2 == l1:
            if any(c.parent == l1 for c in target):
                raise CatalogError(f"{where}: {l1!r} has level 2 codes; to_level2 must be one")
        elif (second := target.get(l2)) is None or second.parent != l1:
            raise CatalogError(f"{where}: {l2!r} is not a level 2 code of {l1!r}")
        match = row.get("match") or "exact"
        if match not in ("exact", "prefix"):
            raise CatalogError(f"{where}: match must be 'exact' or 'prefix', not {match!r}")
        (prefixes if match == "prefix" else rules)[prefix] = (l1, l2)
    return Crosswalk(
        target=target.system,
        rules=MappingProxyType(rules),
        normalise=normalise,
        prefixes=MappingProxyType(prefixes),
    )


def code_tables(layers_dir: Path) -> dict[str, CodeTable]:
    """Every table under ``layers_dir``: ``codes/<id>.csv``, ``<city>/<id>_codes.csv`` and
    ``<city>/codes/<id>.csv`` (a city's own tables, so its folder needs no copy of ``codes/``)."""
    found = [(p.stem, p) for p in sorted((layers_dir / "codes").glob("*.csv"))]
    for p in sorted(layers_dir.glob("*/*_codes.csv")):
        if p.parent.name != "codes":
            found.append((p.stem.removesuffix("_codes"), p))
    found += [(p.stem, p) for p in sorted(layers_dir.glob("*/codes/*.csv"))]  # beside a city
    tables: dict[str, CodeTable] = {}
    for system, path in found:
        if system in tables:
            raise CatalogError(f"{path}: code system {system!r} is defined twice")
        tables[system] = load_code_table(path, system)
    return tables
