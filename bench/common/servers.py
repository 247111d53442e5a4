"""ASGI servers (ours, tipg) run by uvicorn in a child process on a free port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import httpx

from bench.common.cluster import BenchDB, free_port


@contextmanager
def uvicorn_server(app: str, env: dict[str, str], *, factory: bool = False) -> Iterator[str]:
    """Run ``app`` with uvicorn (one worker) on a free port; yields its base URL.

    Raises ``RuntimeError`` when the server exits or does not answer within 60 s.
    """
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning"]
    if factory:
        args.append("--factory")
    proc = subprocess.Popen(args, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{app} exited: {proc.stderr.read()[-2000:] if proc.stderr else ''}"
                )
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"{app} did not start within 60 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tipg_env(db: BenchDB, schemas: Sequence[str]) -> dict[str, str]:
    """Environment for ``tipg.main:app`` serving the tables of ``schemas`` in ``db``."""
    return {"DATABASE_URL": db.libpq_url(), "TIPG_DB_SCHEMAS": json.dumps(list(schemas))}
