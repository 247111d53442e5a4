"""Rows of a table source (CSV and other delimited text, spreadsheets) and where they lie.

A CSV file is read in batches by Arrow where Arrow reads it exactly as pandas does
(``csv_arrow``), else by pandas in chunks (every value as text); each batch's geometries are
points from coordinate columns (x and y, or one column of pairs) or geometries from a column
of WKT, in the CRS the definition or the file gives; None where a row has none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from digitalcity.catalog.delimited_text import Dialect
from digitalcity.catalog.model import SourceDef
from digitalcity.errors import SourceError
from digitalcity.ingest.columns import Columns
from digitalcity.ingest.csv_arrow import arrow_plan
from digitalcity.ingest.numbers import plain_numbers
from digitalcity.ingest.written_forms import coordinate_numbers, split_pairs


def csv_tables(
    path: Path,
    encoding: str | None,
    dialect: Dialect,
    names: list[str],
    batch_rows: int,
    counted: Callable[[int], None],
) -> Iterator[tuple[int, Columns]]:
    """Each batch of ``batch_rows`` rows of the CSV file ``path`` (columns ``names``) with
    the offset of its first row. ``counted(rows)`` is told the file's rows when Arrow's scan
    counted them (a file cut short since it was inspected is seen); the file is scanned only
    when read, so a load that finds its source unchanged never reads it. A file that cannot be
    decoded or parsed raises SourceError naming the rows read before."""
    plan = arrow_plan(path, encoding, dialect, names)
    offset = 0
    if plan is not None:
        counted(plan.rows)
        try:
            for table in plan.batches(batch_rows):
                yield offset, Columns(table)
                offset += table.num_rows
        except (pa.ArrowInvalid, UnicodeError) as exc:
            raise SourceError(f"cannot read {path.name} (after {offset} rows): {exc}") from None
        return
    try:
        chunks = pd.read_csv(
            path,
            sep=dialect.separator,
            skiprows=dialect.header,
            chunksize=batch_rows,
            dtype=str,
            keep_default_na=False,
            encoding=encoding or "utf-8",
        )
        for chunk in chunks:
            yield offset, Columns(chunk.reset_index(drop=True))
            offset += len(chunk)
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise SourceError(f"cannot read {path.name} (after {offset} rows): {exc}") from None


def table_geometry(columns: Columns, source: SourceDef, *, decimal_comma: bool) -> np.ndarray:
    """The points (or WKT geometries) of a table's rows, as the definition locates them
    (``source.wkt``, ``source.xy`` with ``xy_order``, or ``source.x`` and ``source.y``);
    None where a row has none."""
    if source.wkt:
        cells = columns.series(source.wkt).to_numpy(dtype=object)
        text = np.array([c if isinstance(c, str) and c else None for c in cells], dtype=object)
        return shapely.from_wkt(text, on_invalid="ignore")
    if source.xy:
        pairs = split_pairs(columns.series(source.xy), decimal_comma=decimal_comma)
        x_text, y_text = (pairs[0], pairs[1]) if source.xy_order == "xy" else (pairs[1], pairs[0])
        x = coordinate_numbers(x_text, decimal_comma=decimal_comma)
        y = coordinate_numbers(y_text, decimal_comma=decimal_comma)
    else:  # the definition's checks ensure x and y are both set
        x, y = (_coordinates(columns, str(c), decimal_comma) for c in (source.x, source.y))
    points = np.asarray(shapely.points(x, y), dtype=object)
    points[np.isnan(x) | np.isnan(y)] = None
    return points


def _coordinates(columns: Columns, name: str, decimal_comma: bool) -> np.ndarray:
    """The numbers of coordinate column ``name`` (float64, NaN where none): read by Arrow
    and all plain numbers, cast from the Arrow text (``plain_numbers``); else through
    pandas (``coordinate_numbers``), which also reads other forms."""
    text = columns.arrow(name)
    numbers = plain_numbers(text) if text is not None and not decimal_comma else None
    if numbers is not None:
        return numbers.astype(np.float64, copy=False)
    return coordinate_numbers(columns.series(name), decimal_comma=decimal_comma)
