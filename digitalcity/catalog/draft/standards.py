"""A drafted layer's code column classified by a shared code table (``layers/codes``: the
national land-use standards) when its codes are that table's.

The standards share codes with different meanings (05 is 商服用地 in GB/T 21010-2017 and 湿地
in the 2023 guide), so a column whose codes fit several tables is classified only when a
column of class names beside it (a 三调 layer's DLMC beside its DLBM) says which; otherwise
the draft names the candidates in a comment and leaves the choice to the staff.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from digitalcity.catalog.codes import CodeTable, load_code_table
from digitalcity.errors import CatalogError

FITS = 0.95  # share of a column's rows whose codes a table must hold
NAMED = 0.8  # share of a name column's values that must be the table's names of those codes
ADJUSTABLE = re.compile(r"^(.+)K$")  # 三调's "K" (可调整): 0101K is class 0101


@dataclass(frozen=True)
class Standard:
    """How a code column is classified: by ``system`` (None: undecided between
    ``candidates``), its codes' ``K`` stripped when ``adjustable``."""

    column: str
    system: str | None
    candidates: tuple[str, ...]
    share: float  # of the rows, whose codes the system (or every candidate) holds
    adjustable: bool


def shared_tables(layers_dir: Path) -> dict[str, CodeTable]:
    """The shared code tables (``layers_dir/codes/<system>.csv``) by system."""
    folder = layers_dir / "codes"
    tables = {}
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        try:
            tables[path.stem] = load_code_table(path, path.stem)
        except CatalogError:  # check-layers names it; the draft goes on without it
            continue
    return tables


def _share(counts: Mapping[str, int], table: CodeTable) -> tuple[float, bool]:
    """The share of rows whose code ``table`` holds (``K`` stripped where that helps), and
    whether stripping was needed."""
    total = sum(counts.values()) or 1
    plain = sum(n for code, n in counts.items() if code in table)
    stripped = sum(
        n
        for code, n in counts.items()
        if code in table or ((m := ADJUSTABLE.match(code)) and m.group(1) in table)
    )
    return (stripped / total, True) if stripped > plain else (plain / total, False)


def _named_by(table: CodeTable, codes: Mapping[str, int], names: Mapping[str, int]) -> float:
    """The share of a name column's values that are ``table``'s names of ``codes``."""
    known = {
        entry.name_zh
        for code in codes
        if (entry := table.get(code) or table.get(ADJUSTABLE.sub(r"\1", code)))
    }
    return sum(1 for value in names if value in known) / max(len(names), 1)


def standard_for(
    code_columns: Mapping[str, Mapping[str, int]], tables: Mapping[str, CodeTable]
) -> Standard | None:
    """The code column (source column -> code -> rows) best classified by a shared table,
    with the table; None when no column's codes are a table's."""
    found = []
    for column, counts in code_columns.items():
        fits = {s: _share(counts, t) for s, t in tables.items()}
        fitting = {s: v for s, v in fits.items() if v[0] >= FITS}
        if not fitting:
            continue
        share = min(v[0] for v in fitting.values())
        adjustable = any(v[1] for v in fitting.values())
        chosen = next(iter(fitting)) if len(fitting) == 1 else None
        if chosen is None:
            names = [v for c, v in code_columns.items() if c != column]  # other columns
            named = {
                s: max((_named_by(tables[s], counts, n) for n in names), default=0.0)
                for s in fitting
            }
            best = sorted(named.items(), key=lambda item: item[1], reverse=True)
            if best[0][1] >= NAMED and (len(best) == 1 or best[1][1] < best[0][1]):
                chosen = best[0][0]
                share = fitting[chosen][0]
        found.append(Standard(column, chosen, tuple(fitting), share, adjustable))
    # a column decided first, then the one whose codes fit best
    found.sort(key=lambda s: (s.system is None, -s.share))
    return found[0] if found else None
