"""Delimited text sources (CSV and its kin): which character separates the columns, and
whether decimals are written with a comma.

Spreadsheets save "CSV" with the separator of the user's locale: commas, semicolons in most of
Europe (where the comma is the decimal mark), tabs in Excel's "Text (Tab delimited)" and
"Unicode Text" (``.txt``, the latter UTF-16). The separator is read off the header line: of
comma, semicolon, tab and vertical bar, the one it holds most often outside quotes (a comma
on a tie, or when it holds none of them).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

SUFFIXES = (".csv", ".tsv", ".txt")
_SEPARATORS = (",", ";", "\t", "|")
_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Dialect:
    """How a delimited text file is written: its column separator, and whether a comma is
    its decimal mark (files separated by semicolons, as European spreadsheets save them)."""

    separator: str = ","

    @property
    def decimal_comma(self) -> bool:
        return self.separator == ";"


def is_delimited_text(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def sniff(path: Path, encoding: str | None) -> Dialect:
    """The dialect of ``path`` read with ``encoding`` (UTF-8 when None), from its first line."""
    with path.open("rb") as fh:
        head = fh.read(_HEADER_BYTES)
    decoder = codecs.getincrementaldecoder(encoding or "utf-8")(errors="replace")
    line = decoder.decode(head).lstrip("\ufeff").split("\n", 1)[0]
    counts = dict.fromkeys(_SEPARATORS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_SEPARATORS, key=lambda s: (counts[s], s == ","))
    return Dialect(best if counts[best] else ",")


def read_delimited(
    path: Path,
    encoding: str | None,
    *,
    columns: list[str] | None = None,
    rows: int | None = None,
) -> pd.DataFrame:
    """``columns`` (all when None) of the first ``rows`` rows (all when None) as text, empty
    cells empty strings: what the checks of a definition read (the loader reads faster,
    ``ingest.readers``)."""
    return pd.read_csv(
        path,
        sep=sniff(path, encoding).separator,
        encoding=encoding or "utf-8",
        dtype=str,
        keep_default_na=False,
        usecols=columns,
        nrows=rows,
    )
