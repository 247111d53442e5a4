"""Plain-language descriptions of the codes of a system (what a zoning district is for and what
may be built there), read from ``<city>/<system>_descriptions.csv`` beside the code table.

Columns: ``code, summary_zh, summary_en, no_limit, no_limit_note_zh, no_limit_note_en,
sources``. ``no_limit`` lists (``;``) the controls that do not apply in the district (a limit
that was removed is "no limit", not "unknown"); ``sources`` says where the district's limits
come from: ``official``, ``secondary``, ``mixed`` or ``none``. A district without a row of its
own takes its parent's (a level-1 family row describes all its districts), column by column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitalcity.catalog.codes import CodeTable, read_rows
from digitalcity.catalog.semantics import CONTROL_KEYS
from digitalcity.errors import CatalogError

DESCRIPTION_COLUMNS = (
    "code",
    "summary_zh",
    "summary_en",
    "no_limit",
    "no_limit_note_zh",
    "no_limit_note_en",
    "sources",
)
SOURCE_KINDS = ("official", "secondary", "mixed", "none")


@dataclass(frozen=True)
class Description:
    """One row: the code's summary, the controls that do not apply and why, its sources."""

    code: str
    summary_zh: str
    summary_en: str
    no_limit: tuple[str, ...]
    no_limit_note_zh: str
    no_limit_note_en: str
    sources: str


@dataclass(frozen=True)
class Descriptions:
    """The descriptions of one code system, resolved through the code table's parents."""

    system: str
    rows: dict[str, Description]
    table: CodeTable

    def _chain(self, code: str) -> list[Description]:
        chain, current, seen = [], self.table.get(code), set()
        own = self.rows.get(code)
        if own is not None:
            chain.append(own)
        while current is not None and current.parent and current.parent not in seen:
            seen.add(current.parent)
            if current.parent in self.rows:
                chain.append(self.rows[current.parent])
            current = self.table.get(current.parent)
        return chain

    def describe(self, code: str | None, lang: str = "en") -> dict[str, Any] | None:
        """The plain description of ``code`` in ``lang`` ('zh' or 'en'), None if it has none:
        ``summary``, ``no_limit`` (control keys), ``no_limit_note`` and ``sources``."""
        if code is None:
            return None
        chain = self._chain(str(code))
        if not chain:
            return None
        zh = lang.lower().startswith("zh")

        def first(attr: str) -> Any:
            return next((getattr(d, attr) for d in chain if getattr(d, attr)), None)

        note = first("no_limit_note_zh" if zh else "no_limit_note_en")
        return {
            "summary": first("summary_zh" if zh else "summary_en"),
            "no_limit": list(first("no_limit") or ()),
            "no_limit_note": note,
            "sources": first("sources") or "none",
        }


def load_descriptions(path: Path, table: CodeTable) -> Descriptions:
    """Read and check a descriptions CSV against its code table; a bad row raises
    ``CatalogError`` naming the file, row and fault."""
    rows: dict[str, Description] = {}
    for line, row in read_rows(path, DESCRIPTION_COLUMNS):
        where = f"{path}: row {line}: code {row['code']!r}"
        if row["code"] not in table:
            raise CatalogError(f"{where}: not a code of {table.system!r}")
        if row["code"] in rows:
            raise CatalogError(f"{where}: duplicate code")
        no_limit = tuple(k.strip() for k in row["no_limit"].split(";") if k.strip())
        unknown = [k for k in no_limit if k not in CONTROL_KEYS]
        if unknown:
            raise CatalogError(
                f"{where}: no_limit {unknown} are not controls (one of {list(CONTROL_KEYS)})"
            )
        if row["sources"] not in SOURCE_KINDS:
            raise CatalogError(f"{where}: sources must be one of {list(SOURCE_KINDS)}")
        if not row["summary_zh"] or not row["summary_en"]:
            raise CatalogError(f"{where}: summary_zh and summary_en are both needed")
        if no_limit and not (row["no_limit_note_zh"] and row["no_limit_note_en"]):
            raise CatalogError(f"{where}: say why (no_limit_note_zh and _en) there is no limit")
        rows[row["code"]] = Description(
            row["code"],
            row["summary_zh"],
            row["summary_en"],
            no_limit,
            row["no_limit_note_zh"],
            row["no_limit_note_en"],
            row["sources"],
        )
    return Descriptions(table.system, rows, table)


def code_descriptions(layers_dir: Path, tables: dict[str, CodeTable]) -> dict[str, Descriptions]:
    """Every ``<city>/<system>_descriptions.csv`` under ``layers_dir``, by system."""
    found: dict[str, Descriptions] = {}
    for path in sorted(layers_dir.glob("*/*_descriptions.csv")):
        system = path.stem.removesuffix("_descriptions")
        table = tables.get(system)
        if table is None:
            raise CatalogError(f"{path}: no code table for system {system!r}")
        if system in found:
            raise CatalogError(f"{path}: descriptions of {system!r} are defined twice")
        found[system] = load_descriptions(path, table)
    return found
