"""The history from the command line: ``digitalcity revert <city> <layer> <changeset>`` undoes
one change set of a layer (a load, an edit or a revert) as a new change set, refused when a
later change touched its features; ``digitalcity changes <city>`` lists a city's recent
changes in words."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from digitalcity.errors import DigitalCityError


def revert(
    city: Annotated[str, typer.Argument(help="city id")],
    layer: Annotated[str, typer.Argument(help="layer id")],
    changeset: Annotated[int, typer.Argument(help="the change set to undo")],
    reason: Annotated[str, typer.Option(help="why (kept in the history)")] = "",
) -> None:
    """Revert a change set of a layer (as the admin)."""
    from digitalcity.catalog import load_catalog
    from digitalcity.cli import _ready_engine, _settings
    from digitalcity.history.changesets import Author
    from digitalcity.history.reads import revert_changeset

    try:
        settings = _settings()
        catalog = load_catalog(settings.layers_dir)
        definition = catalog.layer(city, layer)
        new = revert_changeset(
            _ready_engine(settings),
            definition,
            catalog.city(city),
            changeset,
            Author(role="admin", reason=reason or f"revert {changeset}"),
        )
    except DigitalCityError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"change set {changeset} reverted by change set {new}")


def changes(
    city: Annotated[str, typer.Argument(help="city id")],
    since: Annotated[
        str | None, typer.Option(help="RFC 3339 instant or date (default: 90 days ago)")
    ] = None,
    until: Annotated[str | None, typer.Option(help="RFC 3339 instant or date")] = None,
    layer: Annotated[
        list[str] | None, typer.Option(help="a layer id (repeat for more; default: all)")
    ] = None,
    lang: Annotated[str, typer.Option(help="zh or en")] = "zh",
    features: Annotated[int, typer.Option(help="features described per change set")] = 5,
) -> None:
    """List a city's recent changes in words, newest first, with who and why (as the admin)."""
    from digitalcity.catalog import load_catalog
    from digitalcity.catalog.codes import code_tables
    from digitalcity.cli import _ready_engine, _settings
    from digitalcity.history.atom import feature_line, summary, word
    from digitalcity.history.feed import DEFAULT_DAYS, FeedQuery, every_change

    if lang not in ("zh", "en"):
        typer.echo("error: lang must be zh or en", err=True)
        raise typer.Exit(1)
    try:
        settings = _settings()
        catalog = load_catalog(settings.layers_dir)
        end = _instant(until) if until else dt.datetime.now(dt.UTC)
        start = _instant(since) if since else end - dt.timedelta(days=DEFAULT_DAYS)
        query = FeedQuery(start, end, limit=100, features=min(max(features, 0), 100), lang=lang)
        wanted = set(layer) if layer else None
        with _ready_engine(settings).connect() as conn:
            entries = every_change(
                conn,
                catalog,
                catalog.city(city),
                "admin",
                query,
                codes=code_tables(settings.layers_dir),
                loaded=lambda d: wanted is None or d.id in wanted,
            )
    except DigitalCityError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for entry in entries:
        shown = entry.get("reason") and entry["kind"] != "load"  # a load's reason is "load"
        who = f"  [{entry['role']}] {entry['reason']}" if shown else ""
        typer.echo(
            f"{entry['at'][:16].replace('T', ' ')}  #{entry['id']}  {summary(entry, lang)}{who}"
        )
        for feature in entry["features"]:
            typer.echo(f"    {feature_line(feature, lang)}")
        if entry["more"]:
            typer.echo(f"    {word('more', lang, n=entry['more'])}")


def _instant(text: str) -> dt.datetime:
    """An RFC 3339 instant or a date (its start, UTC); a bad one is a DigitalCityError."""
    from digitalcity.api.params import parse_as_of

    instant = parse_as_of(text)  # a QueryError (a DigitalCityError) when it is none
    assert instant is not None
    return instant
