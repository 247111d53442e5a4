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
from digitalcity.errors import SourceError
from digitalcity.ingest.readers import column_or_error, read_table, resolve_path


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


def _reduce(
    frame: pd.DataFrame, key: pd.Series, join: JoinDef, fields: list[FieldDef]
) -> pd.DataFrame:
    frame = frame.assign(__key=key.to_numpy(), __order=np.arange(len(frame)))
    frame = frame[frame["__key"].notna()]
    if join.master:
        master_col = column_or_error(frame, join.master.column, f"join {join.name!r}")
        is_master = master_col.astype(str).str.strip().isin(join.master.values)
    else:
        is_master = pd.Series(False, index=frame.index)
    frame = frame.assign(__master=is_master.to_numpy())
    by_key = frame.sort_values(["__key", "__master", "__order"], ascending=[True, False, True])
    master_rows = by_key.drop_duplicates("__key").set_index("__key")

    others = frame[~frame["__master"]]
    if join.master and len(others):
        commonest = (
            others.groupby(["__key", join.master.column])
            .size()
            .rename("__n")
            .reset_index()
            .sort_values(["__key", "__n"], ascending=[True, False])
            .drop_duplicates("__key")
        )
        typical = others.merge(
            commonest[["__key", join.master.column]], on=["__key", join.master.column]
        )
        typical = typical.sort_values("__order").drop_duplicates("__key").set_index("__key")
    else:
        typical = master_rows.iloc[0:0]

    out = pd.DataFrame(index=master_rows.index)
    for f in fields:
        col = f.join_column
        if f.aggregate in ("count", "count_other"):
            rows = frame if f.aggregate == "count" else others
            out[f.name] = rows.groupby("__key").size().reindex(out.index).fillna(0).astype("int64")
            continue
        column_or_error(frame, col, f"join {join.name!r} (field {f.name!r})")
        if f.aggregate == "sum":
            numbers = pd.to_numeric(frame[col], errors="coerce")
            out[f.name] = numbers.groupby(frame["__key"]).sum(min_count=1).reindex(out.index)
        elif f.aggregate == "mode_other":
            out[f.name] = typical[col].reindex(out.index).fillna(master_rows[col])
        else:  # master / first
            out[f.name] = master_rows[col]
    return out


def _join_columns(join: JoinDef, fields: list[FieldDef]) -> set[str]:
    """The columns of a join table the load uses."""
    wanted = {str(f.join_column) for f in fields}
    wanted |= {c for c in (join.right_key, join.row_id) if c}
    if join.master:
        wanted.add(join.master.column)
    return wanted


def prepare_joins(layer: LayerDef, data_root: Path) -> list[PreparedJoin]:
    """Read and reduce every join of ``layer`` (small tables, held in memory)."""
    prepared = []
    for join in layer.source.joins:
        path = resolve_path(join.path, data_root)
        fields = [f for f in layer.fields if f.join_name == join.name]
        # key joins read only the columns they use; row-order joins read whole rows, since a
        # row blank in the used columns still counts in the order
        used = _join_columns(join, fields) if join.how == "key" else None
        table = read_table(path, join.encoding, used)
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
