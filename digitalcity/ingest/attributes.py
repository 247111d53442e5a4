"""Attribute mapping: source columns (and joined values) to the layer's typed fields.

Each field becomes one Arrow array of its SQL type (see ``digitalcity.ingest.copybinary``), built
with vectorised pandas / numpy operations rather than a Python loop per value.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from digitalcity.catalog.model import FieldDef
from digitalcity.ingest.columns import Columns
from digitalcity.ingest.joins import JoinedRows
from digitalcity.ingest.numbers import plain_numbers, to_numbers
from digitalcity.ingest.written_forms import excel_serial_days, rescued_dates, rescued_numbers

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_INT64_LIMIT = 2.0**63


def _is_text(values: pd.Series) -> bool:
    """False for numbers, booleans and timestamps, whose text is never blank when present."""
    dtype = values.dtype
    return not (
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
    )


def _is_blank(values: pd.Series, text: pd.Series | None = None) -> pd.Series:
    """Missing, or text that is empty after stripping (``text``: the stripped text, if known)."""
    if text is None:
        if not _is_text(values):
            return values.isna()
        text = values.astype("string").str.strip()
    return values.isna() | text.isna() | (text == "")


def _to_datetime(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    numbers = to_numbers(values)
    as_text = values.astype("string").str.strip()
    try:
        parsed = pd.to_datetime(as_text, errors="coerce", format="mixed")
    except ValueError:  # offsets and no offsets mixed: each value parsed on its own
        parsed = as_text.map(lambda v: pd.to_datetime(v, errors="coerce"), na_action="ignore")
        parsed = parsed.astype(object).where(parsed.notna(), None)
    # Esri JSON dates arrive as epoch milliseconds; spreadsheets' as serial days
    excel = excel_serial_days(numbers)
    epoch = pd.to_datetime(numbers.where(excel.isna()), unit="ms", errors="coerce")
    stamps = parsed.where(parsed.notna() | numbers.isna(), excel.where(excel.notna(), epoch))
    refused = (stamps.isna() & as_text.notna() & (as_text != "")).to_numpy(dtype=bool)
    if refused.any() and not isinstance(stamps.dtype, pd.DatetimeTZDtype):
        written = rescued_dates(as_text[refused])
        if written.notna().any():
            stamps = stamps.astype(object) if stamps.dtype == object else stamps.copy()
            stamps[refused] = written.to_numpy()
    return stamps


def _mask(ok: pd.Series) -> np.ndarray:
    return ~ok.to_numpy(dtype=bool)


def _integers(numbers: pd.Series, whole: pd.Series) -> tuple[pa.Array, pd.Series]:
    """Whole numbers as int64, and which were kept (one beyond int64 is not: it fails the
    cast like any other unusable value)."""
    if not pd.api.types.is_integer_dtype(numbers.dtype):
        whole = whole & (np.abs(numbers.astype(float)) < _INT64_LIMIT)
    ints = numbers[whole].to_numpy(dtype=np.int64)
    out = np.zeros(len(numbers), dtype=np.int64)
    out[whole.to_numpy(dtype=bool)] = ints
    return pa.array(out, mask=_mask(whole)), whole


def _stamps(stamps: pd.Series, ok: pd.Series, kind: str) -> pa.Array:
    if kind == "date" and pd.api.types.is_datetime64_any_dtype(stamps.dtype):
        dates = stamps.dt.date.to_numpy(dtype=object)
        return pa.array(dates, mask=_mask(ok), type=pa.date32(), from_pandas=True)
    if kind == "date":
        return pa.array(
            [s.date() if good else None for s, good in zip(stamps, ok, strict=True)],
            type=pa.date32(),
        )
    # datetime: an instant; one without a time zone is taken as UTC
    if not pd.api.types.is_datetime64_any_dtype(stamps.dtype):  # mixed offsets
        stamps = pd.to_datetime(stamps.where(ok), utc=True)
    elif stamps.dt.tz is None:
        stamps = stamps.dt.tz_localize("UTC")
    utc = stamps.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    return pa.array(utc, mask=_mask(ok), type=pa.timestamp("us", tz="UTC"), from_pandas=True)


def cast(values: pd.Series, field: FieldDef) -> tuple[pa.Array, int]:
    """The field's values as an Arrow array (null where blank or unusable) and the number of
    non-blank values that could not be cast.

    Arrow types: string → string, integer → int64, float → float64 (finite only), boolean →
    bool, date → date32, datetime → timestamp (UTC; a value without a time zone is taken as
    UTC).
    """
    array, failed = _cast(values, field)
    return array, int(failed.sum())


def _cast(
    values: pd.Series, field: FieldDef, decimal_comma: bool = False
) -> tuple[pa.Array, np.ndarray]:
    """``cast``, with a mask of the values that could not be cast (``decimal_comma``: the
    source writes decimals with a comma)."""
    kind = field.type
    if kind == "string":
        return _text(values), np.zeros(len(values), dtype=bool)
    blank = _is_blank(values)
    if kind in ("integer", "float"):
        if decimal_comma and _is_text(values):
            # the comma is the decimal mark, so a point can only group thousands ("12.345"
            # is 12345): every value is read as written, not by the plain parser first
            numbers = rescued_numbers(values.where(~blank), decimal_comma=True)
        else:
            numbers = _written_numbers(values, to_numbers(values.where(~blank)), blank)
        if kind == "integer":
            whole = numbers.notna() & np.isfinite(numbers) & (numbers == np.round(numbers))
            ints, whole = _integers(numbers, whole)
            return ints, _failed(blank, whole)
        finite = numbers.notna() & np.isfinite(numbers.astype(float))
        floats = numbers.astype(float).to_numpy(dtype=np.float64, na_value=np.nan)
        return pa.array(floats, mask=_mask(finite), type=pa.float64()), _failed(blank, finite)
    if kind == "boolean":
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            numbers = pd.to_numeric(values, errors="coerce")  # 0 / 1 flags (float when nulls)
            known = numbers.isin((0, 1))
            return pa.array((numbers == 1).to_numpy(dtype=bool), mask=_mask(known)), _failed(
                blank, known
            )
        text = values.astype("string").str.strip().str.lower().fillna("")
        is_true, is_false = text.isin(_TRUE), text.isin(_FALSE)
        known = is_true | is_false
        return pa.array(is_true.to_numpy(dtype=bool), mask=_mask(known)), _failed(blank, known)
    stamps = _to_datetime(values.where(~blank))
    ok = stamps.notna()
    return _stamps(stamps, ok, kind), _failed(blank, ok)


def _written_numbers(values: pd.Series, numbers: pd.Series, blank: pd.Series) -> pd.Series:
    """``numbers`` with the text values the plain parser refused read in the forms people
    type (``written_forms.rescued_numbers``: full-width digits, thousands separators)."""
    refused = (~blank & numbers.isna()).to_numpy(dtype=bool)
    if not refused.any() or not _is_text(values):
        return numbers
    written = rescued_numbers(values[refused])
    if written.isna().all():
        return numbers
    numbers = numbers.astype(float)  # it held NaN, so it was float already
    numbers[refused] = written.to_numpy()
    return numbers


def _text(values: pd.Series) -> pa.Array:
    """Text stripped of surrounding white space and of NUL characters (PostgreSQL text
    cannot hold one); null where missing or left empty.

    Columns of text and missing values are stripped by Arrow's kernels (``_trimmed``): 0.5 s
    less per load of 246,900 roads with 21 text columns than pandas' string methods, which
    remain for columns mixing text with other values (numbers in GeoJSON properties)."""
    try:
        array = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        text = values.astype("string").str.strip().str.replace("\x00", "", regex=False)
        blank = _is_blank(values, text)
        return pa.array(text.where(~blank), type=pa.string(), from_pandas=True)
    return _trimmed(array)


def _trimmed(array: pa.Array) -> pa.Array:
    """An Arrow text array stripped as ``_text`` strips (white space as Python's: Unicode
    category Zs or bidirectional class WS, B or S; NUL characters dropped), empty as null.
    NULs are looked for in the text's bytes first (a zero byte is a NUL in UTF-8): replacing
    them where there are none cost the 246,900 SYNTHETIC roads' 21 columns 28 of 82 ms."""
    text = pc.utf8_trim_whitespace(array)
    data = text.buffers()[2]
    if data is not None and (np.frombuffer(data, dtype=np.uint8) == 0).any():
        text = pc.replace_substring(text, "\x00", "")
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _not_utf8(text: pa.Array) -> np.ndarray:
    """True where a value of an Arrow text array is not valid UTF-8 (Arrow does not check
    text it is handed; its string functions refuse the whole array)."""
    broken = np.zeros(len(text), dtype=bool)
    for i, value in enumerate(text.cast(pa.binary()).to_pylist()):
        if value is not None:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                broken[i] = True
    return broken


