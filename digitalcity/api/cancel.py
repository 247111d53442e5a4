"""Work that stops when its client goes away: the request's statements are cancelled in
PostgreSQL (``digitalcity.db.bounds``) as soon as the disconnect is seen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from typing import TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from digitalcity.db import bounds
from digitalcity.errors import DigitalCityError

T = TypeVar("T")
POLL_SECONDS = 0.2  # how often a long request looks for its client


class ClientGone(DigitalCityError):
    """The client disconnected; its statements were cancelled (nobody reads this answer)."""

    status = 499
    title = "Client closed request"


async def cancellable(request: Request, work: Callable[[], T]) -> T:
    """``work()`` on the thread pool inside a cancel scope; if the client disconnects first,
    its statements are cancelled and ``ClientGone`` is raised once the work has stopped."""
    with bounds.scope() as active:
        task = asyncio.ensure_future(run_in_threadpool(work))  # copies the scope's context
        while True:
            done, _ = await asyncio.wait({task}, timeout=POLL_SECONDS)
            if done:
                return task.result()
            if await request.is_disconnected():
                active.cancel()
                with suppress(Exception):
                    await task
                raise ClientGone("the client disconnected; its statements were cancelled")
