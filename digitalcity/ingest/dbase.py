"""dBase tables (a shapefile's ``.dbf``): what their header and deletion flags tell."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_HEADER = 32
_CHUNK_RECORDS = 65_536


def deleted_records(dbf: Path) -> int:
    """How many records of ``dbf`` are flagged deleted (``*``): GDAL counts them in a
    layer's feature count but does not read them. 0 for an unreadable header."""
    with dbf.open("rb") as fh:
        head = fh.read(_HEADER)
        if len(head) < _HEADER:
            return 0
        records, header_length, record_length = struct.unpack("<IHH", head[4:12])
        if record_length < 1:
            return 0
        deleted, offset = 0, header_length
        while records > 0:
            count = min(records, _CHUNK_RECORDS)
            fh.seek(offset)
            block = np.frombuffer(fh.read(count * record_length), dtype=np.uint8)
            flags = block[: len(block) // record_length * record_length : record_length]
            deleted += int((flags == ord("*")).sum())
            if len(block) < count * record_length:
                break
            records -= count
            offset += count * record_length
    return deleted
