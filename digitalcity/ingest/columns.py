"""A batch's attribute columns, as read: Arrow (spatial formats) or pandas (CSV, TopoJSON,
raster cells). A column becomes a pandas Series only when something asks for one.

The loader casts text and number columns straight from Arrow (``digitalcity.ingest.attributes``)
and converts the rest column by column. Turning every batch into a DataFrame first, and the
text back into Arrow, cost 0.4 s of the 1.9 s of CPU that reading, checking and encoding
246,900 SYNTHETIC OSM-like roads (21 text columns) took.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa


class Columns:
    """Attribute columns of one batch, optionally restricted to some of its rows (``take``)."""

    def __init__(self, data: pa.Table | pd.DataFrame, rows: np.ndarray | None = None) -> None:
        self._data = data
        self._rows = rows  # positions kept, in order; None for all

    def __len__(self) -> int:
        return len(self._data) if self._rows is None else len(self._rows)

    def take(self, rows: np.ndarray) -> Columns:
        """The same columns restricted to ``rows`` (positions in this view, in order)."""
        if self._rows is not None:
            rows = self._rows[rows]
        if len(rows) == len(self._data) and (
            not len(rows) or (rows[0] == 0 and np.all(np.diff(rows) == 1))
        ):
            return Columns(self._data)
        return Columns(self._data, np.asarray(rows, dtype=np.int64))

    def arrow(self, name: str) -> pa.Array | None:
        """Column ``name`` as one Arrow array, when the batch was read as Arrow; else None."""
        if not isinstance(self._data, pa.Table):
            return None
        column = self._data.column(name)
        if self._rows is not None:
            column = column.take(pa.array(self._rows))
        return column.combine_chunks()

    def series(self, name: str) -> pd.Series:
        """Column ``name`` as a pandas Series indexed 0..n-1 (dates as ``datetime.date``)."""
        array = self.arrow(name)
        if array is not None:
            return array.to_pandas(date_as_object=True)
        frame = self._data
        assert isinstance(frame, pd.DataFrame)
        column = frame[name] if self._rows is None else frame[name].iloc[self._rows]
        return column.reset_index(drop=True)
