"""Spreadsheets (Excel ``.xlsx``, OpenDocument ``.ods``) as sources: one sheet, its first row
the column names, its rows the features, located by coordinate or WKT columns as in a CSV file
(the facilities lists a bureau keeps in Excel: schools, hydrants, with longitude and latitude).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from digitalcity.catalog.delimited_text import HeaderTest, header_row
from digitalcity.errors import SourceError

SHEET_FORMATS = ("xlsx", "ods")


def read_sheet(path: Path, sheet: str | None, fits: HeaderTest | None = None) -> pd.DataFrame:
    """The sheet ``sheet`` of the workbook ``path`` (its only sheet when None) as a table:
    numbers as numbers, text as text, empty cells missing. Its first row names the columns,
    unless it does not ``fits`` and a later row of the first ``HEADER_SCAN_ROWS`` does (a title
    above the header): then that row names them, and the rows after it are the table. A
    workbook of several sheets and no ``sheet``, or a sheet it does not have, is a SourceError
    naming its sheets."""
    try:
        names = [str(name) for name, _ in pyogrio.list_layers(path)]
        if sheet is None and len(names) > 1:
            raise SourceError(
                f"{path.name} holds {len(names)} sheets ({', '.join(names[:20])}): "
                "set source.layer to the sheet to load"
            )
        if sheet is not None and sheet not in names:
            raise SourceError(
                f"{path.name} has no sheet {sheet!r}; its sheets: {', '.join(names[:20])}"
            )
        # HEADERS=FORCE: the first row names the columns even when it holds numbers too
        table = pyogrio.read_dataframe(
            path, layer=sheet or names[0], read_geometry=False, HEADERS="FORCE"
        )
        if fits is None or fits({str(c).strip() for c in table.columns}):
            return table
        cells = pyogrio.read_dataframe(
            path, layer=sheet or names[0], read_geometry=False, HEADERS="DISABLE"
        )
    except (DataSourceError, DataLayerError, IndexError) as exc:
        raise SourceError(f"cannot read {path.name}: {str(exc).strip()[:200]}") from None
    row = header_row(cells.itertuples(index=False), fits)
    if row is None:
        return table
    header = [_column_name(v, i) for i, v in enumerate(cells.iloc[row])]
    body = cells.iloc[row + 1 :].reset_index(drop=True)
    body.columns = header
    return body


def _column_name(value: object, position: int) -> str:
    """A header cell's name; an empty one is named by its position, as GDAL names them."""
    text = "" if value is None or (isinstance(value, float) and value != value) else str(value)
    return text.strip() or f"Field{position + 1}"
