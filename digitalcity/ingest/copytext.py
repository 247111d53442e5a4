"""COPY text format for a whole batch at once: Arrow columns in, one bytes buffer out.

Values are written exactly as psycopg's ``Copy.write_row`` writes them (``\\N`` for null,
``\\b \\t \\n \\v \\f \\r \\\\`` escaped in text); numbers go out in their shortest round-trip
form. Geometries go out as hex EWKB, as PostGIS reads them.
"""

from __future__ import annotations

import binascii
import struct
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

# as psycopg escapes text in COPY; the backslash first
_ESCAPES: tuple[tuple[str, str], ...] = (
    ("\\", "\\\\"),
    ("\b", "\\b"),
    ("\t", "\\t"),
    ("\n", "\\n"),
    ("\v", "\\v"),
    ("\f", "\\f"),
    ("\r", "\\r"),
)


def _offsets(array: pa.Array) -> np.ndarray:
    """The int64 value offsets of a large binary / large string array (``len + 1`` of them)."""
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)
    return offsets[array.offset : array.offset + len(array) + 1]


def ewkb_hex(geoms: np.ndarray, srid: int, *, multi: bool = False) -> pa.Array:
    """Hex EWKB of shapely geometries with ``srid`` set, as an Arrow string array.

    Equal to ``to_wkb(set_srid(geoms, srid), hex=True, include_srid=True)`` (lower-case hex),
    without copying every geometry to set its SRID: the SRID is spliced into each WKB header.
    With ``multi``, each point, line string or polygon goes out as a one-part multi-geometry
    (a header spliced in front of it), as if it had been converted first.
    """
    wkb = pa.array(shapely.to_wkb(geoms, hex=False, byte_order=1), type=pa.large_binary())
    offsets = _offsets(wkb)
    starts = offsets[:-1] - offsets[0]
    data = np.frombuffer(wkb.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]].copy()
    kinds = data[starts + 1]  # low byte of the little-endian type: 1..7 (flags are high)
    wrap = np.isin(kinds, (1, 2, 3)) if multi else np.zeros(len(starts), dtype=bool)
    head = starts[~wrap]
    if srid:
        data[head + 4] |= 0x20  # the EWKB "has SRID" flag: high byte of the little-endian type
    added = np.where(
        wrap, 13 if srid else 9, 4 if srid else 0
    )  # SRID 0 is left out, as shapely does
    positions, values = [], []
    if srid and len(head):
        positions.append(np.repeat(head + 5, 4))
        values.append(np.tile(_le32(srid), len(head)))
    if wrap.any():
        headers = _multi_headers(data, starts[wrap], srid)
        positions.append(np.repeat(starts[wrap], headers.shape[1]))
        values.append(headers.ravel())
    if positions:
        data = np.insert(data, np.concatenate(positions), np.concatenate(values))
    hex_offsets = (offsets - offsets[0] + np.concatenate([[0], np.cumsum(added)])) * 2
    return pa.LargeStringArray.from_buffers(
        len(wkb), pa.py_buffer(hex_offsets), pa.py_buffer(binascii.hexlify(data.data))
    )


def _le32(value: int) -> np.ndarray:
    return np.frombuffer(struct.pack("<I", value), dtype=np.uint8)


def _multi_headers(data: np.ndarray, starts: np.ndarray, srid: int) -> np.ndarray:
    """Per single geometry at ``starts``, the header of a one-part multi-geometry holding it:
    byte order, type (the single's + 3, its Z/M flags kept, SRID flag), SRID, part count 1."""
    types = data[starts[:, None] + np.arange(1, 5)].copy().view("<u4").ravel()
    multi = (types + 3) | (0x20000000 if srid else 0)
    columns = [np.ones((len(starts), 1), dtype=np.uint8), multi.astype("<u4").view(np.uint8)]
    if srid:
        columns.append(np.tile(_le32(srid), (len(starts), 1)))
    columns.append(np.tile(_le32(1), (len(starts), 1)))
    return np.hstack([c.reshape(len(starts), -1) for c in columns])


def _needs_escape(data: np.ndarray) -> bool:
    """Whether UTF-8 bytes hold a character to escape: \\b..\\r (8..13) or a backslash."""
    return bool(((data - np.uint8(8)) <= 5).any() or (data == ord("\\")).any())


def _text(column: pa.Array) -> pa.Array:
    """One column as COPY large-string text (null stays null)."""
    column = column.cast(pa.large_string())
    offsets = _offsets(column)
    data = np.frombuffer(column.buffers()[2] or b"", dtype=np.uint8)[offsets[0] : offsets[-1]]
    if _needs_escape(data):
        for raw, escaped in _ESCAPES:
            column = pc.replace_substring(column, raw, escaped)
    return column


def copy_text(columns: Sequence[pa.Array]) -> pa.Buffer:
    """The COPY text payload (one line per row, columns tab-separated) of equal-length columns."""
    texts = [pc.fill_null(_text(c), "\\N") for c in columns]
    newline = pa.scalar("\n", pa.large_string())
    texts[-1] = pc.binary_join_element_wise(texts[-1], newline, pa.scalar("", pa.large_string()))
    lines = pc.binary_join_element_wise(*texts, pa.scalar("\t", pa.large_string()))
    del texts
    offsets = _offsets(lines)
    return lines.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
