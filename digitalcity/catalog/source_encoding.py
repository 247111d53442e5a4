"""The text encoding of a source that declares none: a shapefile's attribute table (``.dbf``)
or a CSV file.

A shapefile declares its encoding in a ``.cpg`` file or in the ``.dbf``'s language driver byte.
Many Chinese shapefiles have neither (tools of the ArcGIS 9 era, many converters), and GDAL
then reads their GBK text as ISO-8859-1: every Chinese name loads silently garbled
("思明区" as "Ë¼Ã÷Çø"). A CSV saved by Excel on a Chinese Windows is GBK too. This module looks
at the text itself instead.
"""

from __future__ import annotations

import codecs
import struct
from pathlib import Path

import numpy as np

from digitalcity.catalog.delimited_text import SUFFIXES, is_delimited_text
from digitalcity.catalog.model import SourceDef
from digitalcity.errors import SourceError

MAX_SCAN_BYTES = 16 * 2**20  # records read to decide (about 100,000 rows of 160 bytes)
_LONGEST_CHARACTER = 4  # bytes of the longest UTF-8 or GB18030 character


def reading_encoding(
    declared: str | None, path: Path, source_format: str, *, in_china: bool
) -> str | None:
    """The encoding a source is read with: the definition's ``source.encoding``, else, for a
    shapefile or a CSV file, ``undeclared_encoding``'s guess; None: GDAL's reading of a
    shapefile, UTF-8 for a CSV file."""
    if declared is not None or source_format not in ("shapefile", "csv") or not path.is_file():
        return declared
    return undeclared_encoding(path, in_china=in_china)


def source_encoding(source: SourceDef, read: Path, *, in_china: bool) -> str | None:
    """``reading_encoding`` of the file ``read`` that ``source``'s rows are read from (an
    archive's data file once unpacked, a repaired shapefile): as the loader, the checks of a
    definition and the code check all read it."""
    return reading_encoding(
        source.encoding, read, source.file_format(read) or "", in_china=in_china
    )


def table_encoding(declared: str | None, path: Path, *, in_china: bool) -> str | None:
    """``reading_encoding`` of a join's table: a CSV file, or a dBase table (``.dbf``)."""
    kinds = {**dict.fromkeys(SUFFIXES, "csv"), ".dbf": "shapefile", ".shp": "shapefile"}
    return reading_encoding(declared, path, kinds.get(path.suffix.lower(), ""), in_china=in_china)


def undeclared_encoding(path: Path, *, in_china: bool) -> str | None:
    """The encoding to read a shapefile's ``.dbf`` (``path``: its ``.shp``) or a CSV file with
    when nothing declares one (for a shapefile: neither a ``.cpg`` file nor the ``.dbf``'s
    language driver byte), or None to read it as before (GDAL's ISO-8859-1, UTF-8 for CSV).
    A delimited text file that begins with a UTF-16 byte order mark is "UTF-16".

    Of the text values with a byte above 127:

    - "UTF-8" when every one is valid UTF-8 and, in China, plausible once decoded
      (``_plausible_utf8``: a few short GBK names can be valid UTF-8 by chance, "学校" in GBK
      reading as the UTF-8 "ѧУ");
    - "GB18030" (a superset of GBK and GB 2312) for a city in China when every one is valid
      GB18030 (ISO-8859-1 text elsewhere could pass that test by chance, so it is not guessed
      outside China);
    - "UTF-8" when every one is valid UTF-8 after all;
    - None when the text is plain ASCII, when something declares the encoding, or when none
      of these fits.

    A shapefile whose ``.cpg`` declares UTF-8 that its text is not: see ``_if_not_utf8``.
    """
    if is_delimited_text(path):
        if _utf16_bom(path):  # Excel's "Unicode Text"
            return "UTF-16"
        values = _csv_lines(path)
    elif (dbf := shapefile_part(path, ".dbf")) is None:
        return None
    elif (cpg := shapefile_part(path, ".cpg")) is not None:
        return _if_not_utf8(path, cpg, dbf, in_china=in_china)
    else:
        values = _non_ascii_text(dbf)
    if not values:
        return None
    utf8 = all(_decodes(v, "utf-8") for v in values)
    if utf8 and (not in_china or _plausible_utf8(values)):
        return "UTF-8"
    if in_china and all(_decodes(v, "gb18030") for v in values):
        return "GB18030"
    return "UTF-8" if utf8 or _damaged_utf8(values, in_china=in_china) else None


_UTF8_NAMES = {"utf-8", "utf8", "65001"}


def declared_encoding(path: Path) -> str | None:
    """What a shapefile's ``.cpg`` file declares (``path``: its ``.shp``), or None."""
    cpg = shapefile_part(path, ".cpg")
    if cpg is None:
        return None
    return cpg.read_text(encoding="ascii", errors="replace").strip() or None


# language driver bytes of Chinese code pages (GDAL reads such a .dbf as CP936)
_CHINESE_LANGUAGE_BYTES = {0x4D, 0x7A}
_GBK_NAMES = {"gbk", "936", "cp936", "gb2312", "gb18030", "ansi 936"}


def declared_name_codec(path: Path) -> str | None:
    """The multi-byte codec a shapefile's ``.cpg`` or language byte declares for its text
    (and field names): "utf-8" or "gb18030"; None for anything else, or nothing."""
    cpg = shapefile_part(path, ".cpg")
    if cpg is not None:
        declared = cpg.read_text(encoding="ascii", errors="replace").strip().lower()
        if declared in _UTF8_NAMES:
            return "utf-8"
        return "gb18030" if declared in _GBK_NAMES else None
    dbf = shapefile_part(path, ".dbf")
    if dbf is None:
        return None
    with dbf.open("rb") as fh:
        head = fh.read(32)
    return "gb18030" if len(head) == 32 and head[29] in _CHINESE_LANGUAGE_BYTES else None


