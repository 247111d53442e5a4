"""A bounded in-process LRU: values by key, within a budget of their weights (bytes)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedLRU(Generic[K, V]):
    """Values by key, evicting the least recently used beyond ``max_bytes`` of weight (0
    disables). A value weighs ``len(value)`` unless ``put`` is told otherwise; one heavier
    than a quarter of the budget is not kept; a key put again is replaced."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @property
    def weight(self) -> int:
        """The weight kept, in bytes."""
        return self._size

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V, weight: int | None = None) -> None:
        size = len(value) if weight is None else weight  # type: ignore[arg-type]
        if not self.max_bytes or size > self.max_bytes // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (value, size)
            self._size += size
            while self._size > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._size -= dropped
