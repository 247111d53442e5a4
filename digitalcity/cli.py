"""The ``digitalcity`` command: database, catalog checks, loading and serving."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from digitalcity.catalog import load_catalog
from digitalcity.config import Settings, settings_from_environment
from digitalcity.errors import DigitalCityError

app = typer.Typer(
    help="digitalcity: city layers in PostGIS, a geo API and maps.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(
    help="The database: the embedded PostgreSQL + PostGIS cluster, its URL, backups.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")

F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(func: F) -> F:
    """Print user errors as one line on stderr and exit 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DigitalCityError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _settings() -> Settings:
    return settings_from_environment()


def _database_up(settings: Settings) -> None:
    """Start the embedded cluster unless an external database is configured."""
    from digitalcity.db.cluster import EmbeddedCluster

    if not settings.database_url:
        EmbeddedCluster(settings).start()


def _ready_engine(settings: Settings):  # noqa: ANN202
    """Start the embedded cluster unless an external database is configured; return an engine."""
    from digitalcity.db.engine import ensure_ready, make_engine

    _database_up(settings)
    engine = make_engine(settings)
    ensure_ready(engine)
    return engine


# -- db -----------------------------------------------------------------------------------------
@db_app.command("start")
@one_line_errors
def db_start() -> None:
    """Create (first time) and start the embedded cluster; idempotent."""
    from digitalcity.db.cluster import EmbeddedCluster
    from digitalcity.db.engine import ensure_ready, make_engine

    settings = _settings()
    if settings.database_url:
        typer.echo("DIGITALCITY_DATABASE_URL is set: using that database, nothing to start")
        ensure_ready(make_engine(settings))
        return
    status = EmbeddedCluster(settings).start()
    ensure_ready(make_engine(settings))
    typer.echo(f"running: {status.data_dir} on {settings.db_host}:{status.port} (pid {status.pid})")


@db_app.command("stop")
@one_line_errors
def db_stop() -> None:
    """Stop the embedded cluster (no-op when stopped)."""
    from digitalcity.db.cluster import EmbeddedCluster

    EmbeddedCluster(_settings()).stop()
    typer.echo("stopped")


@db_app.command("status")
@one_line_errors
def db_status() -> None:
    """Whether the embedded cluster runs; exit 3 when it does not."""
    from digitalcity.db.cluster import EmbeddedCluster

    settings = _settings()
    if settings.database_url:
        typer.echo("external database (DIGITALCITY_DATABASE_URL)")
    else:
        status = EmbeddedCluster(settings).status()
        if not status.running:
            typer.echo(f"stopped: {status.data_dir}")
            raise typer.Exit(3)
        typer.echo(
            f"running: {status.data_dir} on {settings.db_host}:{status.port} (pid {status.pid})"
        )
    from digitalcity.db.backup import kept_databases

    try:
        kept = kept_databases(settings)
    except DigitalCityError:  # the database itself not created yet, or not reachable
        kept = []
    for name, size in kept:
        typer.echo(f"kept by a restore: {name} ({size / 1e6:.1f} MB; drop it once satisfied)")


@db_app.command("url")
@one_line_errors
def db_url() -> None:
    """Print the SQLAlchemy URL of the database in use (contains the password)."""
    from digitalcity.db.engine import database_url

    typer.echo(database_url(_settings()))


@db_app.command("backup")
@one_line_errors
def db_backup(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="The file to write (default: <data dir>/backups/<database>-<time>.dump)."
        ),
    ] = None,
    keep: Annotated[
        int | None,
        typer.Option(
            min=1, help="Then remove the default folder's older backups but the KEEP newest."
        ),
    ] = None,
) -> None:
    """Back up the whole database in use (layers, history, attachments, keys) to one file."""
    from digitalcity.db.backup import backup

    settings = _settings()
    _database_up(settings)
    report = backup(settings, path, keep)
    typer.echo(
        f"backup written: {report.path} ({report.size / 1e6:.1f} MB, {report.tables} tables, "
        f"{report.layers} layers, {report.seconds:.1f} s)"
    )
    for old in report.removed:
        typer.echo(f"removed an older backup: {old}")