def _cast_column(
    columns: Columns, field: FieldDef, decimal_comma: bool = False
) -> tuple[pa.Array, np.ndarray]:
    """``_cast`` of the field's source column: straight from Arrow where the column's type
    makes that exact (text into a text field, numbers into a number field), else through
    pandas."""
    array = columns.arrow(field.source_column)
    if array is not None:
        direct = _cast_arrow(array, field, decimal_comma)
        if direct is not None:
            return direct
    return _cast(columns.series(field.source_column), field, decimal_comma)


def _cast_arrow(
    array: pa.Array, field: FieldDef, decimal_comma: bool = False
) -> tuple[pa.Array, np.ndarray] | None:
    """``_cast`` of an Arrow column whose type the field takes as it is, or None: text into
    text; integers into integers (those beyond 64 bits: None, for pandas to refuse them one by
    one); numbers into floats, NaN null like a missing value and infinities null and failed;
    text of plain numbers only (a CSV file's) into numbers (``_plain_cast``)."""
    kind, source = field.type, array.type
    none_failed = np.zeros(len(array), dtype=bool)
    if kind == "string" and (pa.types.is_string(source) or pa.types.is_large_string(source)):
        text = array.cast(pa.string())
        try:
            return _trimmed(text), none_failed
        except pa.ArrowInvalid:  # bytes GDAL passed on that are not UTF-8 (a damaged file)
            broken = _not_utf8(text)
            return _trimmed(pc.if_else(broken, pa.scalar(None, pa.string()), text)), broken
    if kind in ("integer", "float") and not decimal_comma and (cast := _plain_cast(array, kind)):
        return cast
    if kind == "integer" and pa.types.is_integer(source):
        try:
            return array.cast(pa.int64()), none_failed
        except pa.ArrowInvalid:  # unsigned values beyond int64
            return None
    if kind == "float" and (pa.types.is_integer(source) or pa.types.is_floating(source)):
        floats = array.cast(pa.float64(), safe=False)
        infinite = pc.fill_null(pc.is_inf(floats), False)
        unusable = pc.or_(pc.fill_null(pc.is_nan(floats), True), infinite)
        cleaned = pc.if_else(unusable, pa.scalar(None, pa.float64()), floats)
        return cleaned, np.asarray(infinite.to_numpy(zero_copy_only=False), dtype=bool)
    return None


