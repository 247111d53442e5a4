"""``digitalcity quality <city> <layer>``: a layer's data quality check (overlaps, gaps,
duplicates, invalid shapes, lines that stop short, unknown codes) from the command line, its
faults counted by check and listed, optionally written as GeoJSON (lon/lat) for desktop GIS."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from digitalcity.errors import DigitalCityError

SHOWN = 20  # faults listed per check


def quality(
    city: Annotated[str, typer.Argument(help="city id")],
    layer: Annotated[str, typer.Argument(help="layer id")],
    check: Annotated[
        list[str] | None, typer.Option(help="a check (repeat for more; default: every one)")
    ] = None,
    min_area_m2: Annotated[float, typer.Option(help="smallest overlap or gap, m²")] = 0.1,
    max_gap_m2: Annotated[float, typer.Option(help="largest gap, m²")] = 100.0,
    tolerance_m: Annotated[float, typer.Option(help="duplicate points, undershoots, m")] = 1.0,
    out: Annotated[Path | None, typer.Option(help="write every fault to this GeoJSON file")] = None,
    fail: Annotated[bool, typer.Option(help="exit with status 3 when a fault is found")] = False,
) -> None:
    """Check a layer's data quality (as the land bureau)."""
    from digitalcity.analysis.quality import data_quality
    from digitalcity.catalog import load_catalog
    from digitalcity.city import City
    from digitalcity.cli import _ready_engine, _settings

    try:
        settings = _settings()
        catalog = load_catalog(settings.layers_dir)
        place = City(catalog, catalog.city(city), _ready_engine(settings), "land_bureau")
        result = data_quality(
            place, layer, checks=check, min_area_m2=min_area_m2, max_gap_m2=max_gap_m2,
            tolerance_m=tolerance_m,
        )  # fmt: skip
    except DigitalCityError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    summary, frame = result.summary, result.frame
    typer.echo(f"{city}.{layer}: {summary['features']:,} features, {summary['faults']:,} faults")
    for name, count in summary["by_check"].items():
        area = f"  {summary[f'{name}_m2']:,.1f} m²" if name in ("overlap", "gap") else ""
        typer.echo(f"  {name:<13}{count:>7,}{area}")
        for row in frame[frame["check"] == name].head(SHOWN).itertuples():
            typer.echo(f"      {_line(row)}")
        if count > SHOWN:
            typer.echo(f"      … {count - SHOWN:,} more")
    if out is not None:
        frame.to_crs(4326).to_file(out, driver="GeoJSON")
        typer.echo(f"written: {out}")
    if fail and summary["faults"]:
        raise typer.Exit(3)


def _line(row: Any) -> str:
    """One fault (a row of the result's frame) in a line: the feature(s), the measure, the
    detail."""

    def known(value: Any) -> bool:
        return value is not None and value == value  # not null, not NaN

    def name(fid: Any, label: Any) -> str:
        return f"{fid} {label}" if isinstance(label, str) and label else str(fid)

    parts = [name(row.fid, row.label)] if known(row.fid) else []
    if known(row.other_fid):
        parts.append(f"& {name(row.other_fid, row.other_label)}")
    if known(row.measure):
        parts.append(f"{row.measure:,.2f} {row.unit}")
    if isinstance(row.detail, str) and row.detail:
        parts.append(row.detail)
    return "  ".join(parts)
