"""A source file's columns read for the checks of a definition as the loader reads them:
tables (delimited text, spreadsheets) under the header row that holds the names the definition
locates rows by, below any title (``delimited_text``, ``ingest.sheets``); GeoParquet by
pyarrow (``ingest.geoparquet``); everything else by GDAL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio

from digitalcity.catalog.delimited_text import HeaderTest, is_delimited_text, read_delimited
from digitalcity.catalog.ogr_layers import layer_info, measures_read_quietly
from digitalcity.ingest.geoparquet import GeoParquet, is_geoparquet
from digitalcity.ingest.sheets import SHEET_FORMATS, read_sheet


def is_table(path: Path) -> bool:
    return is_delimited_text(path) or path.suffix.lower().lstrip(".") in SHEET_FORMATS


def read_source_table(
    path: Path,
    sheet: str | None,
    encoding: str | None,
    fits: HeaderTest,
    columns: list[str] | None = None,
    rows: int | None = None,
) -> pd.DataFrame:
    """``columns`` (all when None) of the first ``rows`` rows (all when None) of the table
    ``path`` (``sheet``: a workbook's sheet) under the header that ``fits``; a missing column
    raises ValueError or KeyError."""
    if is_delimited_text(path):
        return read_delimited(path, encoding, columns=columns, rows=rows, fits=fits)
    frame = read_sheet(path, sheet, fits)
    frame = frame if columns is None else frame[columns]
    return frame if rows is None else frame.head(rows)


def source_header(
    path: Path, layer: str | None, encoding: str | None, fits: HeaderTest
) -> set[str]:
    """The column names of the source file ``path``, read from its header alone (a
    spreadsheet is read whole: GDAL reads it so)."""
    if is_table(path):
        return {str(c) for c in read_source_table(path, layer, encoding, fits, rows=0).columns}
    if is_geoparquet(path):
        return set(GeoParquet(path).columns)
    return {str(name) for name in layer_info(path, layer, encoding)["fields"]}


def read_source_columns(
    path: Path,
    layer: str | None,
    encoding: str | None,
    fits: HeaderTest,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """``columns`` (all when None) of the source file ``path`` (``layer``: a layer or sheet
    of it), read as the loader reads them; a missing column raises."""
    if is_table(path):
        return read_source_table(path, layer, encoding, fits, columns)
    if is_geoparquet(path):
        source = GeoParquet(path)
        names = source.columns if columns is None else columns
        return pd.DataFrame({name: source.column(name).to_pandas() for name in names})
    with measures_read_quietly():
        return pyogrio.read_dataframe(
            path, layer=layer, columns=columns, read_geometry=False, encoding=encoding
        )
