"""``digitalcity init-city``: draft a new city's definitions from a folder of source files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digitalcity.config import settings_from_environment


def init_city(
    city: Annotated[str, typer.Argument(help="new city id (folder name under layers/)")],
    folder: Annotated[Path, typer.Argument(help="folder holding the city's source files")],
) -> None:
    """Draft city.toml, one layer TOML per vector file and code-table stubs; then edit titles
    and roles and run check-layers."""
    from digitalcity.catalog.draft import write_draft

    written = write_draft(city, folder, settings_from_environment().layers_dir)
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(
        "next: check the drafted titles, kinds and labels, open to citizens the layers they may "
        "see (access = \"public\"), uncomment the [roles] suggested in city.toml, then "
        "`digitalcity check-layers`"
    )
