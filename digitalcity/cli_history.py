"""``digitalcity revert <city> <layer> <changeset>``: undo one change set of a layer (a load,
an edit or a revert) as a new change set, refused when a later change touched its features."""

from __future__ import annotations

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
