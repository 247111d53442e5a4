"""Table sources (delimited text, spreadsheets) read for the checks of a definition as the
loader reads them: under the header row that holds the names the definition locates rows by,
below any title (``delimited_text``, ``ingest.sheets``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from digitalcity.catalog.delimited_text import HeaderTest, is_delimited_text, read_delimited
from digitalcity.ingest.sheets import SHEET_FORMATS, read_sheet


def is_table(path: Path) -> bool:
    return is_delimited_text(path) or path.suffix.lower().lstrip(".") in SHEET_FORMATS


def read_source_table(
    path: Path,
    sheet: str | None,
    encoding: str | None,
    fits: HeaderTest,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """``columns`` (all when None) of the table ``path`` (``sheet``: a workbook's sheet)
    under the header that ``fits``; a missing column raises ValueError or KeyError."""
    if is_delimited_text(path):
        return read_delimited(path, encoding, columns=columns, fits=fits)
    frame = read_sheet(path, sheet, fits)
    return frame if columns is None else frame[columns]
