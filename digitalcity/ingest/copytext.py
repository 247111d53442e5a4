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


def ewkb_hex(geoms: np.ndarray, srid: int) -> pa.Array:
    """Hex EWKB of shapely geometries with ``srid`` set, as an Arrow string array.

    Equal to ``to_wkb(set_srid(geoms, srid), hex=True, include_srid=True)`` (lower-case hex),
    without copying every geometry to set its SRID: the SRID is spliced into each WKB header.
    """
    wkb = pa.array(shapely.to_wkb(geoms, hex=False, byte_order=1), type=pa.large_binary())
    offsets = _offsets(wkb)
    starts = offsets[:-1] - offsets[0]
    data = np.frombuffer(wkb.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]].copy()
    spliced = 4 if srid else 0  # SRID 0 (unknown) is left out, as shapely does
    if srid:
        data[starts + 4] |= 0x20  # the EWKB "has SRID" flag: high byte of the little-endian type
        srid_bytes = np.frombuffer(struct.pack("<I", srid), dtype=np.uint8)
        data = np.insert(data, np.repeat(starts + 5, 4), np.tile(srid_bytes, len(starts)))
    hex_offsets = (offsets - offsets[0] + spliced * np.arange(len(offsets))) * 2
    return pa.LargeStringArray.from_buffers(
        len(wkb), pa.py_buffer(hex_offsets), pa.py_buffer(binascii.hexlify(data.data))
    )


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
