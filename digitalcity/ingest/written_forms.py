"""Numbers and dates as people type them into spreadsheets, read where the plain parsers
(``ingest.numbers``, pandas' date parser) give up: full-width digits (a Chinese input
method's "１２３"), thousands separators ("1,234,567"; "1.234,5" and "1 234,5" where the
decimal mark is a comma), Chinese dates ("2023年5月1日", "2023年5月1日 14时30分"), Excel's
serial day numbers in date columns ("45047": a date cell saved with the General format) and
coordinates in degrees, minutes and seconds ("118°04'12.5\"E", "北纬24度26分8秒").

Only values the plain parsers refused come here, so well-formed columns cost nothing more.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# thousands grouped by commas (or spaces), a point for decimals
_GROUPED_POINT = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[+-]?\d{1,3}(?: \d{3})+(?:\.\d+)?"
# a comma for decimals, thousands grouped by points (or spaces) or not at all
_GROUPED_COMMA = r"[+-]?\d{1,3}(?:[. ]\d{3})*(?:,\d+)?|[+-]?\d+,\d+"
_CHINESE_DATE = r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?\s*"
_CHINESE_TIME = r"(\d{1,2})\s*[时點点:]\s*(\d{1,2})\s*分?(?:\s*(\d{1,2})\s*秒)?$"
# Excel counts days from 1899-12-30; serials 10,000-99,999 are 1927-05-18 to 2173-10-14.
# As epoch milliseconds (what Esri JSON dates are) they would be the first 100 seconds of
# 1970, which no real date column holds.
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# degrees (minutes (seconds)), a hemisphere before or after: west and south are negative
_HEMISPHERE = "NSEWnsew东西南北"
_DEGREES = (
    rf"^([{_HEMISPHERE}]?)\s*(?:东经|西经|北纬|南纬)?\s*(\d+(?:\.\d+)?)\s*[°度º]\s*"
    r"(?:(\d+(?:\.\d+)?)\s*['′’分])?\s*(?:(\d+(?:\.\d+)?)\s*(?:\"|″|”|''|′′|秒))?\s*"
    rf"([{_HEMISPHERE}]?)$"
)
_NEGATIVE = "SWsw西南"
_EXCEL_SERIALS = (10_000, 100_000)


def _normalised(text: pd.Series) -> pd.Series:
    """NFKC (full-width digits, signs and separators become ASCII; the narrow no-break space
    of French thousands a space), stripped."""
    return text.astype("string").str.normalize("NFKC").str.strip()


def rescued_numbers(text: pd.Series, *, decimal_comma: bool = False) -> pd.Series:
    """Numbers (float64, NaN where none) of text values in the forms above; with
    ``decimal_comma`` (a semicolon-separated file, as European spreadsheets save) a comma
    is the decimal mark and points or spaces group thousands."""
    value = _normalised(text)
    if decimal_comma:
        grouped = value.str.fullmatch(_GROUPED_COMMA, na=False)
        plain = value.str.replace(r"[. ]", "", regex=True).str.replace(",", ".", regex=False)
    else:
        grouped = value.str.fullmatch(_GROUPED_POINT, na=False)
        plain = value.str.replace(r"[, ]", "", regex=True)
    plain = plain.where(grouped, value)
    return pd.to_numeric(plain.astype(object).where(plain.notna(), None), errors="coerce").astype(
        float
    )


def rescued_dates(text: pd.Series) -> pd.Series:
    """Timestamps (NaT where none) of text values written the Chinese way ("2023年5月1日",
    "2023年5月1日 14时30分", in full-width digits too) or with full-width digits."""
    value = _normalised(text)
    date = value.str.extract(_CHINESE_DATE)
    rest = value.str.replace(_CHINESE_DATE, "", regex=True)
    time = rest.str.extract(_CHINESE_TIME)
    written = date[0] + "-" + date[1].str.zfill(2) + "-" + date[2].str.zfill(2)
    clock = (
        time[0].str.zfill(2) + ":" + time[1].str.zfill(2) + ":" + time[2].fillna("0").str.zfill(2)
    )
    has_time = time[0].notna()
    only_date = rest.str.len() == 0
    iso = written.where(only_date, (written + " " + clock).where(has_time))
    # else only text that normalising changed (full-width digits): the rest was refused as is
    iso = iso.where(date[0].notna(), value.where(value != text.astype("string").str.strip()))
    return pd.to_datetime(
        iso.astype(object).where(iso.notna(), None), errors="coerce", format="mixed"
    )


def excel_serial_days(numbers: pd.Series) -> pd.Series:
    """Timestamps of numbers that are Excel serial days (a fraction is the time of day),
    NaT for the rest."""
    floats = numbers.astype(float)
    serial = floats.between(*_EXCEL_SERIALS, inclusive="left")
    days = pd.to_timedelta(floats.where(serial), unit="D").dt.round("s")
    return _EXCEL_EPOCH + days


def rescued_degrees(text: pd.Series) -> pd.Series:
    """Decimal degrees (float64, NaN where none) of coordinates written in degrees, minutes
    and seconds: "118°04'12.5\"E", "118°4′12.5″", "24°26'N", "北纬24度26分8秒", "W71°6'"."""
    value = _normalised(text)
    parts = value.str.extract(_DEGREES)
    degrees = parts[1].astype(float)
    minutes = parts[2].astype(float).fillna(0.0)
    seconds = parts[3].astype(float).fillna(0.0)
    west_south = parts[0].isin(list(_NEGATIVE)) | parts[4].isin(list(_NEGATIVE))
    west_south |= value.str.contains("西经|南纬", na=False)
    sign = np.where(west_south.to_numpy(dtype=bool), -1.0, 1.0)
    usable = (minutes < 60) & (seconds < 60)
    return ((degrees + minutes / 60 + seconds / 3600) * sign).where(usable)


def numbers_as_typed(values: pd.Series, *, decimal_comma: bool = False) -> np.ndarray:
    """The numbers of a text column (float64, NaN where none), plain or as people type them
    (``rescued_numbers``)."""
    numbers = np.array(pd.to_numeric(values, errors="coerce"), dtype=float)
    refused = np.isnan(numbers) & values.notna().to_numpy(dtype=bool)
    if refused.any():
        rescued = rescued_numbers(values[refused], decimal_comma=decimal_comma)
        numbers[refused] = rescued.to_numpy(dtype=float)
    return numbers


def coordinate_numbers(values: pd.Series, *, decimal_comma: bool = False) -> np.ndarray:
    """The numbers of a coordinate column (float64, NaN where none): ``numbers_as_typed``,
    or in degrees, minutes and seconds (``rescued_degrees``)."""
    numbers = numbers_as_typed(values, decimal_comma=decimal_comma)
    refused = np.isnan(numbers) & values.notna().to_numpy(dtype=bool)
    if refused.any():
        numbers[refused] = rescued_degrees(values[refused]).to_numpy(dtype=float)
    return numbers


def split_pairs(values: pd.Series, *, decimal_comma: bool = False) -> pd.DataFrame:
    """A column of coordinate pairs ("118.089,24.479", "118.089 24.479", full-width commas
    too) as two text columns, 0 and 1 (missing where a value is not a pair); with
    ``decimal_comma`` the pair is separated by a semicolon or white space."""
    separator = r"\s*;\s*|\s+" if decimal_comma else r"\s*[,;]\s*|\s+"
    parts = _normalised(values).str.split(separator, n=1, expand=True, regex=True)
    if parts.shape[1] < 2:
        parts[1] = pd.NA
    return parts[[0, 1]].astype(object).where(parts[[0, 1]].notna(), None)
