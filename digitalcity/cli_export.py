"""``digitalcity export <city> <layer> -f gpkg -o FILE``: a layer (or part of it) to a file,
with the same rules and options as the API's ``f=gpkg|shp|fgb|kml`` items."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from starlette.datastructures import QueryParams

from digitalcity.errors import DigitalCityError


def export(
    city: Annotated[str, typer.Argument(help="city id, e.g. cambridge")],
    layer: Annotated[str, typer.Argument(help="layer id, e.g. parcels")],
    output: Annotated[Path, typer.Option("-o", "--output", help="file to write")],
    fmt: Annotated[
        str, typer.Option("-f", "--format", help="gpkg, shp (zip), fgb or kml")
    ] = "gpkg",
    bbox: Annotated[
        str | None, typer.Option(help="minx,miny,maxx,maxy (lon/lat unless --bbox-crs)")
    ] = None,
    bbox_crs: Annotated[str | None, typer.Option("--bbox-crs")] = None,
    filter_text: Annotated[str | None, typer.Option("--filter", help="CQL2 text")] = None,
    crs: Annotated[str | None, typer.Option(help="output CRS URI or EPSG:n")] = None,
    properties: Annotated[str | None, typer.Option(help="comma-separated fields")] = None,
    encoding: Annotated[str, typer.Option(help="shapefile encoding: UTF-8 or GBK")] = "UTF-8",
    role: Annotated[str, typer.Option(help="whose view of the layer")] = "admin",
    attachments: Annotated[
        bool, typer.Option("--attachments", help="GeoPackage: the files kept with the features")
    ] = False,
) -> None:
    """Export a layer to a GeoPackage, zipped Shapefile, FlatGeobuf or KML file."""
    from dataclasses import replace

    from digitalcity.api.exports import ALL_ROWS
    from digitalcity.api.params import items_query
    from digitalcity.catalog import load_catalog
    from digitalcity.catalog.access import ROLES
    from digitalcity.cli import _ready_engine, _settings
    from digitalcity.exports import export_items

    try:
        if role not in ROLES:
            raise DigitalCityError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        settings = _settings()
        catalog = load_catalog(settings.layers_dir)
        definition = catalog.layer(city, layer)
        raw = {
            "bbox": bbox,
            "bbox-crs": bbox_crs,
            "filter": filter_text,
            "crs": crs,
            "properties": properties,
        }
        params = QueryParams({k: v for k, v in raw.items() if v is not None})
        query = items_query(params, definition, catalog.city(city), role, settings)  # type: ignore[arg-type]
        query = replace(query, limit=ALL_ROWS)
        rows = export_items(
            _ready_engine(settings),
            query,
            fmt,
            output.resolve(),
            layer_name=f"{city}__{layer}",
            encoding=encoding,
            attachments=attachments,
        )
    except DigitalCityError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{rows} features written to {output}")