def _plain_cast(text: pa.Array, kind: str) -> tuple[pa.Array, np.ndarray] | None:
    """``_cast`` into an integer or float field of Arrow text whose every present value is a
    plain number (``plain_numbers``), or None: a decimal in an integer field fails, as
    there. Through pandas, a CSV column of numbers went to pandas and back to Arrow first."""
    numbers = plain_numbers(text)
    if numbers is None:
        return None
    if numbers.dtype == np.int64:  # whole numbers, none missing
        cast = numbers if kind == "integer" else numbers.astype(np.float64)
        return pa.array(cast), np.zeros(len(numbers), dtype=bool)
    present = ~np.isnan(numbers)
    if kind == "float":
        return pa.array(numbers, mask=~present), np.zeros(len(numbers), dtype=bool)
    whole = present & (numbers == np.round(numbers))
    ints = np.where(whole, numbers, 0).astype(np.int64)
    return pa.array(ints, mask=~whole), present & ~whole


def _failed(blank: pd.Series, ok: pd.Series) -> np.ndarray:
    return (~blank & ~ok).to_numpy(dtype=bool)


def _elementwise(values: pd.Series, field: FieldDef) -> bool:
    """Whether casting ``values`` row by row equals casting the rows that a batch reindexes
    out of them (reindexing turns an integer column into floats when a key is missing)."""
    dtype = values.dtype
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        return True
    if pd.api.types.is_float_dtype(dtype):
        return True
    return pd.api.types.is_integer_dtype(dtype) and field.type in ("integer", "float")


class AttributeMapper:
    """Maps one batch's source attributes and joined values to field columns, counting failures."""

    def __init__(self, fields: tuple[FieldDef, ...], *, decimal_comma: bool = False) -> None:
        """``decimal_comma``: the source writes decimals with a comma (a semicolon-separated
        file); join tables are read with a decimal point."""
        self.fields = [f for f in fields if not f.derived]
        self.decimal_comma = decimal_comma
        self.coerced: Counter[str] = Counter()
        self._join_casts: dict[tuple[str, str], tuple[pa.Array, np.ndarray] | None] = {}

    def missing_columns(self, columns: list[str]) -> list[str]:
        return [
            f.source_column
            for f in self.fields
            if not f.join_name and f.source_column not in columns
        ]

    def map(self, attributes: Columns, joined: dict[str, JoinedRows]) -> dict[str, pa.Array]:
        out: dict[str, pa.Array] = {}
        for f in self.fields:
            if f.join_name:
                out[f.name], failed = self._joined(joined[f.join_name], f)
            else:
                out[f.name], failed = _cast_column(attributes, f, self.decimal_comma)
            if failed.any():
                self.coerced[f.name] += int(failed.sum())
        return out

    def _joined(self, rows: JoinedRows, field: FieldDef) -> tuple[pa.Array, np.ndarray]:
        """A joined field: its join table cast once and taken per batch where that is exact."""
        key = (rows.join.join.name, field.name)
        if key not in self._join_casts:
            table_values = rows.join.values[field.name].reset_index(drop=True)
            self._join_casts[key] = None
            if _elementwise(table_values, field):
                try:
                    self._join_casts[key] = _cast(table_values, field)
                except Exception:  # cast per batch instead, exactly as before
                    self._join_casts[key] = None
        cast_once = self._join_casts[key]
        if cast_once is None:
            return _cast(rows.column(field.name), field)
        array, failed = cast_once
        found = rows.positions >= 0
        if not len(array):
            return pa.nulls(len(found), array.type), np.zeros(len(found), dtype=bool)
        taken = array.take(pa.array(rows.positions, mask=~found))
        return taken, found & failed[np.where(found, rows.positions, 0)]
