"""Attribute mapping: source columns (and joined values) to the layer's typed fields."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from digitalcity.catalog.model import FieldDef

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _is_blank(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return values.isna() | text.isna() | (text == "")


def _to_datetime(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    numbers = pd.to_numeric(values, errors="coerce")
    as_text = values.astype("string").str.strip()
    parsed = pd.to_datetime(as_text, errors="coerce", format="mixed")
    # Esri JSON dates arrive as epoch milliseconds.
    epoch = pd.to_datetime(numbers, unit="ms", errors="coerce")
    return parsed.where(parsed.notna() | numbers.isna(), epoch)


def cast(values: pd.Series, field: FieldDef) -> tuple[list[object], int]:
    """Python values for COPY and the number of non-blank values that could not be cast."""
    blank = _is_blank(values)
    kind = field.type
    if kind == "string":
        text = values.astype("string").str.strip()
        out = text.where(~blank, None)
        return out.astype(object).where(~blank, None).tolist(), 0
    if kind in ("integer", "float"):
        numbers = pd.to_numeric(values.where(~blank), errors="coerce")
        if kind == "integer":
            whole = numbers.notna() & np.isfinite(numbers) & (numbers == np.round(numbers))
            failed = int((~blank & ~whole).sum())
            out = [int(v) if ok else None for v, ok in zip(numbers.to_numpy(), whole, strict=True)]
            return out, failed
        finite = numbers.notna() & np.isfinite(numbers.astype(float))
        failed = int((~blank & ~finite).sum())
        return [float(v) if ok else None for v, ok in zip(numbers, finite, strict=True)], failed
    if kind == "boolean":
        text = values.astype("string").str.strip().str.lower()
        out_b = [True if t in _TRUE else False if t in _FALSE else None for t in text.fillna("")]
        failed = int(sum(1 for v, b in zip(out_b, blank, strict=True) if v is None and not b))
        return out_b, failed
    stamps = _to_datetime(values.where(~blank))
    ok = stamps.notna()
    failed = int((~blank & ~ok).sum())
    if kind == "date":
        return [s.date() if good else None for s, good in zip(stamps, ok, strict=True)], failed
    return [s.to_pydatetime() if good else None for s, good in zip(stamps, ok, strict=True)], failed


class AttributeMapper:
    """Maps one batch's source attributes and joined values to field columns, counting failures."""

    def __init__(self, fields: tuple[FieldDef, ...]) -> None:
        self.fields = [f for f in fields if not f.derived]
        self.coerced: Counter[str] = Counter()

    def missing_columns(self, columns: list[str]) -> list[str]:
        return [
            f.source_column
            for f in self.fields
            if not f.join_name and f.source_column not in columns
        ]

    def map(
        self, attributes: pd.DataFrame, joined: dict[str, pd.DataFrame]
    ) -> dict[str, list[object]]:
        out: dict[str, list[object]] = {}
        for f in self.fields:
            if f.join_name:
                values = joined[f.join_name][f.name]
            else:
                values = attributes[f.source_column]
            out[f.name], failed = cast(values.reset_index(drop=True), f)
            if failed:
                self.coerced[f.name] += failed
        return out