def _if_not_utf8(path: Path, cpg: Path, dbf: Path, *, in_china: bool) -> str | None:
    """A ``.cpg`` that declares UTF-8 where the text is not (a GBK table whose ``.cpg`` a tool
    rewrote): GB18030 in China when the text is that, else a SourceError (GDAL would fail on
    the first bad byte); None for a ``.cpg`` that tells the truth or declares anything else,
    which GDAL reads as declared."""
    if cpg.read_text(encoding="ascii", errors="replace").strip().lower() not in _UTF8_NAMES:
        return None
    values = _non_ascii_text(dbf, whatever_the_language_byte=True)
    if all(_decodes(v, "utf-8") for v in values):
        return None
    if in_china and all(_decodes(v, "gb18030") for v in values):
        return "GB18030"
    if _damaged_utf8(values, in_china=in_china):
        return None  # as declared: the load sets the few damaged values to null and counts them
    raise SourceError(
        f"{path.name}: its .cpg declares UTF-8, which its text is not: set source.encoding"
    )


def _damaged_utf8(values: set[bytes], *, in_china: bool) -> bool:
    """Whether text that is not all UTF-8 is UTF-8 with a few values damaged (a byte garbled by
    a bad copy), not text in another encoding: of at least 3 values, at most one in 20 (at
    least one) fails to decode, and in China the rest read as a Chinese city's data would.
    Text in GBK or Latin-1 is seldom valid UTF-8, so there nearly every value fails."""
    readable = {v for v in values if _decodes(v, "utf-8")}
    failing = len(values) - len(readable)
    if len(values) < 3 or failing > max(1, len(values) // 20):
        return False
    return not in_china or _plausible_utf8(readable)


def _csv_lines(path: Path) -> set[bytes]:
    """A CSV file's first ``MAX_SCAN_BYTES`` (a UTF-8 byte order mark left out) as one value,
    or none when it is plain ASCII. Decoded whole, it tells what its lines would one by one
    (no UTF-8 or GB18030 character holds a line break's byte; only the last may be cut
    short), in one call: 500,000 lines of Chinese took 0.56 s split into lines."""
    with path.open("rb") as fh:
        data = fh.read(MAX_SCAN_BYTES)
    data = data.removeprefix(b"\xef\xbb\xbf")
    return set() if data.isascii() else {data}


def _utf16_bom(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _plausible_utf8(values: set[bytes]) -> bool:
    """Whether UTF-8 text reads as a Chinese city's data would: at least half its characters
    above ASCII CJK (ideographs, their punctuation, full-width forms), or none of them in
    U+0100-U+07FF (Latin Extended to Arabic), where GBK bytes read as UTF-8 land: "学校" in
    GBK is the Cyrillic "ѧУ", while "m²" or "±5°" keep their Latin-1 symbols."""
    text = "\n".join(v.decode("utf-8", "ignore") for v in values)
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    wide = points[points > 127]
    cjk = (
        ((wide >= 0x3000) & (wide <= 0x9FFF))
        | ((wide >= 0xF900) & (wide <= 0xFAFF))
        | ((wide >= 0xFF00) & (wide <= 0xFFEF))
        | (wide >= 0x20000)
    )
    return 2 * int(cjk.sum()) >= len(wide) or not ((wide >= 0x100) & (wide <= 0x7FF)).any()


def shapefile_part(shapefile: Path, suffix: str) -> Path | None:
    """The file of ``shapefile`` with ``suffix`` (in either case), if there is one."""
    for candidate in (shapefile.with_suffix(suffix), shapefile.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def _non_ascii_text(dbf: Path, *, whatever_the_language_byte: bool = False) -> set[bytes]:
    """Distinct values of the character fields that hold a byte above 127; none when the
    header is unreadable, or (unless ``whatever_the_language_byte``) when the language driver
    byte declares an encoding (GDAL honours it)."""
    with dbf.open("rb") as fh:
        head = fh.read(32)
        if len(head) < 32 or (head[29] != 0 and not whatever_the_language_byte):
            return set()
        header_length, record_length = struct.unpack("<HH", head[8:12])
        if header_length < 33 or record_length < 1:
            return set()
        descriptors = fh.read(header_length - 32)
        fh.seek(header_length)
        data = fh.read(max(MAX_SCAN_BYTES // record_length, 1) * record_length)
    texts, offset = [], 1  # each record starts with its deletion flag
    for start in range(0, len(descriptors) - 31, 32):
        descriptor = descriptors[start : start + 32]
        if descriptor[0] == 0x0D:
            break
        width = descriptor[16]
        if descriptor[11:12] == b"C":
            texts.append((offset, width))
        offset += width
    rows = len(data) // record_length
    if not rows or offset > record_length:
        return set()
    records = np.frombuffer(data[: rows * record_length], dtype=np.uint8)
    records = records.reshape(rows, record_length)
    values: set[bytes] = set()
    for start, width in texts:
        column = records[:, start : start + width]
        for value in column[(column > 127).any(axis=1)]:
            values.add(value.tobytes().rstrip(b" \x00"))
    return values


def _decodes(value: bytes, codec: str) -> bool:
    """Whether ``value`` is valid ``codec`` text, allowing a last character cut short by the
    field's width."""
    try:
        value.decode(codec)
    except UnicodeDecodeError as exc:
        if exc.start < len(value) - _LONGEST_CHARACTER + 1:
            return False
        try:
            value[: exc.start].decode(codec)
        except UnicodeDecodeError:
            return False
    return True
