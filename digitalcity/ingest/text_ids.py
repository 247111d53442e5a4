"""Feature ids from text codes (a parcel's 宗地代码 "350203001001GB00001W00000000"): the id is
a number derived from the code by BLAKE2b, the same at every load, so that history, edits and
links keyed by id follow the code across reloads.

Ids stay below 2**52: a browser's JavaScript numbers hold integers exactly up to 2**53
(MapLibre keys features by them), and features added by editing take ids above the largest
(``editing.store.next_fid``), which leaves them 2**52 ids. Two codes sharing an id would be
refused as duplicate ids: among a million codes the odds are about 1 in 9,000.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

ID_BITS = 52


def stable_ids(codes: Iterable[str]) -> np.ndarray:
    """The id of each code (int64, 1 .. 2**52 - 1)."""
    mask = (1 << ID_BITS) - 1
    return np.fromiter(
        (
            (int.from_bytes(hashlib.blake2b(c.encode(), digest_size=8).digest(), "big") & mask) or 1
            for c in codes
        ),
        dtype=np.int64,
    )
