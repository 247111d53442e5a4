"""Delimited text sources (CSV and its kin): which character separates the columns, which row
names them, and whether decimals are written with a comma.

Spreadsheets save "CSV" with the separator of the user's locale: commas, semicolons in most of
Europe (where the comma is the decimal mark), tabs in Excel's "Text (Tab delimited)" and
"Unicode Text" (``.txt``, the latter UTF-16). The separator is read off the header line: of
comma, semicolon, tab and vertical bar, the one it holds most often outside quotes (a comma
on a tie, or when it holds none of them).

Tables kept by a bureau often open with a title ("厦门市学校名录（2024年）") above the row
naming the columns. When the caller knows what the header must hold (a source's coordinate
columns), the header is the first of the first ``HEADER_SCAN_ROWS`` rows that holds it.
"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

SUFFIXES = (".csv", ".tsv", ".txt")
HEADER_SCAN_ROWS = 20
_SEPARATORS = (",", ";", "\t", "|")
_HEAD_BYTES = 64 * 1024

HeaderTest = Callable[[set[str]], bool]  # whether a row's cells (stripped) name the columns


@dataclass(frozen=True)
class Dialect:
    """How a delimited text file is written: its column separator, how many lines lie above
    its header row (a title), and whether a comma is its decimal mark (files separated by
    semicolons, as European spreadsheets save them)."""

    separator: str = ","
    header: int = 0

    @property
    def decimal_comma(self) -> bool:
        return self.separator == ";"


def is_delimited_text(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def holding(names: Collection[str]) -> HeaderTest:
    """The header test of a row that names every one of ``names``."""
    wanted = {n.strip() for n in names}
    return lambda cells: wanted <= cells


def header_row(rows: Iterable[Sequence[object]], fits: HeaderTest) -> int | None:
    """The index of the first of the first ``HEADER_SCAN_ROWS`` ``rows`` that ``fits``."""
    for index, row in enumerate(itertools.islice(rows, HEADER_SCAN_ROWS)):
        if fits({str(cell).strip() for cell in row if cell is not None}):
            return index
    return None


def _count_outside_quotes(line: str, separator: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            count += 1
    return count


def sniff(path: Path, encoding: str | None, fits: HeaderTest | None = None) -> Dialect:
    """The dialect of ``path`` read with ``encoding`` (UTF-8 when None). With ``fits``, the
    header is the first row that fits, separated by the first separator that finds one;
    else, or when none does, the first line, as its separators tell."""
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    decoder = codecs.getincrementaldecoder(encoding or "utf-8")(errors="replace")
    lines = decoder.decode(head).lstrip("\ufeff").splitlines()[:HEADER_SCAN_ROWS]
    first = lines[0] if lines else ""
    counts = {s: _count_outside_quotes(first, s) for s in _SEPARATORS}
    order = sorted(_SEPARATORS, key=lambda s: (-counts[s], s != ","))
    if fits is not None:
        for separator in order:
            row = header_row(csv.reader(lines, delimiter=separator), fits)
            if row is not None:
                return Dialect(separator, row)
    return Dialect(order[0] if counts[order[0]] else ",")


def read_delimited(
    path: Path,
    encoding: str | None,
    *,
    columns: list[str] | None = None,
    rows: int | None = None,
    fits: HeaderTest | None = None,
) -> pd.DataFrame:
    """``columns`` (all when None) of the first ``rows`` rows (all when None) as text, empty
    cells empty strings, under the header ``fits`` finds (``sniff``): what the checks of a
    definition and ``init-city`` read (the loader reads faster, ``ingest.readers``)."""
    dialect = sniff(path, encoding, fits)
    return pd.read_csv(
        path,
        sep=dialect.separator,
        skiprows=dialect.header,
        encoding=encoding or "utf-8",
        dtype=str,
        keep_default_na=False,
        usecols=columns,
        nrows=rows,
    )
