"""Attribute tables joined onto a layer's rows (CSV and kin, .dbf and other tables GDAL
reads), read whole as text: empty cells missing, column names stripped."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from digitalcity.catalog.delimited_text import is_delimited_text, sniff
from digitalcity.errors import SourceError
from digitalcity.ingest.csv_arrow import arrow_plan
from digitalcity.ingest.readers import gdal_message


def read_table(
    path: Path, encoding: str | None = None, columns: Collection[str] | None = None
) -> pd.DataFrame:
    """A small attribute table (join source) as strings; empty cells become missing.

    With ``columns``, only those are read (names compare stripped); a missing one is a
    ``SourceError`` naming the columns the table has.
    """
    wanted = None if columns is None else {c.strip() for c in columns}
    try:
        if is_delimited_text(path):
            frame = _read_csv(path, encoding or "utf-8", wanted)
        else:
            frame = pyogrio.read_dataframe(path, read_geometry=False, encoding=encoding)
            frame = frame.astype(str).replace({"": None}).dropna(how="all")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceError(f"cannot read {path.name}: {exc}") from None
    except (DataSourceError, DataLayerError) as exc:
        raise SourceError(f"cannot read {path.name}: {gdal_message(exc)}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _read_csv(path: Path, encoding: str, wanted: set[str] | None) -> pd.DataFrame:
    """The CSV's (wanted) columns as strings, empty cells None: read by Arrow (8x faster,
    without holding the GIL) where it reads the file as pandas does (``csv_arrow``), else
    by pandas (which then raises pandas' errors for bad rows and bytes)."""
    dialect = sniff(path, encoding)
    header = [
        str(c) for c in pd.read_csv(path, nrows=0, sep=dialect.separator, encoding=encoding).columns
    ]
    if wanted is not None:
        _require(path, wanted, [c.strip() for c in header])
    names = [c for c in header if wanted is None or c.strip() in wanted]
    plan = arrow_plan(path, encoding, dialect, header)
    if plan is not None:
        try:
            tables = list(plan.batches(max(plan.rows, 1), names))
            empty = pa.table({name: pa.array([], pa.string()) for name in names})
            return _text_frame(pa.concat_tables(tables) if tables else empty, names)
        except (pa.ArrowInvalid, UnicodeError):
            pass
    frame = pd.read_csv(
        path,
        sep=dialect.separator,
        dtype=str,
        keep_default_na=False,
        encoding=encoding,
        usecols=None if wanted is None else (lambda c: str(c).strip() in wanted),
    )
    return frame.replace({"": None}).dropna(how="all")


def _text_frame(table: pa.Table, names: list[str]) -> pd.DataFrame:
    """``names`` of a table read by Arrow as pandas reads them (``dtype=str,
    keep_default_na=False``, then "" -> None): a column with empty cells has object dtype and
    None there, a column without ``str``; rows empty in every column dropped."""
    columns = table.select(names).columns
    frame = pd.DataFrame(
        {
            name: column.to_pandas()
            if column.null_count == 0
            else pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
            for name, column in zip(names, columns, strict=True)
        }
    )
    # a row can be empty only if every column has empty cells
    return frame.dropna(how="all") if all(c.null_count for c in columns) else frame


def _require(path: Path, wanted: set[str], header: list[str]) -> None:
    missing = sorted(wanted - set(header))
    if missing:
        raise SourceError(f"{path.name}: no column {missing[0]!r} (has {', '.join(header)})")


def column_or_error(frame: pd.DataFrame, column: str, where: str) -> Any:
    if column not in frame.columns:
        raise SourceError(
            f"{where}: no column {column!r} (has {', '.join(map(str, frame.columns))})"
        )
    return frame[column]
