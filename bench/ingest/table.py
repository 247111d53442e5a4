"""The result table: medians of the repeated runs per input."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench.ingest.measure import Run


@dataclass(frozen=True)
class OgrSpec:
    """An ogr2ogr load: source file, target table in schema ``bench``, SRS to assign."""

    source: Path
    table: str
    assign_srs: str | None = None
    layer: str | None = None  # of a multi-layer source
    open_options: tuple[str, ...] = ()  # -oo NAME=VALUE (a CSV file's coordinate columns)


@dataclass
class Case:
    label: str  # "real ×1" / "SYNTHETIC ×N"
    fmt: str
    variant: str  # "full" (assessor join + crosswalk) or "no join"
    ours_spec: dict[str, object]
    ogr_spec: OgrSpec
    ours: list[Run] = field(default_factory=list)
    ogr: list[Run] = field(default_factory=list)
    ogr_valid: list[Run] = field(default_factory=list)  # ogr2ogr -makevalid
    # ours without the EPSG:3857 tile copy a load writes beside the layer table (settings
    # ``tile_copies`` off): what the copy costs, and the loader's own speed against ogr2ogr's
    bare: list[Run] = field(default_factory=list)


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def _mib(kib: float) -> str:
    return f"{kib / 1024:.0f}"


def print_table(cases: list[Case], repeat: int) -> None:
    head = (
        f"{'input':<15} {'format':<10} {'ours':<8} {'rows':>8} {'ours s':>8} {'(index)':>7} "
        f"{'ogr2ogr s':>9} "
        f"{'ratio':>6} {'ours MiB':>8} {'(idle)':>6} {'ogr MiB':>7} {'ours rows/s':>11} "
        f"{'ogr rows/s':>10} {'repaired':>8} {'rejected':>8}"
    )
    print(
        f"\nmedian of {repeat} run(s); our loader: validation+repair on (always), "
        "'full' = assessor join + land-use crosswalk; (index) = ours after the rows are in:\n"
        "keys, GiST, b-tree and trigram indexes, ANALYZE, extent, swap (ogr2ogr: key + GiST "
        "only); peak = VmHWM of the loading process;\n"
        "the second line of each input is ogr2ogr -makevalid (GEOS MakeValid on every "
        "geometry), its ratio = ours / that"
    )
    print(head)
    print("-" * len(head))
    for c in cases:
        ours_s = _median([r.seconds for r in c.ours])
        ogr_s = _median([r.seconds for r in c.ogr])
        last = c.ours[-1].extra
        indexing = [r.index_seconds for r in c.ours if r.index_seconds is not None]
        index_s = f"{_median(indexing):>7.2f}" if indexing else f"{'?':>7}"
        print(
            f"{c.label:<15} {c.fmt:<10} {c.variant:<8} {c.ours[-1].rows:>8} {ours_s:>8.2f} "
            f"{index_s} {ogr_s:>9.2f} {ours_s / ogr_s:>6.2f} "
            f"{_mib(_median([r.peak_kib for r in c.ours])):>8} "
            f"{_mib(float(str(last['baseline_kib']))):>6} "
            f"{_mib(_median([r.peak_kib for r in c.ogr])):>7} "
            f"{c.ours[-1].rows / ours_s:>11.0f} {c.ogr[-1].rows / ogr_s:>10.0f} "
            f"{last['repaired']!s:>8} {last['rejected']!s:>8}"
        )
        if c.ours[-1].rows != c.ogr[-1].rows:
            print(f"{'':<15} note: ogr2ogr loaded {c.ogr[-1].rows} rows, ours {c.ours[-1].rows}")
        if c.ogr_valid:
            _print_peer("ogr2ogr -makevalid", c.ogr_valid, ours_s, c.ours[-1].rows)
        if c.bare and c.ogr_valid:
            _print_bare(c)


def _print_bare(case: Case) -> None:
    """Our load without its tile copy: seconds, and its ratio to ogr2ogr -makevalid."""
    bare_s = _median([r.seconds for r in case.bare])
    valid_s = _median([r.seconds for r in case.ogr_valid])
    ours_s = _median([r.seconds for r in case.ours])
    print(
        f"{'  ours without the tile copy':<35} {bare_s:>8.2f} {'':>7} {'':>9} "
        f"{bare_s / valid_s:>6.2f}  (the copy: {ours_s - bare_s:+.2f} s; ratio to "
        "ogr2ogr -makevalid)"
    )


def _print_peer(name: str, runs: list[Run], ours_s: float, ours_rows: int) -> None:
    """A peer's line under its input: its seconds, ours / its ratio, its peak and rows/s."""
    peer_s = _median([r.seconds for r in runs])
    print(
        f"{'  ' + name:<35} {'':>8} {'':>8} {'':>7} {peer_s:>9.2f} {ours_s / peer_s:>6.2f} "
        f"{'':>8} {'':>6} {_mib(_median([r.peak_kib for r in runs])):>7} "
        f"{'':>11} {runs[-1].rows / peer_s:>10.0f}"
    )
    if runs[-1].rows != ours_rows:
        print(f"{'':<15} note: {name} loaded {runs[-1].rows} rows, ours {ours_rows}")


