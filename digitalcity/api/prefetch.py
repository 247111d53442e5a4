"""The next page of a walk by key, rendered while the client reads the page it has.

A client copying a whole layer (``ogr2ogr`` from OAPIF, QGIS) asks for one page at a time and
follows its ``next`` link (``after=<last id>``); between two requests it parses what it got
(GDAL 3.6: ~70 ms for 1,000 SYNTHETIC roads) while the server waits. So when a page is
answered with a ``next`` link by key, that next page is rendered on a background thread and
kept for the request that asks for it: taken once, never shared with another caller (its
key holds the role, the layer's version and every parameter, as the page cache's does), and
dropped when ``slots`` newer ones wait. The walk then costs the client's time alone.

One page renders at a time per process; a page asked for while it renders is waited for, not
rendered twice. The render runs in a copy of the asking request's context, so its statement
timeout applies.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

WAIT_SECONDS = 30.0  # the longest a request waits for its page being rendered


@dataclass(frozen=True)
class Rendered:
    """A rendered page: its gzip body, and where a walk goes on from it."""

    body: bytes
    next_after: int | None  # the ``after`` of its own next link (None: the last page)


class NextPages:
    """Pages rendered ahead, by page key; ``slots`` 0 turns prefetching off."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._ready: OrderedDict[str, Rendered] = OrderedDict()
        self._running: dict[str, Future[Rendered]] = {}
        self._claimed: set[str] = set()  # rendering, and already waited for by its request
        self.taken = 0  # pages answered from here
        self.closed = False
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="digitalcity-next-page")

    def take(self, key: str) -> Rendered | None:
        """The page rendered ahead for ``key`` (waiting for it if it is rendering), once; None
        when there is none or its render failed (the caller renders it itself)."""
        with self._lock:
            ready = self._ready.pop(key, None)
            running = self._running.get(key)
            if ready is None and running is not None:
                self._claimed.add(key)  # so the render, when done, is not kept for another
            if ready is not None:
                self.taken += 1
        if ready is not None or running is None:
            return ready
        try:
            rendered = running.result(timeout=WAIT_SECONDS)
        except Exception:  # noqa: BLE001 - a failed or slow render: the request renders it again
            return None
        with self._lock:
            self.taken += 1
        return rendered

    def settle(self, timeout: float) -> bool:
        """Wait until no page is rendering (True), at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if not self._running:
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)

    def waiting(self) -> int:
        """Pages rendered ahead and not yet asked for."""
        with self._lock:
            return len(self._ready)

    def schedule(self, key: str, render: Callable[[], Rendered]) -> bool:
        """Render ``key``'s page in the background unless it is kept, rendering, or another
        page is rendering (one at a time: a walk needs no more). True when scheduled."""
        if not self.slots:
            return False
        with self._lock:
            if key in self._ready or self._running:
                return False
            context = contextvars.copy_context()
            try:
                future = self._pool.submit(context.run, render)
            except RuntimeError:  # closed: the app is shutting down
                return False
            self._running[key] = future
        future.add_done_callback(lambda done: self._finish(key, done))
        return True

    def _finish(self, key: str, done: Future[Rendered]) -> None:
        with self._lock:
            self._running.pop(key, None)
            if key in self._claimed:
                self._claimed.discard(key)
                return
            if done.cancelled() or done.exception() is not None:
                return  # the request renders the page itself, and reports its error
            self._ready[key] = done.result()
            while len(self._ready) > self.slots:
                self._ready.popitem(last=False)

    def close(self) -> None:
        """Render nothing more (a render under way ends on its own)."""
        self.closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
