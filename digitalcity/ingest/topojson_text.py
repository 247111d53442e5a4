"""A TopoJSON file's top-level arcs read straight from its text.

Parsing the arcs as JSON builds a Python list per position (Cambridge's parcels: 121,000 of
them, 0.15 s with the conversion to an array); here the array's text is scanned with numpy
(0.02 s) and the rest of the document, emptied of it, is parsed as JSON. This applies to
quantised arcs (whole numbers, two per position), as TopoJSON tools write them; for anything
else ``split_arcs`` returns None and the caller parses the whole document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_ARCS_KEY = re.compile(rb'"arcs"\s*:\s*\[')

# character classes: 0 anything else, 1 digit, 2 minus, 3 [, 4 ], 5 comma, 6 whitespace
_CLASS = np.zeros(256, dtype=np.uint8)
_CLASS[ord("0") : ord("9") + 1] = 1
_CLASS[ord("-")] = 2
_CLASS[ord("[")] = 3
_CLASS[ord("]")] = 4
_CLASS[ord(",")] = 5
_CLASS[[ord(" "), ord("\t"), ord("\n"), ord("\r")]] = 6
_DEPTH_STEP = np.zeros(256, dtype=np.int8)
_DEPTH_STEP[ord("[")] = 1
_DEPTH_STEP[ord("]")] = -1
_MAX_DIGITS = 18  # whole numbers that fit int64 exactly
_POWERS = 10 ** np.arange(_MAX_DIGITS, dtype=np.int64)


@dataclass(frozen=True)
class TextArcs:
    positions: np.ndarray  # (n, 2) float: every arc's positions, one arc after the other
    lengths: np.ndarray  # positions per arc


def split_arcs(data: bytes) -> tuple[bytes, TextArcs] | None:
    """``data`` with its top-level arcs array emptied (``[]``), and those arcs; None when the
    arcs are not found or are not whole numbers two per position.

    The top-level arcs are the first or the last ``"arcs": [`` of the document (tools write
    them before or after the objects), whichever array is longer; the caller checks that the
    emptied document's ``arcs`` is indeed ``[]``.
    """
    matches = list(_ARCS_KEY.finditer(data))
    if not matches:
        return None
    spans = []
    for match in dict.fromkeys((matches[-1], matches[0])):
        start = match.end() - 1
        end = _closing_bracket(data, start)
        if end is not None:
            spans.append((end - start, start, end))
            if end - start > len(data) // 2:  # longer than all the rest: no need to look on
                break
    if not spans:
        return None
    _, start, end = max(spans)
    arcs = integer_arcs(np.frombuffer(data, dtype=np.uint8, count=end + 1 - start, offset=start))
    if arcs is None:
        return None
    return data[:start] + b"[]" + data[end + 1 :], arcs


def _closing_bracket(data: bytes, start: int) -> int | None:
    """The index of the bracket closing the one at ``start``, scanning ever larger windows
    (a geometry's short arcs array closes in the first). Brackets inside strings are not
    told apart: ``integer_arcs`` refuses a span holding anything but numbers."""
    offset, depth, window = start, 0, 4096
    while offset < len(data):
        chunk = np.frombuffer(
            data, dtype=np.uint8, count=min(window, len(data) - offset), offset=offset
        )
        depths = depth + np.cumsum(_DEPTH_STEP[chunk], dtype=np.int32)
        closed = int(np.argmax(depths == 0))
        if depths[closed] == 0:
            return offset + closed
        offset, depth, window = offset + len(chunk), int(depths[-1]), window * 16
    return None


def integer_arcs(text: np.ndarray) -> TextArcs | None:
    """The arcs of one JSON array of arrays of [x, y] whole-number positions (its bytes), or
    None when the text is anything else."""
    kind = _CLASS[text]
    depth = np.cumsum(_DEPTH_STEP[text], dtype=np.int32)
    if not kind.all() or depth.max() > 3 or depth[:-1].min() < 1:
        return None
    opens = np.flatnonzero(kind == 3)
    position_opens = opens[depth[opens] == 3]
    arc_opens = opens[depth[opens] == 2]
    # number tokens: runs of digits and minus signs (the text starts and ends with a bracket)
    edges = np.diff(((kind - np.uint8(1)) < 2).view(np.int8))
    starts = np.flatnonzero(edges == 1) + 1
    ends = np.flatnonzero(edges == -1) + 1
    negative = kind[starts] == 2
    digits = ends - starts - negative
    n_positions, n_arcs = len(position_opens), len(arc_opens)
    if len(starts) != 2 * n_positions or np.count_nonzero(kind == 2) != negative.sum():
        return None
    lengths = np.diff(np.append(np.searchsorted(position_opens, arc_opens), n_positions))
    commas = np.bincount(depth[kind == 5], minlength=4)
    expected = [0, max(n_arcs - 1, 0), n_positions - np.count_nonzero(lengths), n_positions]
    if commas.tolist() != expected:
        return None
    if n_positions:
        if (depth[starts] != 3).any() or digits.min() < 1 or digits.max() > _MAX_DIGITS:
            return None
        # two numbers per position: x after its "[", y before the next position's "["
        firsts, seconds = starts[0::2], starts[1::2]
        if (firsts < position_opens).any() or (seconds[:-1] > position_opens[1:]).any():
            return None
    at = np.flatnonzero(kind == 1)
    place = np.repeat(ends, digits) - at - 1  # each digit's power of ten
    values = (text[at] - np.uint8(ord("0"))).astype(np.int64) * _POWERS[place]
    numbers = np.add.reduceat(values, np.cumsum(digits) - digits) if len(at) else values
    numbers[negative] *= -1
    return TextArcs(numbers.reshape(-1, 2).astype(np.float64), lengths)