def print_memory_scaling(small: Case, large: Case) -> None:
    """Our peak RSS above the idle interpreter, for two sizes of the same streamed input."""
    idle = _median([float(str(r.extra["baseline_kib"])) for r in large.ours])
    grow = [_median([r.peak_kib for r in c.ours]) - idle for c in (small, large)]
    rows = [small.ours[-1].rows, large.ours[-1].rows]
    print(
        f"\nour peak RSS above the idle interpreter ({_mib(idle)} MiB): {small.label} "
        f"{_mib(grow[0])} MiB, {large.label} {_mib(grow[1])} MiB "
        f"({rows[1] / rows[0]:.0f}× the rows, {grow[1] / grow[0]:.2f}× the memory)"
    )


def print_total(cases: list[Case], repeat: int) -> None:
    """The cases loaded one after another, as one dataset: summed medians and ratios, and
    our peak RSS above the idle interpreter against ogr2ogr's peak (the issue-16 target:
    at most 2× ogr2ogr's plus the interpreter's)."""
    ours = sum(_median([r.seconds for r in c.ours]) for c in cases)
    plain = sum(_median([r.seconds for r in c.ogr]) for c in cases)
    valid = sum(_median([r.seconds for r in c.ogr_valid]) for c in cases)
    idle = max(float(str(c.ours[-1].extra["baseline_kib"])) for c in cases)
    ours_peak = max(_median([r.peak_kib for r in c.ours]) for c in cases)
    ogr_peak = max(_median([r.peak_kib for r in c.ogr_valid]) for c in cases)
    rows = sum(c.ours[-1].rows for c in cases)
    print(
        f"whole dataset ({rows:,} rows, median of {repeat}): ours {ours:.2f} s, ogr2ogr "
        f"{plain:.2f} s (ratio {ours / plain:.2f}), ogr2ogr -makevalid {valid:.2f} s "
        f"(ratio {ours / valid:.2f}); peak RSS ours {_mib(ours_peak)} MiB "
        f"({_mib(ours_peak - idle)} above the idle interpreter's {_mib(idle)}), "
        f"ogr2ogr -makevalid {_mib(ogr_peak)} MiB: "
        f"{(ours_peak - idle) / ogr_peak:.1f}× its peak"
    )
    if all(c.bare for c in cases):
        bare = sum(_median([r.seconds for r in c.bare]) for c in cases)
        print(
            f"whole dataset without the tile copies: ours {bare:.2f} s "
            f"(ratio to ogr2ogr -makevalid {bare / valid:.2f}); the copies: {ours - bare:+.2f} s"
        )
