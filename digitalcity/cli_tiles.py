"""``digitalcity tiles``: seed and clear the tile cache, export PMTiles."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from digitalcity.errors import DigitalCityError

tiles_app = typer.Typer(
    help="Vector tiles: cache seeding and PMTiles export.", no_args_is_help=True
)


@contextmanager
def _one_line_errors() -> Iterator[None]:
    try:
        yield
    except DigitalCityError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@contextmanager
def _service(*, cache: bool | None = None):  # noqa: ANN202 - yields (service, engine)
    """A started tile service (no LISTEN thread) and a ready engine."""
    from dataclasses import replace

    from digitalcity.catalog import load_catalog
    from digitalcity.cli import _ready_engine, _settings
    from digitalcity.tiles.options import TileOptions
    from digitalcity.tiles.service import TileService

    settings = _settings()
    engine = _ready_engine(settings)
    options = TileOptions.from_settings(settings)
    if cache is not None:
        options = replace(options, cache=cache)
    service = TileService(load_catalog(settings.layers_dir), options)
    service.start(engine, listen=False, build_copies=True)  # the CLI is a writer
    service.wait_for_copies(300)
    try:
        yield service, engine
    finally:
        service.stop()
        engine.dispose()


@tiles_app.command("seed")
def seed(
    city: Annotated[str, typer.Argument(help="city id")],
    zooms: Annotated[str, typer.Option(help="zoom range, e.g. 10-16")] = "10-16",
    public: Annotated[bool, typer.Option("--public", help="only the anonymous tileset")] = False,
) -> None:
    """Pre-generate the city tileset into the cache (every role's field set, or --public)."""
    from digitalcity.catalog import ROLES
    from digitalcity.tiles.seed import parse_zooms
    from digitalcity.tiles.seed import seed as run_seed

    with _one_line_errors():
        span = parse_zooms(zooms)
        with _service() as (service, engine):
            service.catalog.city(city)
            roles = ("anonymous",) if public else ROLES
            report = run_seed(service, engine, city, span, roles)
    typer.echo(
        f"{city}: {report.tiles} tiles ({report.empty} empty), "
        f"{report.bytes / 1e6:.1f} MB gzip in {report.seconds} s"
    )


@tiles_app.command("clear")
def clear(
    city: Annotated[str | None, typer.Argument(help="city id (default: every city)")] = None,
    stale: Annotated[bool, typer.Option("--stale", help="only tiles of old versions")] = False,
) -> None:
    """Delete cached tiles (all, or with --stale only those of replaced layer versions)."""
    with _one_line_errors():
        if stale:
            from digitalcity.tiles.seed import live_keys

            with _service() as (service, _engine):
                removed = service.cache.prune(live_keys(service))
            typer.echo(f"removed {removed} stale tile directories")
            return
        from digitalcity.cli import _settings
        from digitalcity.tiles.cache import TileCache
        from digitalcity.tiles.options import TileOptions

        options = TileOptions.from_settings(_settings())
        TileCache(options.cache_dir).clear(city)
        typer.echo(f"cleared {options.cache_dir / city if city else options.cache_dir}")


@tiles_app.command("export")
def export(
    city: Annotated[str, typer.Argument(help="city id")],
    public: Annotated[
        bool, typer.Option("--public", help="public layers only (required: exports are public)")
    ] = False,
    zooms: Annotated[str, typer.Option(help="zoom range, e.g. 10-16")] = "10-16",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="PMTiles file")] = None,
) -> None:
    """Write a PMTiles v3 archive of the city's public layers."""
    from digitalcity.tiles.export import export_pmtiles
    from digitalcity.tiles.seed import parse_zooms

    with _one_line_errors():
        if not public:
            raise DigitalCityError("exports hold public layers only: pass --public")
        span = parse_zooms(zooms)
        with _service() as (service, engine):
            service.catalog.city(city)
            path = output or service.options.tiles_dir / f"{city}.pmtiles"
            report = export_pmtiles(service, engine, city, span, path)
    typer.echo(
        f"{report.path}: {report.tiles} tiles, {len(report.layers)} layers "
        f"({', '.join(report.layers)}), {report.bytes / 1e6:.1f} MB in {report.seconds} s"
    )
