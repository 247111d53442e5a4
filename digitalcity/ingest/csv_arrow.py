"""Delimited text read by Arrow's CSV reader where it reads a file exactly as pandas does.

pandas' C parser (``dtype=str, keep_default_na=False``) defines how the loader and the join
tables read CSV files: it fills short rows, renames repeated and blank header names, skips
lines of blanks and raises at the end of a file left inside a quoted field. Arrow's streaming
reader is 8x faster (246,900 rows of 23 columns: 0.07 s against 0.55 s) and holds no GIL
while it parses, but it refuses rows of another length and reads the other cases its own
way. So ``arrow_plan`` first scans the file with Arrow, converting only its last column
(0.025 s for those 246,900 rows), and returns a plan only when nothing in it would be read
differently; otherwise the caller reads through pandas as before. Empty cells are null here
where pandas gives empty strings: every caller treats both as blank.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from digitalcity.catalog.delimited_text import Dialect

_BLOCK_BYTES = 1 << 20  # Arrow's unit of parsing: one block is read ahead of its batches
_TAIL_BYTES = 64 * 1024  # how much of the file's end is read to see how it ends
_UTF8 = ("utf-8", "utf-8-sig")
# encodings (as ``codecs.lookup`` names them) whose other characters never hold a byte 0x0D
_SINGLE_BYTE_LINE_ENDS = (*_UTF8, "gb18030", "gbk", "gb2312", "big5", "iso8859-1", "cp1252")


@dataclass(frozen=True)
class ArrowPlan:
    """How to stream a delimited text file through Arrow: ``rows`` is its number of rows."""

    path: Path
    encoding: str
    dialect: Dialect
    names: tuple[str, ...]
    rows: int

    def batches(self, batch_rows: int, columns: list[str] | None = None) -> Iterator[pa.Table]:
        """The file's rows as tables of at most ``batch_rows`` rows of its ``columns`` (all
        when None), every one text (null where empty). Raises ``pa.ArrowInvalid`` or
        ``UnicodeError`` on bytes its encoding cannot read."""
        pending: list[pa.RecordBatch] = []
        held = 0
        with _open(self.path, self.encoding, self.dialect, self.names, columns=columns) as reader:
            for batch in reader:
                pending.append(batch)
                held += batch.num_rows
                while held >= batch_rows:
                    table = pa.Table.from_batches(pending, reader.schema)
                    yield table.slice(0, batch_rows)
                    rest = table.slice(batch_rows)
                    pending, held = rest.to_batches(), rest.num_rows
            if held:
                yield pa.Table.from_batches(pending, reader.schema)


def arrow_plan(
    path: Path, encoding: str | None, dialect: Dialect, names: list[str]
) -> ArrowPlan | None:
    """A plan to read ``path`` through Arrow, or None where Arrow would read it otherwise
    than pandas, whose header ``names`` are given: a one-column file (pandas skips lines of
    blanks in it), a line ended by a lone carriage return (pandas takes it for a blank line
    and eats the separator after it), a header Arrow names otherwise (pandas renames blank and
    repeated names), a row of another length (pandas fills short rows) or a file that ends
    inside a quoted field (pandas raises; Arrow ends the field); also a file its encoding
    cannot decode (pandas' error names the byte)."""
    encoding = codecs.lookup(encoding or "utf-8").name
    if len(names) < 2 or not _plain_bytes(path, encoding):
        return None
    try:
        with _open(path, encoding, dialect, names, block_bytes=64 * 1024) as reader:
            if reader.schema.names != names:
                return None
        rows, last_value = 0, None
        with _open(path, encoding, dialect, names, columns=[names[-1]]) as reader:
            for batch in reader:  # one block at a time: the column may be long text (WKT)
                if batch.num_rows:
                    rows += batch.num_rows
                    last_value = batch.column(0)[-1].as_py()
    except (pa.ArrowInvalid, UnicodeError):
        return None
    if rows and _ends_inside_quotes(path, encoding, last_value):
        return None
    return ArrowPlan(path, encoding, dialect, tuple(names), rows)


def _open(
    path: Path,
    encoding: str,
    dialect: Dialect,
    names: list[str] | tuple[str, ...],
    *,
    columns: list[str] | None = None,
    block_bytes: int = _BLOCK_BYTES,
) -> pacsv.CSVStreamingReader:
    return pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            use_threads=False,  # less CPU; the parse holds no GIL either way
            block_size=block_bytes,
            skip_rows=dialect.header,
            encoding="utf8" if encoding in _UTF8 else encoding,
        ),
        parse_options=pacsv.ParseOptions(delimiter=dialect.separator, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            include_columns=columns,
            column_types=dict.fromkeys(names, pa.string()),
            null_values=[""],
            strings_can_be_null=True,
        ),
    )


def _plain_bytes(path: Path, encoding: str) -> bool:
    """Whether every carriage return in the file comes before a line feed and, in UTF-8, the
    file decodes (so bytes it cannot read fail as pandas fails them, with the codec's
    message; Arrow, which transcodes other encodings, raises the codec's error in its scan).
    Only encodings that write both line ends as single bytes are scanned; others (UTF-16)
    answer False. About 1 ms a MB."""
    if encoding not in _SINGLE_BYTE_LINE_ENDS:
        return False
    decoder = codecs.getincrementaldecoder("utf-8")() if encoding in _UTF8 else None
    carry = b""
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK_BYTES):
            if decoder is not None:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    return False
            block = carry + block
            if block.count(b"\r") != block.count(b"\r\n") + block.endswith(b"\r"):
                return False
            carry = b"\r" if block.endswith(b"\r") else b""
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return not carry


def _ends_inside_quotes(path: Path, encoding: str, last_value: str | None) -> bool:
    """Whether the file may end inside a quoted field: its last bytes are a quote and the
    last value Arrow read (an open quote ends the field for Arrow). True when the value is
    too long to tell."""
    end = '"' + (last_value or "").replace('"', '""')
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(size - _TAIL_BYTES, 0))
        tail = fh.read().decode(encoding, errors="replace")
    return len(end) >= len(tail) or tail.endswith(end)
