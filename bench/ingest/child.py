"""One load by our loader in a fresh interpreter: ``python -m bench.ingest.child '<spec json>'``.

Prints one JSON line: load seconds (and those until the rows are copied, before indexing), rows, repaired/rejected counts, and peak RSS (``VmHWM``, KiB)
after importing everything (``baseline_kib``) and after the load (``peak_kib``).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from bench.ingest.inputs import REAL_LAYER, bench_layer
from bench.ingest.measure import vm_hwm_kib
from digitalcity.catalog import load_catalog
from digitalcity.config import Settings
from digitalcity.db.engine import make_engine
from digitalcity.ingest import load_layer, staging


def _peak_kib() -> int:
    """This process's peak RSS in KiB (``VmHWM``; ``ru_maxrss`` would include the parent's)."""
    return vm_hwm_kib() or int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _time_copy_phase(marks: list[float]) -> None:
    """Record when the loader finishes reading, validating and copying rows (it then builds
    indexes, analyses and swaps), by wrapping its report step; skipped if that step moved."""
    finish = getattr(staging, "finish_report", None)
    if finish is None:
        return

    def timed(*args: object, **kwargs: object) -> object:
        marks.append(time.perf_counter())
        return finish(*args, **kwargs)

    staging.finish_report = timed  # type: ignore[assignment]


def main(spec: dict[str, object]) -> dict[str, object]:
    baseline = _peak_kib()
    settings = Settings(
        data_dir=Path(str(spec["data_dir"])), db_port=int(str(spec["port"])), progress=False
    )
    if spec.get("tile_copies") is False:  # the load without its EPSG:3857 tile copy
        settings = settings.model_copy(update={"tile_copies": False})
    if spec.get("layers_dir"):  # another dataset's layer (bench.common.osmlike)
        settings = settings.model_copy(update={"layers_dir": Path(str(spec["layers_dir"]))})
    catalog = load_catalog(settings.layers_dir)
    city = catalog.city(str(spec.get("city", REAL_LAYER[0])))
    if spec.get("bbox"):  # a SYNTHETIC city spread wider than the real one (bench.scale)
        city = city.model_copy(update={"bbox": tuple(spec["bbox"])})  # type: ignore[arg-type]
    layer = catalog.layer(city.id, str(spec.get("layer", REAL_LAYER[1])))
    if spec.get("path"):
        layer = bench_layer(
            layer, str(spec["id"]), Path(str(spec["path"])), join=bool(spec["join"])
        )
    engine = make_engine(settings)
    marks: list[float] = []
    _time_copy_phase(marks)
    started = time.perf_counter()
    report = load_layer(layer, city, engine, settings, force=True)
    seconds = time.perf_counter() - started
    copy_seconds = marks[0] - started if marks else None
    engine.dispose()
    return {
        "seconds": seconds,
        "copy_seconds": copy_seconds,
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "repaired": len(report.repaired),
        "rejected": len(report.rejected),
        "joins": {k: v["matched"] for k, v in report.joins.items()},
        "baseline_kib": baseline,
        "peak_kib": _peak_kib(),
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
