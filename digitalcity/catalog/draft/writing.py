"""The drafted definitions written out: ``city.toml`` (extent, storage and suggested local
CRS, the roles suggested), one layer TOML per draft (``layer_toml``) and a code-table stub
CSV per candidate code column (none for a column a shared table classifies)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyproj

from digitalcity.catalog.codes import CODE_COLUMNS
from digitalcity.catalog.draft.drafts import CityDraft, field_name
from digitalcity.catalog.draft.folder import read_folder
from digitalcity.catalog.draft.layer_toml import layer_toml
from digitalcity.catalog.draft.layer_toml import toml_text as _s
from digitalcity.catalog.draft.roles import suggested_roles
from digitalcity.catalog.draft.standards import shared_tables, standard_for
from digitalcity.crs.chinese import in_china_box
from digitalcity.crs.zones import local_gk_crs_for
from digitalcity.errors import CatalogError


def suggest_local_crs(lon: float, lat: float) -> str:
    """A projected metric CRS for a place (degrees): CGCS2000 3-degree Gauss–Krüger zone in
    China, else the WGS 84 UTM zone; checked to be projected."""
    if bool(np.asarray(in_china_box(lon, lat)).item()):
        code = local_gk_crs_for(lon)
    else:
        code = (32600 if lat >= 0 else 32700) + int((lon + 180) // 6) + 1
    crs = f"EPSG:{code}"
    if not pyproj.CRS.from_user_input(crs).is_projected:
        raise CatalogError(f"suggested local CRS {crs} is not projected")
    return crs


def _extent(draft: CityDraft) -> tuple[float, float, float, float]:
    """The lon/lat box of every drafted layer."""
    return (
        min(x.bounds_lonlat[0] for x in draft.layers),
        min(x.bounds_lonlat[1] for x in draft.layers),
        max(x.bounds_lonlat[2] for x in draft.layers),
        max(x.bounds_lonlat[3] for x in draft.layers),
    )


def _storage_crs(draft: CityDraft) -> str:
    """CGCS2000 for a city in China, WGS 84 elsewhere (lon/lat)."""
    west, south, east, north = _extent(draft)
    china = bool(np.asarray(in_china_box((west + east) / 2, (south + north) / 2)).item())
    return "EPSG:4490" if china else "EPSG:4326"


def _city_toml(city_id: str, draft: CityDraft, folder: Path) -> str:
    west, south, east, north = _extent(draft)
    lon, lat = (west + east) / 2, (south + north) / 2
    margin = 0.05
    lines = [
        "# Drafted by `digitalcity init-city`: edit the titles and [roles], then check-layers.",
        *(f"# skipped {note}" for note in draft.skipped),
        f"title = {{ zh = {_s(city_id)}, en = {_s(city_id)} }}",
        f"storage_crs = {_s(_storage_crs(draft))}",
        f'local_crs = "{suggest_local_crs(lon, lat)}"  # suggested from the data\'s location',
        f"source_dir = {_s(str(folder.resolve()))}",
        f"center = [{lon:.4f}, {lat:.4f}]",
        f"bbox = [{west - margin:.4f}, {south - margin:.4f}, {east + margin:.4f}, "
        f"{north + margin:.4f}]",
        "",
        "[roles]  # see README 'Roles': which layer plays which part in analyses",
    ]
    suggested = suggested_roles(draft.layers)
    if suggested:
        lines.append("# suggested from the layers' names, kinds and geometry: check, uncomment")
        lines += [f"# {line}" for line in suggested]
    return "\n".join(lines) + "\n"


def _code_stub(path: Path, counts: dict[str, int]) -> None:
    """A code table with every distinct value as a level-1 code named after itself."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CODE_COLUMNS)
        for code in sorted(counts):
            writer.writerow([code, "1", "", code, code, "", ""])


def write_draft(city_id: str, folder: Path, layers_dir: Path) -> list[Path]:
    """Write the drafted definitions to ``layers_dir/<city_id>/``; returns the files written.

    Refuses to overwrite an existing city folder.
    """
    target = layers_dir / city_id
    if target.exists():
        raise CatalogError(f"{target} already exists; remove it or pick another city id")
    draft = read_folder(folder)
    target.mkdir(parents=True)
    written = [target / "city.toml"]
    written[0].write_text(_city_toml(city_id, draft, folder), encoding="utf-8")
    tables = shared_tables(layers_dir)
    for layer in draft.layers:
        path = target / f"{layer.id}.toml"
        standard = standard_for(layer.code_columns, tables)
        text = layer_toml(layer, city_id, _storage_crs(draft), standard)
        path.write_text(text, encoding="utf-8")
        written.append(path)
        for column, counts in layer.code_columns.items():
            if standard is not None and standard.column == column and standard.system:
                continue  # classified by the shared table
            stub = target / "codes" / f"{city_id}_{layer.id}_{field_name(column)}.csv"
            _code_stub(stub, counts)
            written.append(stub)
    return written
