"""Attribute casts: what fails a cast becomes null and is counted, never a failed COPY."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from digitalcity.catalog.model import FieldDef
from digitalcity.ingest.attributes import _cast, _cast_column, cast
from digitalcity.ingest.columns import Columns


def _field(kind: str) -> FieldDef:
    return FieldDef(name="f", type=kind, title={"zh": "字段", "en": "field"})


def test_integers_beyond_int64_fail_their_cast() -> None:
    values = pd.Series(["1", " 4611686018427387904", "9223372036854775808", "2.5", "x", " ", None])
    array, failed = cast(values, _field("integer"))
    assert array.to_pylist() == [1, 2**62, None, None, None, None, None]
    assert failed == 3  # beyond int64, not whole, not a number; blanks are not failures


def test_datetimes_are_utc_instants() -> None:
    values = pd.Series(["2020-01-02T03:04:05+08:00", "2020-01-02 03:04:05", "soon", None])
    array, failed = cast(values, _field("datetime"))
    utc = datetime.UTC
    assert array.type == pa.timestamp("us", tz="UTC")
    assert array.to_pylist() == [
        datetime.datetime(2020, 1, 1, 19, 4, 5, tzinfo=utc),
        datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=utc),  # no zone: taken as UTC
        None,
        None,
    ]
    assert failed == 1
    dates, failed = cast(values, _field("date"))
    assert dates.to_pylist() == [datetime.date(2020, 1, 2)] * 2 + [None, None]  # as written
    assert failed == 1


def _stripped(value: object) -> str | None:
    if not isinstance(value, str):
        return None if value is None or value != value else str(value)  # NaN: missing
    text = value.strip().replace("\x00", "")
    return text or None


def test_text_is_stripped_as_python_strips_it() -> None:
    """Text columns are stripped by Arrow's kernels, mixed columns by pandas: both must give
    what Python's ``str.strip`` gives, for every white-space character (and a few that look
    like white space but are not), with NULs dropped and empty text null."""
    spaces = [chr(c) for c in range(0x3100) if chr(c).isspace()]
    lookalikes = ["\u200b", "\ufeff", "\u180e", "\x00"]
    values: list[object] = []
    for w in spaces + lookalikes:
        values += [w, f"{w}a{w}", f"a{w}b", f"{w}\x00{w}", f"x\x00{w}"]
    values += [None, float("nan"), "", "中文\u3000", "a\x00"]
    text, failed = cast(pd.Series(values, dtype=object), _field("string"))
    assert failed == 0
    assert text.to_pylist() == [_stripped(v) for v in values]
    mixed = pd.Series([1, " a ", None, 2.5, "\x00"], dtype=object)  # numbers among the text
    assert cast(mixed, _field("string"))[0].to_pylist() == ["1", "a", None, "2.5", None]


def _both_ways(column: pa.Array, kind: str, rows: list[int] | None = None) -> None:
    """A column cast straight from Arrow (as spatial formats are read) equals the same column
    cast through pandas (as CSV is read), value for value and failure for failure."""
    field = FieldDef(name="f", source="f", type=kind, title={"zh": "字段", "en": "field"})
    columns = Columns(pa.table({"f": column}))
    if rows is not None:
        columns = columns.take(np.asarray(rows))
    direct, direct_failed = _cast_column(columns, field)
    assert columns.arrow("f") is not None
    series = columns.series("f")
    assert isinstance(series, pd.Series) and list(series.index) == list(range(len(series)))
    through_pandas, failed = _cast(series, field)
    assert direct.type == through_pandas.type
    assert direct.to_pylist() == through_pandas.to_pylist()
    assert direct_failed.tolist() == failed.tolist()


def test_arrow_columns_cast_as_pandas_ones() -> None:
    text = pa.array([" a ", "", None, "\u3000中文\u3000", "x\x00y", "  ", "b"])
    _both_ways(text, "string")
    _both_ways(text, "string", rows=[6, 0, 3])
    _both_ways(text.cast(pa.large_string()), "string")
    _both_ways(pa.array([1, None, -(2**40), 7]), "integer")
    _both_ways(pa.array([1, None, 3], pa.int16()), "float")
    _both_ways(pa.array([1.5, None, float("nan"), float("inf"), -float("inf"), 0.0]), "float")
    _both_ways(pa.array([1.5, None, 2.0]), "integer")  # through pandas: 1.5 fails
    _both_ways(pa.array([1, 2**64 - 1, None], pa.uint64()), "integer")  # beyond int64 fails
    _both_ways(pa.array([True, None, False]), "boolean")
    _both_ways(pa.array(["1", "2.5", None]), "float")


def test_arrow_integers_keep_every_digit_beside_missing_values() -> None:
    """A column of integers with missing values read as Arrow keeps every digit; read as a
    pandas column it went through float64, which rounds beyond 2**53."""
    field = FieldDef(name="f", source="f", type="integer", title={"zh": "字段", "en": "field"})
    column = pa.array([2**60 + 1, None, -(2**62) - 3])
    array, failed = _cast_column(Columns(pa.table({"f": column})), field)
    assert array.to_pylist() == [2**60 + 1, None, -(2**62) - 3]
    assert not failed.any()


def test_text_of_plain_numbers_is_cast_into_numbers_without_pandas(monkeypatch) -> None:
    """A CSV file's column (Arrow text) of plain numbers cast into an integer or float field
    equals the pandas cast, value for value and failure for failure (a decimal in an
    integer field fails), and does not go through pandas; other forms and decimal commas
    still do."""
    from digitalcity.ingest import attributes

    cases = [
        ["1", "22", "-333", "007"],
        ["1", None, "3"],
        ["1.5", "-0.25", None, "2.", ".5"],
        ["7", "8.5", None],
        ["123456789012345", "-1"],
        ["1e5", "x", None],
        ["１２", "1,234"],
        [" 12", "13"],
        [None, None],
    ]
    for values in cases:
        for kind in ("integer", "float"):
            _both_ways(pa.array(values, pa.string()), kind)

    def no_pandas(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("cast through pandas")

    monkeypatch.setattr(attributes, "_cast", no_pandas)
    for kind in ("integer", "float"):
        field = FieldDef(name="f", source="f", type=kind, title={"zh": "字段", "en": "field"})
        plain = Columns(pa.table({"f": pa.array(["1", None, "2.5"], pa.string())}))
        array, failed = _cast_column(plain, field)
        assert array.to_pylist() == ([1, None, None] if kind == "integer" else [1.0, None, 2.5])
        assert failed.tolist() == [False, False, kind == "integer"]
        written = Columns(pa.table({"f": pa.array(["1,234"], pa.string())}))
        with pytest.raises(AssertionError, match="through pandas"):
            _cast_column(written, field)
        with pytest.raises(AssertionError, match="through pandas"):
            _cast_column(plain, field, decimal_comma=True)
