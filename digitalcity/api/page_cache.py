"""An in-process LRU of rendered item pages, keyed by layer version: a reload of the layer
makes its old pages unreachable, and a hit never touches the database."""

from __future__ import annotations

import hashlib

from digitalcity.lru import BoundedLRU


class PageCache(BoundedLRU[str, bytes]):
    """Gzipped pages by key, evicting the least recently used beyond ``max_bytes`` (0
    disables)."""

    @staticmethod
    def key(*parts: object) -> str:
        return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