@db_app.command("restore")
@one_line_errors
def db_restore(
    path: Annotated[Path, typer.Argument(help="A file written by `digitalcity db backup`.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Restore without asking (scripts, CI).")
    ] = False,
) -> None:
    """Restore a backup in place of the database in use, which is kept under another name.
    Stop the API servers and notebooks using the database first."""
    from digitalcity.db.backup import restore

    settings = _settings()
    if not yes:
        if not sys.stdin.isatty():
            typer.echo("error: a restore replaces the database in use: pass --yes", err=True)
            raise typer.Exit(1)
        typer.confirm(f"Replace the database in use with {path}?", abort=True)
    _database_up(settings)
    report = restore(settings, path)
    typer.echo(
        f"restored {path} into {report.database!r} ({report.tables} tables, "
        f"{report.layers} layers, {report.seconds:.1f} s)"
    )
    typer.echo(
        f"the database as it was is kept as {report.kept_as!r}: drop it once satisfied "
        f'(DROP DATABASE "{report.kept_as}")'
    )
    if report.tile_cache_cleared:
        typer.echo("the tile cache was cleared: tiles are drawn again from the restored layers")


# -- catalog ------------------------------------------------------------------------------------
@app.command("check-layers")
@one_line_errors
def check_layers() -> None:
    """Validate every city and layer definition, code table and crosswalk."""
    from digitalcity.catalog.validate import validate_catalog

    settings = _settings()
    catalog = load_catalog(settings.layers_dir)
    problems = validate_catalog(catalog, settings)
    for city_id, layers in catalog.layers.items():
        typer.echo(f"{city_id}: {len(layers)} layers: {', '.join(x.id for x in layers)}")
    if problems:
        for line in problems:
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(1)
    typer.echo("all layer definitions are valid")


# -- load ---------------------------------------------------------------------------------------
@app.command("load")
@one_line_errors
def load(
    city: Annotated[str, typer.Argument(help="city id, or 'all' for every demo city")],
    layers: Annotated[list[str] | None, typer.Argument(help="layer ids (default: all)")] = None,
    force: Annotated[bool, typer.Option(help="reload even when the inputs are unchanged")] = False,
    details: Annotated[bool, typer.Option(help="list rejected and repaired rows")] = False,
    report_json: Annotated[str | None, typer.Option(help="write the reports to this file")] = None,
) -> None:
    """Load layers from their source files; prints one report line per layer."""
    from digitalcity.ingest.city import load_city

    settings = _settings()
    catalog = load_catalog(settings.layers_dir)
    engine = _ready_engine(settings)
    cities = [c.id for c in catalog.cities.values() if c.demo] if city == "all" else [city]
    failures = 0
    reports = []
    for city_id in cities:
        for outcome in load_city(catalog, city_id, layers or None, engine, settings, force=force):
            if outcome.error:
                failures += 1
                typer.echo(f"error: {outcome.error}", err=True)
                continue
            assert outcome.report is not None
            reports.append(outcome.report.to_dict())
            typer.echo(outcome.report.summary())
            if details:
                for line in outcome.report.details():
                    typer.echo(line)
    from digitalcity.tiles.prepare import prepare_city

    for city_id in cities:  # the loader, not the API, builds the tiles' EPSG:3857 copies
        if settings.tile_copies:
            ready = prepare_city(engine, catalog, city_id)
            typer.echo(f"{city_id}: tile copies current for {ready} layers")
    if report_json:
        with open(report_json, "w", encoding="utf-8") as fh:
            json.dump(reports, fh, ensure_ascii=False, indent=1, default=str)
    if failures:
        raise typer.Exit(1)


