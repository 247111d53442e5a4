"""``to_numbers`` equals ``pd.to_numeric(errors="coerce")``: values and dtype, fast or not."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from digitalcity.ingest.numbers import to_numbers

CASES = [
    ["1", "22", "-333", "007"],  # whole: int64
    ["1", None, "3"],  # whole with a gap: float64
    ["1.5", "-0.25", ".5", "2.", "10"],  # plain decimals
    ["0.1", "123456789.12345", "-99999999999999"],  # 15 characters at most
    ["1234567890.1234567", "1"],  # more: pandas
    [" 12", "13 "],  # spaces: pandas
    ["1e5", "inf", "nan", "x", ""],  # exponents, words: pandas
    ["12,5", "1_000"],
    ["11/12/2010", "2010-11-12 10:00", "a;b"],  # never numbers: all NaN at once
    ["11/12/2010", "12"],
    [None, None],
    [],
]


@pytest.mark.parametrize("values", CASES)
def test_same_as_pandas(values: list) -> None:
    for dtype in (object, "str", "string"):
        series = pd.Series(values, dtype=dtype)
        expected = pd.to_numeric(series, errors="coerce")
        got = to_numbers(series)
        pd.testing.assert_series_equal(got, expected, check_dtype=True, check_exact=True)


def test_random_plain_decimals_parse_to_the_same_doubles() -> None:
    rng = np.random.default_rng(7)
    values = [
        f"{v:.{d}f}"
        for v, d in zip(rng.normal(0, 1e6, 5000), rng.integers(0, 6, 5000), strict=True)
    ]
    values = [v for v in values if len(v) <= 15]
    series = pd.Series(values, dtype=object)
    assert (to_numbers(series).to_numpy() == pd.to_numeric(series).to_numpy()).all()


@pytest.mark.parametrize("values", CASES)
def test_plain_numbers_read_arrow_text_as_to_numbers_does(values: list) -> None:
    """Arrow text cast as it is where every present value is a plain number: the values and
    dtype ``to_numbers`` reads through pandas, and the coordinate path's numbers; any other
    form is left to those paths."""
    import pyarrow as pa

    from digitalcity.ingest.numbers import plain_numbers
    from digitalcity.ingest.written_forms import coordinate_numbers

    text = pa.array(values, type=pa.string())
    got = plain_numbers(text)
    present = [v for v in values if v is not None]
    plain = all(re.fullmatch(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)", v) for v in present)
    if not present or not plain or max(map(len, present)) > 15:
        assert got is None
        return
    assert got is not None
    expected = to_numbers(pd.Series(values, dtype=object))
    pd.testing.assert_series_equal(pd.Series(got), expected, check_exact=True)
    np.testing.assert_array_equal(got.astype(float), coordinate_numbers(text.to_pandas()))


def test_random_plain_decimals_read_from_arrow_as_through_pandas() -> None:
    import pyarrow as pa

    from digitalcity.ingest.numbers import plain_numbers
    from digitalcity.ingest.written_forms import coordinate_numbers

    rng = np.random.default_rng(11)
    values: list[str | None] = [
        f"{v:.{d}f}"
        for v, d in zip(rng.uniform(-180, 180, 5000), rng.integers(0, 11, 5000), strict=True)
    ]
    values[::97] = [None] * len(values[::97])
    text = pa.array(values, type=pa.string())
    got = plain_numbers(text)
    assert got is not None and got.dtype == np.float64
    np.testing.assert_array_equal(got, coordinate_numbers(text.to_pandas()))
