"""gzip for tiles: ISA-L (``isal``) when installed — about 6x faster than zlib at the same
ratio (a 1.2 MB z13 tile: 4 ms against 25 ms) — else the standard library."""

from __future__ import annotations

import gzip as _stdlib_gzip
import zlib as _stdlib_zlib
from types import ModuleType

_gzip: ModuleType
_zlib: ModuleType
try:
    from isal import igzip as _gzip
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover - isal is optional
    _gzip, _zlib = _stdlib_gzip, _stdlib_zlib

FAST = _gzip is not _stdlib_gzip


def compress(data: bytes, level: int = 1) -> bytes:
    """gzip ``data`` (no timestamp, so equal tiles give equal bytes)."""
    if FAST:
        return bytes(_gzip.compress(data, compresslevel=min(level, 3), mtime=0))
    return _stdlib_gzip.compress(data, compresslevel=level, mtime=0)


def decompress(data: bytes) -> bytes:
    return bytes(_gzip.decompress(data))


class GzipWriter:
    """A gzip member built piece by piece, so compression keeps pace with arriving data."""

    def __init__(self, level: int = 1) -> None:
        self._deflate = _zlib.compressobj(min(level, 3) if FAST else level, _zlib.DEFLATED, 31)
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self._parts.append(self._deflate.compress(data))

    def finish(self) -> bytes:
        self._parts.append(self._deflate.flush())
        return b"".join(self._parts)
