"""The threads a load runs work on: a function started beside the load, and the one
thread of each pipeline stage, kept for the process's later loads."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def in_background(fn: Callable[..., T], *args: Any) -> Future[T]:
    """``fn(*args)`` started on a thread of its own."""
    pool = ThreadPoolExecutor(1, thread_name_prefix=f"ingest-{fn.__name__}")
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)


# The pipeline's stages run on threads kept for the process's later loads (a city's layers):
# pyproj builds a transformation anew in each thread that first uses it, which a thread per
# load paid at every load (a shapefile's own Transverse Mercator .prj into CGCS2000: 0.37 s,
# more than its 661 polygons take to load). A forked child starts its own threads.
_STAGE_THREADS: dict[str, tuple[int, ThreadPoolExecutor]] = {}
_STAGE_THREADS_LOCK = threading.Lock()


def stage_thread(stage: str) -> ThreadPoolExecutor:
    """The one thread of a pipeline stage, shared by the process's loads (a second load at
    the same time queues its batches behind the first's)."""
    with _STAGE_THREADS_LOCK:
        pid, pool = _STAGE_THREADS.get(stage, (None, None))
        if pool is None or pid != os.getpid():
            pool = ThreadPoolExecutor(1, thread_name_prefix=f"ingest-{stage}")
            _STAGE_THREADS[stage] = (os.getpid(), pool)
        return pool
