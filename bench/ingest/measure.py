"""Run one load as a child process and measure its wall time and peak RSS (``VmHWM``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common.cluster import BenchDB
from bench.ingest.db import count, ogr_conninfo

_SAMPLE_S = 0.01


@dataclass
class Run:
    seconds: float  # wall time of the load
    peak_kib: int  # peak RSS (VmHWM) of the process that loaded
    rows: int
    extra: dict[str, object] = field(default_factory=dict)
    index_seconds: float | None = None  # ours: the part after the rows are copied in


def vm_hwm_kib(pid: int | str = "self") -> int | None:
    """Peak resident set (``VmHWM``, KiB) of a live process's own address space.

    Unlike ``ru_maxrss`` from ``wait4``, it does not include the parent's resident set at
    fork time, which Linux carries over into the child's ``ru_maxrss`` across ``exec``.
    """
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB, ``VmHWM`` sampled every 10 ms) and stdout of a child."""
    peak = 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        while True:
            try:
                proc.wait(timeout=_SAMPLE_S)
                break
            except subprocess.TimeoutExpired:
                peak = max(peak, vm_hwm_kib(proc.pid) or 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed ({proc.returncode}): {stderr.strip()}")
    return seconds, peak, stdout


def ours(db: BenchDB, spec: dict[str, object]) -> Run:
    """Our loader (``load_layer(force=True)``) in a fresh interpreter; see ``bench.ingest.child``."""
    full = {"data_dir": str(db.settings.data_dir), "port": db.settings.db_port, **spec}
    _, _, stdout = _run([sys.executable, "-m", "bench.ingest.child", json.dumps(full)])
    result = json.loads(stdout.strip().splitlines()[-1])
    seconds, copied = float(result["seconds"]), result.get("copy_seconds")
    indexing = seconds - float(copied) if copied is not None else None
    return Run(seconds, int(result["peak_kib"]), int(result["rows_loaded"]), result, indexing)


def ogr2ogr(
    db: BenchDB,
    source: Path,
    table: str,
    *,
    assign_srs: str | None = None,
    make_valid: bool = False,
    layer: str | None = None,
    open_options: tuple[str, ...] = (),
) -> Run:
    """``ogr2ogr -f PostgreSQL`` in COPY mode into ``bench.<table>`` (overwritten).

    With ``make_valid``, ``-makevalid`` (GDAL >= 3.1): each geometry goes through GEOS
    MakeValid and loses lower-dimension parts, as our loader's repair does.
    """
    cmd = [
        "ogr2ogr",
        "--config", "PG_USE_COPY", "YES",
        "-f", "PostgreSQL", ogr_conninfo(db),
        str(source),
        "-nln", f"bench.{table}",
        "-nlt", "PROMOTE_TO_MULTI",
        "-lco", "GEOMETRY_NAME=geom",
        "-lco", "FID=fid",
        "-lco", "SPATIAL_INDEX=GIST",
        "-overwrite",
    ]  # fmt: skip
    if layer:
        cmd.append(layer)
    for option in open_options:
        cmd += ["-oo", option]
    if assign_srs:
        cmd += ["-a_srs", assign_srs]
    if make_valid:
        cmd.append("-makevalid")
    seconds, peak, _ = _run(cmd, env={**os.environ, "PGPASSWORD": db.password})
    return Run(seconds, peak, count(db, f"bench.{table}"))
