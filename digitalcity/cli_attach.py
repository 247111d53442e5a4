"""``digitalcity attach <city> <layer> <folder> --by <field>``: a folder of files (a field
survey's photos, scanned deeds) kept with the features they are named after. A file whose name
without its extension is a feature's value of ``--by`` (``H-1234.jpg``), or that value before
a ``_`` or a space (``H-1234_front.jpg``, ``H-1234 2026.pdf``), goes with that feature. Every
file is reported: kept, named after no feature, after several, or refused (its kind, its
size)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digitalcity.errors import DigitalCityError


def match(stem: str, values: dict[str, list[int]]) -> list[int]:
    """The features a file named ``stem`` (no extension) is for: by the whole name, else by
    the part before its first ``_``, else before its first space."""
    for key in (stem, stem.split("_", 1)[0], stem.split(" ", 1)[0]):
        if key in values:
            return values[key]
    return []


def attach(
    city: Annotated[str, typer.Argument(help="city id")],
    layer: Annotated[str, typer.Argument(help="layer id")],
    folder: Annotated[
        Path, typer.Argument(help="the folder of files", exists=True, file_okay=False)
    ],
    by: Annotated[str, typer.Option(help="the field whose values name the files")],
    dry_run: Annotated[bool, typer.Option(help="report the matches, keep nothing")] = False,
    fail: Annotated[bool, typer.Option(help="exit with status 3 when a file is not kept")] = False,
) -> None:
    """Keep a folder of files with the features they are named after (as the land bureau)."""
    from digitalcity.catalog import load_catalog
    from digitalcity.city import City
    from digitalcity.cli import _ready_engine, _settings
    from digitalcity.editing.attachments import features_by_value, media_type_of

    try:
        settings = _settings()
        catalog = load_catalog(settings.layers_dir)
        place = City(catalog, catalog.city(city), _ready_engine(settings), "land_bureau")
        definition = place.layer(layer)
        if by not in {f.name for f in definition.all_fields}:
            raise DigitalCityError(f"{layer} has no field {by!r}")
        with place.engine.connect() as conn:
            values = features_by_value(conn, definition, place.definition, by)
    except DigitalCityError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    counts = {"kept": 0, "no feature": 0, "several": 0, "refused": 0}
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        fids = match(path.stem, values)
        if len(fids) != 1:
            outcome = "no feature" if not fids else "several"
            detail = "" if not fids else f": {', '.join(map(str, fids[:10]))}"
            typer.echo(f"  {outcome:<11} {path.name}{detail}")
        elif dry_run:  # the kind told by the first bytes, as a keep would
            with path.open("rb") as file:
                kind = media_type_of(file.read(16))
            outcome = "kept" if kind else "refused"
            what = f"→ feature {fids[0]}" if kind else "(not a JPEG, PNG, WebP, GIF or PDF file)"
            typer.echo(f"  {'would keep' if kind else 'refused':<11} {path.name} {what}")
        else:
            try:
                kept = place.attach(layer, fids[0], path)
                outcome = "kept"
                typer.echo(f"  {'kept':<11} {path.name} → feature {fids[0]} (attachment {kept})")
            except DigitalCityError as exc:
                outcome = "refused"
                typer.echo(f"  {'refused':<11} {path.name}: {exc}")
        counts[outcome] += 1
    typer.echo(", ".join(f"{n} {what}" for what, n in counts.items()))
    if fail and counts["kept"] != sum(counts.values()):
        raise typer.Exit(3)
