"""CQL2 parser benchmark: our text and JSON parsers on the standard's examples, the lexer's
growth from 36 KB to 360 KB, and, when the ``cql2`` package (Rust, Development Seed) is
installed, the same examples through it and how it fares on deep nesting (in a subprocess,
since it can take the process down). Prints microseconds per filter and the ratios.

Then filtered item pages on both benchmark datasets (``bench/cql2/pages.py``): Cambridge
parcels and the SYNTHETIC OSM-like roads, four CQL2 text filters each over bbox pages, our
server cold against the SQL floor (the statements it compiles) and tipg.

    python -m bench.cql2 [--rounds 20] [--dataset cambridge|osm|both|none] [--boxes 30]
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.cql2 import pages
from digitalcity.config import PROJECT_ROOT
from digitalcity.query import FilterError, parse_json, parse_text
from digitalcity.query.cql2_tokens import tokenize

EXAMPLES = PROJECT_ROOT.parent / "shared" / "conformance" / "cql2"
UNIT = "floors > 5 AND owner LIKE 'Mike%' OR S_INTERSECTS(geometry, POINT(1.5 -2)) "


def per_filter_us(parse: Callable[[str], object], sources: Sequence[str], rounds: int) -> float:
    """Best of three: microseconds per filter over ``rounds`` passes (refusals included)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(rounds):
            for source in sources:
                try:
                    parse(source)
                except Exception:  # noqa: BLE001 - refusals cost time too; both parsers refuse some
                    pass
        best = min(best, time.perf_counter() - start)
    return best / (rounds * len(sources)) * 1e6


def lexer_seconds(text: str) -> float:
    gc.disable()
    try:
        start = time.perf_counter()
        tokenize(text)
        return time.perf_counter() - start
    finally:
        gc.enable()


def cql2_depth(expression: str) -> str:
    """What the cql2 package does with ``expression``, run in a child process."""
    code = f"import cql2; cql2.parse_text({expression}); print('parsed')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode < 0:
        return f"killed by signal {-done.returncode}"
    return done.stdout.strip() or done.stderr.strip().splitlines()[-1][:60]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--dataset", choices=("cambridge", "osm", "both", "none"), default="both")
    parser.add_argument("--boxes", type=int, default=30, help="bboxes per filter (pages)")
    args = parser.parse_args()
    parsers(args.rounds)
    if args.dataset != "none":
        pages.main(args.dataset, args.boxes)
    return 0


def parsers(rounds: int) -> None:
    """Our parsers against the cql2 package's on the standard's examples."""
    texts = [p.read_text() for p in sorted(Path(EXAMPLES, "text").glob("*.txt"))]
    jsons = [p.read_text() for p in sorted(Path(EXAMPLES, "json").glob("*.json"))]
    print(f"{len(texts)} text and {len(jsons)} JSON examples of the CQL2 standard")
    ours_text = per_filter_us(parse_text, texts, rounds)
    ours_json = per_filter_us(parse_json, jsons, rounds)
    print(f"  ours  text {ours_text:7.1f} us/filter   JSON {ours_json:7.1f} us/filter")
    small, large = lexer_seconds(UNIT * 500), lexer_seconds(UNIT * 5000)
    print(
        f"  lexer 36 KB {small * 1000:.1f} ms, 360 KB {large * 1000:.1f} ms: x{large / small:.1f}"
    )
    try:
        import cql2  # type: ignore[import-not-found]
    except ImportError:
        print("  cql2 package not installed: no comparison")
        return
    theirs_text = per_filter_us(cql2.parse_text, texts, rounds)
    theirs_json = per_filter_us(cql2.parse_json, jsons, rounds)

    def via_cql2(source: str) -> object:
        return parse_json(cql2.parse_text(source).to_json())

    bridged = per_filter_us(via_cql2, texts, rounds)
    print(f"  cql2  text {theirs_text:7.1f} us/filter   JSON {theirs_json:7.1f} us/filter")
    print(f"  cql2 text -> its JSON -> our tree: {bridged:.1f} us/filter")
    print(
        f"  ours / cql2: text x{ours_text / theirs_text:.2f}, JSON x{ours_json / theirs_json:.2f}"
    )
    for label, expression in (
        ("10,000 parentheses", "'(' * 10_000 + 'a = 1' + ')' * 10_000"),
        ("100,000 NOTs", "'NOT ' * 100_000 + 'a = 1'"),
    ):
        try:
            parse_text(eval(expression))  # noqa: S307 - our own constant expressions
            ours = "parsed"
        except FilterError as exc:
            ours = f"400: {str(exc)[:50]}"
        print(f"  {label}: ours {ours}; cql2 {cql2_depth(expression)}")


if __name__ == "__main__":
    raise SystemExit(main())
