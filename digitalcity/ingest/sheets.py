"""Spreadsheets (Excel ``.xlsx``, OpenDocument ``.ods``) as sources: one sheet, its first row
the column names, its rows the features, located by coordinate or WKT columns as in a CSV file
(the facilities lists a bureau keeps in Excel: schools, hydrants, with longitude and latitude).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from digitalcity.errors import SourceError

SHEET_FORMATS = ("xlsx", "ods")


def read_sheet(path: Path, sheet: str | None) -> pd.DataFrame:
    """The sheet ``sheet`` of the workbook ``path`` (its only sheet when None) as a table:
    numbers as numbers, text as text, empty cells missing. A workbook of several sheets and no
    ``sheet``, or a sheet it does not have, is a SourceError naming its sheets."""
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
        return pyogrio.read_dataframe(
            path, layer=sheet or names[0], read_geometry=False, HEADERS="FORCE"
        )
    except (DataSourceError, DataLayerError, IndexError) as exc:
        raise SourceError(f"cannot read {path.name}: {str(exc).strip()[:200]}") from None
