"""``python -m bench.tiles.sizes [city ...]``: size and cold render time of every city tile.

For each zoom z10-z16, every tile of the city tileset over the layers' extent is rendered cold
(cache off, EPSG:3857 copies built) for the role that sees the most (``land_bureau``: every
layer and field) and gzipped as the server sends it. Prints per zoom: tiles with data, size
p50 / p95 / max in KB (gzipped, 1 KB = 1,000 bytes), render p50 / p95 / max in ms, and the
heaviest tile. The budget is 500 KB gzipped per tile.

Then the same tiles as a static site's (``searchable``: below a layer's ``detail_zoom`` its
label and search fields too, which the API's maps read from the API instead), and the API's
tiles' total size as a ratio of those.

Last, what the public map downloads: every tile of the anonymous tileset read whole against
the base part and one theme (``public_map_parts``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, field

from bench.common.city import city_db
from digitalcity.catalog import Role
from digitalcity.tiles.options import TileOptions
from digitalcity.tiles.seed import city_tiles
from digitalcity.tiles.service import TileService
from digitalcity.tiles.tms import TileIndex

ZOOMS = range(10, 17)
ROLE: Role = "land_bureau"
BUDGET_KB = 500.0


@dataclass
class ZoomFigures:
    """Gzipped sizes (bytes) and cold render times (seconds) of one zoom's non-empty tiles."""

    sizes: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    heaviest: TileIndex | None = None


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def measure(
    service: TileService,
    engine,  # noqa: ANN001
    city: str,
    *,
    searchable: bool = False,
) -> dict[int, ZoomFigures]:
    out = {z: ZoomFigures() for z in ZOOMS}
    for tile in city_tiles(service, city, ROLE, ZOOMS):
        tileset = service.city_tileset(city, ROLE, tile.z, searchable=searchable)
        started = time.perf_counter()
        gz = service.tile(engine, tileset, tile)
        elapsed = time.perf_counter() - started
        if not gz:
            continue
        fig = out[tile.z]
        if not fig.sizes or len(gz) > max(fig.sizes):
            fig.heaviest = tile
        fig.sizes.append(len(gz))
        fig.seconds.append(elapsed)
    return out


def report(city: str, figures: dict[int, ZoomFigures], what: str = "city tileset") -> None:
    print(f"{city}: {what}, role {ROLE}, gzipped (KB = 1,000 bytes), cold render")
    print(f"{'z':>3} {'tiles':>6} {'p50 KB':>8} {'p95 KB':>8} {'max KB':>8} "
          f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  heaviest")  # fmt: skip
    worst = 0.0
    for z, fig in figures.items():
        kb = [s / 1000 for s in fig.sizes]
        ms = [s * 1000 for s in fig.seconds]
        worst = max(worst, max(kb, default=0.0))
        print(f"{z:>3} {len(kb):>6} {statistics.median(kb) if kb else 0:>8.1f} {pct(kb, .95):>8.1f} "
              f"{max(kb, default=0):>8.1f} {statistics.median(ms) if ms else 0:>8.1f} "
              f"{pct(ms, .95):>8.1f} {max(ms, default=0):>8.1f}  {fig.heaviest}")  # fmt: skip
    verdict = "within" if worst < BUDGET_KB else "OVER"
    print(f"heaviest tile {worst:.1f} KB: {verdict} the {BUDGET_KB:.0f} KB budget")


PUBLIC: Role = "anonymous"


def public_map_parts(service: TileService, engine, city: str) -> None:  # noqa: ANN001
    """What the public map downloads per theme: every anonymous tile z10-z16 read whole
    against read in parts (``tiles/selections.py``), the base and one theme, gzipped."""
    parts = service.public_map_parts(city)
    sizes = {part: dict.fromkeys(ZOOMS, 0) for part in [frozenset(), *parts]}  # frozenset(): whole
    for tile in city_tiles(service, city, PUBLIC, ZOOMS):
        for part in sizes:
            tileset = service.city_tileset(city, PUBLIC, tile.z, layers=part or None)
            sizes[part][tile.z] += len(service.tile(engine, tileset, tile))
    themed = [p for p in parts if any(service.catalog.layer(city, x).theme for x in p)]
    base = next((sizes[p] for p in parts if p not in themed), dict.fromkeys(ZOOMS, 0))
    whole = sizes[frozenset()]
    print(f"{city}: the public map's tiles z10-z16, gzipped KB in all: the whole tileset "
          f"against the base part with one theme")  # fmt: skip
    print(f"{'z':>3} {'whole':>7} {'base':>7}  " + " ".join(f"{'+'.join(t):>23}" for t in themed))
    for z in ZOOMS:
        read = [base[z] + sizes[t][z] for t in themed]
        cells = " ".join(f"{r / 1000:>15.0f} ({r / max(whole[z], 1):.2f}x)" for r in read)
        print(f"{z:>3} {whole[z] / 1000:>7.0f} {base[z] / 1000:>7.0f}  {cells}")
    total = sum(whole.values())
    for t in themed:
        read = sum(base.values()) + sum(sizes[t].values())
        print(f"with {'+'.join(t)}: {read / 1000:.0f} KB = {read / max(total, 1):.2f}x the whole "
              f"tileset's {total / 1000:.0f} KB")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tiles.sizes", description=__doc__)
    parser.add_argument("cities", nargs="*", default=["cambridge"])
    args = parser.parse_args(argv)
    for city in args.cities:
        with city_db(city) as db:
            options = TileOptions(tiles_dir=db.settings.tiles_dir, cache=False, render_cores=1)
            service = TileService(db.catalog, options)
            service.start(db.engine, listen=False)
            service.wait_for_copies(300)
            time.sleep(1)
            try:
                api = measure(service, db.engine, city)
                report(city, api)
                static = measure(service, db.engine, city, searchable=True)
                report(city, static, "a static site's city tileset (searchable)")
                total = sum(sum(f.sizes) for f in api.values())
                static_total = sum(sum(f.sizes) for f in static.values())
                print(f"API tiles {total / 1000:.0f} KB in all = "
                      f"{total / max(static_total, 1):.2f}x the static site's "
                      f"({static_total / 1000:.0f} KB)")  # fmt: skip
                public_map_parts(service, db.engine, city)
            finally:
                service.stop()


if __name__ == "__main__":
    main()