@app.command("versions")
@one_line_errors
def versions(city: Annotated[str | None, typer.Argument()] = None) -> None:
    """List loaded layer versions (current and kept)."""
    from digitalcity.db.versions import list_versions

    engine = _ready_engine(_settings())
    with engine.connect() as conn:
        for v in list_versions(conn, city):
            state = "current" if v["is_current"] else ("dropped" if v["dropped"] else "kept")
            typer.echo(
                f"{v['city']}.{v['layer']} v{v['version']} {state} {v['rows_loaded']} rows "
                f"{v['loaded_at']:%Y-%m-%d %H:%M} {v['table_name']}"
            )


# -- serve --------------------------------------------------------------------------------------
@app.command("serve")
@one_line_errors
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    workers: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Serve the API and maps with uvicorn."""
    import uvicorn

    settings = _settings()
    _ready_engine(settings).dispose()
    if workers > 1:
        _share_metrics(settings)
    uvicorn.run(
        "digitalcity.api.main:app_factory",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers,
        log_level="info",
    )


def _share_metrics(settings: Settings) -> None:
    """Workers keep their metrics in files of one folder, so that any worker's ``/metrics``
    answers for all (``digitalcity.metrics``); emptied at each start. A folder already set in
    ``PROMETHEUS_MULTIPROC_DIR`` is the deployment's own and is left as it is."""
    from digitalcity.metrics import MULTIPROCESS_DIR

    if os.environ.get(MULTIPROCESS_DIR):
        return
    folder = settings.data_dir / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROCESS_DIR] = str(folder)


@app.command("demo")
@one_line_errors
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start the database, load every demo city (unchanged layers are skipped) and serve."""
    load(city="all", layers=None, force=False, details=False, report_json=None)
    if serve_after:
        settings = _settings()
        base = f"http://{settings.api_host}:{port or settings.api_port}"
        typer.echo(f"serving on {base}")
        typer.echo(f"  planner map  {base}/map      public map  {base}/public")
        typer.echo(f"  geo API      {base}/?f=html  OpenAPI     {base}/api.html")
        serve(host=None, port=port, workers=1)


def main() -> None:  # pragma: no cover - console entry for `python -m digitalcity`
    sys.exit(app())


# -- keys ---------------------------------------------------------------------------------------
keys_app = typer.Typer(help="API keys (stored hashed).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
@one_line_errors
def keys_create(
    role: Annotated[str, typer.Option(help="planner | land_bureau | admin")],
    name: Annotated[str, typer.Option(help="who or what the key is for")] = "",
) -> None:
    """Create a key and print it once (it cannot be shown again)."""
    from digitalcity.db.keys import create_key

    new = create_key(_ready_engine(_settings()), role, name)
    typer.echo(new.key)
    typer.echo(f"key {new.id} for role {new.role}: store it now, it is not kept", err=True)


@keys_app.command("list")
@one_line_errors
def keys_list() -> None:
    """List keys (prefix, role, name, state); never the keys themselves."""
    from digitalcity.db.keys import list_keys

    for k in list_keys(_ready_engine(_settings())):
        state = "revoked" if k["revoked_at"] else "active"
        typer.echo(f"{k['id']}\t{k['prefix']}…\t{k['role']}\t{state}\t{k['name']}")


@keys_app.command("revoke")
@one_line_errors
def keys_revoke(key_id: int) -> None:
    """Revoke a key by id."""
    from digitalcity.db.keys import revoke_key

    if not revoke_key(_ready_engine(_settings()), key_id):
        raise DigitalCityError(f"no active key with id {key_id}")
    typer.echo(f"revoked key {key_id}")


from digitalcity.cli_attach import attach  # noqa: E402
from digitalcity.cli_export import export  # noqa: E402
from digitalcity.cli_history import changes, revert  # noqa: E402
from digitalcity.cli_quality import quality  # noqa: E402
from digitalcity.cli_tiles import tiles_app  # noqa: E402

app.add_typer(tiles_app, name="tiles")
app.command("export")(export)
app.command("revert")(revert)
app.command("changes")(changes)
app.command("quality")(quality)
app.command("attach")(attach)

from digitalcity.cli_city import init_city  # noqa: E402

app.command("init-city")(one_line_errors(init_city))
