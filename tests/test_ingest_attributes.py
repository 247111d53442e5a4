"""Attribute casts: what fails a cast becomes null and is counted, never a failed COPY."""

from __future__ import annotations

import datetime

import pandas as pd
import pyarrow as pa

from digitalcity.catalog.model import FieldDef
from digitalcity.ingest.attributes import cast


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
