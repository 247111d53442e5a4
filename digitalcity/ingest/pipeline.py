"""A load's batches through three stages on threads of their own (``Pipeline``): read and
check, map and encode, while the caller copies."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from digitalcity.ingest.copybinary import CopyRows
from digitalcity.ingest.job import Checked, LayerLoad
from digitalcity.ingest.threads import stage_thread

T = TypeVar("T")


def _batch_rows(job: LayerLoad, most: int) -> int:
    """Rows per batch: about a quarter of the input (so its stages overlap), 2,000 to ``most``."""
    if job.reader.total is None:
        return most
    return max(2_000, min(most, -(-job.reader.total // 4)))


_Finished = tuple[int, int, CopyRows | None]  # rows read, rows kept, their COPY rows


class Pipeline:
    """(rows read, rows kept, COPY data) per batch, in order, from a three-stage pipeline:
    while the caller copies batch n into the database, batch n + 1 is mapped and encoded
    (``finish``) and batch n + 2 is read and its geometries checked (``check``), each stage on
    its own thread (GEOS, Arrow and libpq release the GIL). At most four batches are held.

    The first two batches are read and checked, and the first one finished, from
    construction on: while the load asks the database how to write its tile copy, takes its
    lock and creates its tables (60-80 ms of a 0.5 s load of 24,000 SYNTHETIC land-use
    polygons in a new process). ``close`` (also reached at the end) stops the stages and
    closes the source, whether or not the pipeline was iterated."""

    def __init__(self, job: LayerLoad, batch_rows: int) -> None:
        self._job = job
        self._batches = job.reader.batches(_batch_rows(job, batch_rows))
        self._checkers, self._finishers = stage_thread("check"), stage_thread("finish")
        self._pending: list[Future[Any]] = []  # not done yet: a done one is let go with its batch
        self._closed = False
        first = self._submit(self._checkers, self._check_next)
        self._finishing: Future[_Finished] | None = self._submit(
            self._finishers, self._finish_checked, first
        )
        self._checking: Future[Checked | None] | None = self._submit(
            self._checkers, self._check_next
        )

    def _check_next(self) -> Checked | None:
        batch = next(self._batches, None)
        return None if batch is None else self._job.check(batch)

    def _finish_checked(self, checking: Future[Checked | None]) -> _Finished:
        """The first batch finished once checked (no row read nor kept: the source has none)."""
        item = checking.result()
        return (0, 0, None) if item is None else self._job.finish(item)

    def _submit(self, pool: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> Future[T]:
        self._pending[:] = [f for f in self._pending if not f.done()]
        self._pending.append(future := pool.submit(fn, *args))
        return future

    def __iter__(self) -> Pipeline:
        return self

    def __next__(self) -> _Finished:
        if self._closed:  # as a closed generator
            raise StopIteration
        try:
            while self._checking is not None:
                item = self._checking.result()
                following = None
                if item is None:
                    self._checking = None
                else:
                    self._checking = self._submit(self._checkers, self._check_next)
                    following = self._submit(self._finishers, self._job.finish, item)
                del item
                finishing, self._finishing = self._finishing, following
                if finishing is not None:
                    return finishing.result()
        except BaseException:
            self.close()
            raise
        self.close()
        raise StopIteration

    def close(self) -> None:
        """Stop the stages (their tasks end before the source is closed) and close the
        source; the stage threads outlive the load."""
        if self._closed:
            return
        self._closed = True
        for future in self._pending:
            future.cancel()
        wait(self._pending)
        # on the thread that read it: pyogrio sets a shapefile's encoding for the reading
        # thread alone (GDAL's SHAPE_ENCODING) and puts it back on the thread that closes
        # the stream, so a load stopped early left the check thread reading GB18030
        self._checkers.submit(self._batches.close).result()
