"""Joined tables: reduced to one row of values per key (or per row number) before loading.

A one-to-many key join (a condominium's master row plus one row per unit) is reduced with each
field's ``aggregate``: ``master`` takes the master row (or the single / first row),
``mode_other`` the typical non-master row (its ``master.column`` value is the commonest among
them), ``sum`` adds all rows, ``count`` / ``count_other`` count all / non-master rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from digitalcity.catalog.model import FieldDef, JoinDef, LayerDef
from digitalcity.catalog.source_encoding import table_encoding
from digitalcity.errors import SourceError
from digitalcity.ingest.join_tables import column_or_error, read_table
from digitalcity.ingest.numbers import to_numbers
from digitalcity.ingest.readers import resolve_path


def normalise_key(values: pd.Series) -> pd.Series:
    """Join keys compare as trimmed text; integral floats lose their '.0'."""
    text = values.astype("string").str.strip()
    return text.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)


@dataclass
class PreparedJoin:
    """A join reduced to one row per key, plus match statistics filled in while loading."""

    join: JoinDef
    values: pd.DataFrame  # index: key (text) or row number (int); columns: field names
    matched: int = 0
    unmatched: int = 0
    unmatched_examples: list[str] = field(default_factory=list)

    def match(self, batch_keys: pd.Series) -> JoinedRows:
        """The join rows matching each key of a batch (missing keys match nothing)."""
        keys = batch_keys.to_numpy()
        positions = self.values.index.get_indexer(keys)
        hit = (positions >= 0) & batch_keys.notna().to_numpy()
        self.matched += int(hit.sum())
        self.unmatched += int((~hit).sum())
        if len(self.unmatched_examples) < 5:
            misses = batch_keys[~hit].dropna().astype(str).tolist()
            self.unmatched_examples.extend(misses[: 5 - len(self.unmatched_examples)])
        return JoinedRows(self, keys, positions)


@dataclass(frozen=True)
class JoinedRows:
    """The rows of a prepared join matched by the rows of one batch."""

    join: PreparedJoin
    keys: np.ndarray  # the batch's keys
    positions: np.ndarray  # per batch row, its row in ``join.values``; -1 where none matches

    def column(self, name: str) -> pd.Series:
        """One field's joined values (missing where nothing matches), 0-based index."""
        return self.join.values[name].reindex(self.keys).reset_index(drop=True)


def _first_of_runs(ordered_codes: np.ndarray) -> np.ndarray:
    """Where each run of equal codes starts in a sorted array."""
    return np.unique(ordered_codes, return_index=True)[1]


def _commonest_rows(keys: np.ndarray, values: pd.Series, n_keys: int) -> np.ndarray:
    """Per key code, the first row holding the key's commonest non-missing value (ties: the
    smallest value); -1 for a key without one. ``keys`` are the rows' key codes."""
    value_codes, uniques = pd.factorize(values, sort=True)
    counted = np.flatnonzero(value_codes >= 0)
    pairs = keys[counted].astype(np.int64) * len(uniques) + value_codes[counted]
    pairs, first, counts = np.unique(pairs, return_index=True, return_counts=True)
    pair_keys = pairs // max(len(uniques), 1)
    by_count = np.lexsort((-counts, pair_keys))  # stable: equal counts stay in value order
    best = by_count[_first_of_runs(pair_keys[by_count])]
    rows = np.full(n_keys, -1)
    rows[pair_keys[best]] = counted[first[best]]
    return rows


def _reduce(
    frame: pd.DataFrame, key: pd.Series, join: JoinDef, fields: list[FieldDef]
) -> pd.DataFrame:
    """One row per key (index ``__key``, sorted); rows without a key are ignored."""
    where = f"join {join.name!r}"
    keyed = np.flatnonzero(key.notna().to_numpy())  # the frame's rows with a key
    codes, keys = pd.factorize(key.iloc[keyed], sort=True)  # per keyed row, its key's number
    is_master = np.zeros(len(keyed), dtype=bool)
    if join.master:
        master_col = column_or_error(frame, join.master.column, where).iloc[keyed]
        is_master = master_col.astype(str).str.strip().isin(join.master.values).to_numpy()
    # per key, as positions in ``keyed``: its first master row, else its first row ...
    by_key = np.lexsort((~is_master, codes))
    master_rows = by_key[_first_of_runs(codes[by_key])]
    # ... and its typical other row, else again that row
    typical_rows = master_rows.copy()
    if join.master:
        others = np.flatnonzero(~is_master)
        commonest = _commonest_rows(codes[others], master_col.iloc[others], len(keys))
        found = commonest >= 0
        typical_rows[found] = others[commonest[found]]
    master_rows, typical_rows = keyed[master_rows], keyed[typical_rows]

    # the keys as text (of object dtype when there are none, as pandas infers it)
    index = pd.Index(keys.astype("str" if len(keys) else object), name="__key")
    out = pd.DataFrame(index=index)
    for f in fields:
        if f.aggregate in ("count", "count_other"):
            counted = codes if f.aggregate == "count" else codes[~is_master]
            out[f.name] = np.bincount(counted, minlength=len(keys)).astype("int64")
            continue
        column = column_or_error(frame, f.join_column, f"{where} (field {f.name!r})")
        if f.aggregate == "sum":
            numbers = to_numbers(column.iloc[keyed])
            out[f.name] = numbers.groupby(codes).sum(min_count=1).to_numpy()
            continue
        rows = master_rows
        if f.aggregate == "mode_other":  # the typical row's value, else the master row's
            rows = np.where(column.notna().to_numpy()[typical_rows], typical_rows, master_rows)
        out[f.name] = column.iloc[rows].set_axis(index)
    return out


def _join_columns(join: JoinDef, fields: list[FieldDef]) -> set[str]:
    """The columns of a join table the load uses."""
    wanted = {str(f.join_column) for f in fields}
    wanted |= {c for c in (join.right_key, join.row_id) if c}
    if join.master:
        wanted.add(join.master.column)
    return wanted


def prepare_joins(layer: LayerDef, data_root: Path, in_china: bool = False) -> list[PreparedJoin]:
    """Read and reduce every join of ``layer`` (small tables, held in memory); a table that
    declares no text encoding is read as ``table_encoding`` guesses (``in_china``: the
    city's)."""
    prepared = []
    for join in layer.source.joins:
        path = resolve_path(join.path, data_root)
        fields = [f for f in layer.fields if f.join_name == join.name]
        # key joins read only the columns they use; row-order joins read whole rows, since a
        # row blank in the used columns still counts in the order
        used = _join_columns(join, fields) if join.how == "key" else None
        encoding = table_encoding(join.encoding, path, in_china=in_china)
        table = read_table(path, encoding, used)
        if join.how == "row_order":
            if join.row_id:
                ids = pd.to_numeric(
                    column_or_error(table, join.row_id, f"join {join.name!r}"), errors="coerce"
                )
                if ids.isna().any() or ids.duplicated().any():
                    raise SourceError(
                        f"join {join.name!r}: {join.row_id!r} must hold unique row numbers"
                    )
                table.index = ids.astype("int64")
            else:
                table.index = np.arange(len(table))
            values = pd.DataFrame(index=table.index)
            for f in fields:
                values[f.name] = column_or_error(table, f.join_column, f"join {join.name!r}")
        else:
            assert join.right_key is not None
            key = normalise_key(column_or_error(table, join.right_key, f"join {join.name!r}"))
            values = _reduce(table, key, join, fields)
        prepared.append(PreparedJoin(join, values))
    return prepared
