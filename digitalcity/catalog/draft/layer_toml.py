"""One drafted layer's TOML: what ``init-city`` read off a source (``LayerDraft``) written
as a layer definition, with what it drafts from it: kind, title, access, tile detail and
simplification, names, labels and search, classification, and the fields."""

from __future__ import annotations

import json
from pathlib import Path

import pyproj

from digitalcity.catalog.draft.density import detail_zoom, suggested_min_zoom
from digitalcity.catalog.draft.drafts import LayerDraft, field_name
from digitalcity.catalog.draft.glossary import english
from digitalcity.catalog.draft.naming import (
    Naming,
    about_people,
    density_field,
    layer_kind,
    naming,
    unit_of,
)
from digitalcity.catalog.draft.semantics import semantics_of
from digitalcity.catalog.draft.standards import Standard
from digitalcity.crs.datums import unknown_datum_shift
from digitalcity.romanise import romanise


def toml_text(text: str) -> str:
    """``text`` as a TOML basic string (JSON's escapes are TOML's), UTF-8 kept."""
    return json.dumps(text, ensure_ascii=False)


_s = toml_text


def layer_toml(
    layer: LayerDraft, city_id: str, storage: str, standard: Standard | None = None
) -> str:
    """The TOML drafted for ``layer`` of ``city_id`` (``storage``: the city's storage CRS;
    ``standard``: the shared code table a code column follows, ``draft.standards``)."""
    shift = _datum_note(layer, storage)
    names = _naming(layer)
    meanings = _meanings(layer, names, standard)
    lines = [
        f"# Drafted by `digitalcity init-city` from {layer.path}: edit titles, kind, access.",
        f"id = {_s(layer.id)}",
        _title(layer),
        f"kind = {_s(layer_kind(layer))}  # read off its name: landuse | planning | infrastructure "
        "| population | boundary | basemap",
        f"geometry_type = {_s(layer.geometry_type)}",
        'access = "internal"  # staff only until opened: public (the citizens\' map too) | '
        "internal | restricted",
        *_detail_lines(layer),
        *_name_lines(names, meanings.get("parcel_id")),
        *_theme_lines(layer, standard),
        "",
        "[source]",
        f"path = {_s(layer.path)}",
        *([f"member = {_s(layer.member)}"] if layer.member else []),
        *([f"# {shift}"] if shift else []),
        f"crs = {_s(layer.crs)}"
        + (
            "  # guessed from the coordinates: the file declares no CRS"
            if layer.crs_guessed
            else ""
        ),
    ]
    if layer.band is not None:
        lines.append(f"band = {layer.band}  # read as one square per cell that holds a value")
        if layer.bands > 1:
            lines.append(
                f"# the file holds {layer.bands} bands: a copy of this layer reads another"
            )
    if layer.layer is not None:
        lines.append(f"layer = {_s(layer.layer)}")
    if layer.x and layer.y:
        exchanged = "  # the eastings, as the coordinates tell" if layer.xy_exchanged else ""
        lines += [f"x = {_s(layer.x)}{exchanged}", f"y = {_s(layer.y)}"]
    if layer.wkt:
        lines.append(f"wkt = {_s(layer.wkt)}")
    if layer.xy:
        lines.append(f"xy = {_s(layer.xy)}")
        if layer.xy_order == "yx":
            lines.append('xy_order = "yx"  # latitude first, as the coordinates tell')
    if layer.encoding is not None:
        lines.append(f"encoding = {_s(layer.encoding)}  # guessed from the text")
    if layer.id_field:
        lines.append(f"id_field = {_s(layer.id_field)}")
    if layer.id_from_text:
        lines.append("id_from_text = true  # text codes: the ids are derived from them")
    lines += _semantics_lines(meanings)
    lines += _label_lines(layer, names)
    lines += _simplify_lines(layer)
    lines += _classification_lines(layer, standard)
    lines += _graduated_lines(layer, standard)
    for column in layer.code_columns:
        if standard is not None and standard.column == column and standard.system:
            continue
        system = f"{city_id}_{layer.id}_{field_name(column)}"
        lines += [
            "",
            f"# candidate code column {column!r}: stub table codes/{system}.csv; to classify:",
            f"# [classification]\n# field = {_s(field_name(column))}\n# system = {_s(system)}",
        ]
    for name, column, kind in layer.fields:
        lines += [
            "",
            "[[fields]]",
            f"name = {_s(name)}",
            f"type = {_s(kind)}",
            f"source = {_s(column)}",
            _field_title(layer, name, column),
            *(
                ["access = \"internal\"  # a person's name or contact, or staff's: never public"]
                if about_people(column)
                else []
            ),
            (
                f"unit = {_s(unit)}  # as its name writes it"
                if (unit := unit_of(column, kind) or unit_of(name, kind))
                else '# unit = "m"  # see catalog/units.py for the known units'
            ),
        ]
    return "\n".join(lines) + "\n"


def _detail_lines(layer: LayerDraft) -> list[str]:
    """``detail_zoom`` for a layer with fields whose tiles would be crowded, and a
    ``min_zoom`` suggested (a comment) for one crowded at its first zoom (``density``)."""
    counts = layer.densest_tiles
    lines = []
    if (first := suggested_min_zoom(counts)) is not None:
        lines += [
            f"# the densest z{min(counts)} tile holds {counts[min(counts)]:,} features, the "
            f"densest z{first} tile {counts[first]:,}: to keep low zooms light,",
            f"# min_zoom = {first}",
        ]
    zoom = detail_zoom(counts) if layer.fields else None
    if zoom is not None:
        lines += [
            f"# the densest z{zoom - 1} tile holds {counts[zoom - 1]:,} features: below "
            f"z{zoom} tiles leave out the fields the map does not draw (cards read them from "
            "the API)",
            f"detail_zoom = {zoom}",
        ]
    return lines


# the public map's theme of a layer classified by a shared table, by its kind
_THEMES = {"landuse": "landuse", "planning": "zoning"}


def _theme_lines(layer: LayerDraft, standard: Standard | None) -> list[str]:
    """A classified land-use or planning layer is a theme of the public map (shown one at a
    time, coloured by its classes); so is an area layer coloured by its density."""
    theme = _THEMES.get(layer_kind(layer)) if standard and standard.system else None
    if theme is None and _graduated(layer, standard) is not None:
        theme = "population"
    return [f"theme = {_s(theme)}  # the public map's {theme} theme, once opened"] if theme else []


# a sequential ramp (light to dark: low to high), its colours picked evenly per class count
_RAMP = ("#ffffcc", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")


def _graduated(layer: LayerDraft, standard: Standard | None) -> tuple[str, str] | None:
    """The density field (field, column) an unclassified area layer is coloured by."""
    if (standard and standard.system) or "Polygon" not in layer.geometry_type:
        return None
    if layer.band is not None:  # a grid's cells: equal areas, so their values map as is
        found: tuple[str, str] | None = (layer.fields[0][0], layer.fields[0][1])
    else:
        found = density_field(layer.fields)
    return found if found and layer.breaks.get(found[1]) else None


def _graduated_lines(layer: LayerDraft, standard: Standard | None) -> list[str]:
    """``[style.graduated]``: an area layer with a density column coloured by its quintiles
    (as many features in each class), on a light-to-dark ramp."""
    found = _graduated(layer, standard)
    if found is None:
        return []
    field, column = found
    breaks = layer.breaks[column]
    n = len(breaks)
    colours = [_RAMP[round(i * (len(_RAMP) - 1) / n)] for i in range(n + 1)]
    grid = [
        "",
        "[style]  # cells: no outlines, which would hide the colours",
        "outline_width = 0.0",
    ]
    return [
        *(grid if layer.band is not None else []),
        "",
        f"[style.graduated]  # {column!r} in {n + 1} classes of about as many features each",
        f"field = {_s(field)}",
        f"breaks = [{', '.join(f'{b:g}' for b in breaks)}]",
        f"colours = [{', '.join(_s(c) for c in colours)}]",
    ]


def _classification_lines(layer: LayerDraft, standard: Standard | None) -> list[str]:
    """The layer's ``[classification]`` by a shared code table its codes follow; when they
    fit several tables that give them different meanings, the candidates in a comment."""
    if standard is None:
        return []
    field = next(name for name, column, _ in layer.fields if column == standard.column)
    rule = r'{ match = "(.+)K", to = "\\1" }'  # TOML's "\\1" is \1: the class without K
    if standard.system is None:
        return [
            "",
            f"# the codes of {standard.column!r} are those of "
            f"{' and '.join(standard.candidates)}, which mean different classes by them: "
            "classify by the one the data follows",
            f"# [classification]\n# field = {_s(field)}\n# system = {_s(standard.candidates[0])}",
            *([f"# normalise = [{rule}]"] if standard.adjustable else []),
        ]
    others = [s for s in standard.candidates if s != standard.system]
    return [
        "",
        f"[classification]  # {standard.share:.0%} of the rows' codes are {standard.system}'s"
        + (f" (and {', '.join(others)}'s: the names beside them are {standard.system}'s)"
           if others else ""),
        f"field = {_s(field)}",
        f"system = {_s(standard.system)}",
        *([f"normalise = [{rule}]  # 0101K (三调: adjustable) is class 0101"]
          if standard.adjustable else []),
    ]  # fmt: skip


def _meanings(layer: LayerDraft, names: Naming, standard: Standard | None) -> dict[str, str]:
    """What the fields mean to analyses and cards (``draft.semantics``)."""
    classified = None
    if standard is not None and standard.system:
        classified = next(n for n, column, _ in layer.fields if column == standard.column)
    return semantics_of(layer.fields, layer_kind(layer), names, classified)


def _semantics_lines(meanings: dict[str, str]) -> list[str]:
    """``[semantics]``, when the fields' names say what some of them mean."""
    if not meanings:
        return []
    return [
        "",
        "[semantics]  # what the fields mean to analyses and cards, read off their names",
        *(f"{meaning} = {_s(field)}" for meaning, field in meanings.items()),
    ]


# a grid's one field (``draft.rasters``): its residents, or its value
_GRID_TITLES = {"population": ("人口", "Population"), "value": ("值", "Value")}


def _field_title(layer: LayerDraft, name: str, column: str) -> str:
    """A field's title: its column's name, in English by the glossary; a grid's field by
    what it holds."""
    if layer.band is not None and name in _GRID_TITLES:
        zh, en = _GRID_TITLES[name]
    else:
        zh, en = column, english(column) or column
    return f"title = {{ zh = {_s(zh)}, en = {_s(en)} }}"


def _title(layer: LayerDraft) -> str:
    """The layer's name as its source writes it; in English, Chinese by the glossary
    (``glossary.english``), else in pinyin."""
    written = layer.layer or Path(layer.member or layer.path).stem
    en = english(written) or romanise(written) or layer.id
    return f"title = {{ zh = {_s(written)}, en = {_s(en)} }}"


def _naming(layer: LayerDraft) -> Naming:
    text_id = next(
        (
            name
            for name, column, _ in layer.fields
            if column == layer.id_field and layer.id_from_text
        ),
        None,
    )
    return naming(layer.fields, layer.geometry_type, text_id, layer.densest_tiles)


def _name_lines(names: Naming, parcel_id: str | None) -> list[str]:
    """``label_field`` and ``search_fields``, from the columns named as names and addresses
    (and a parcel's id, searched too)."""
    lines = []
    if names.label_field:
        lines.append(f"label_field = {_s(names.label_field)}  # titles cards and search hits")
    searched = tuple(dict.fromkeys((*names.search_fields, *([parcel_id] if parcel_id else []))))
    if searched:
        fields = ", ".join(_s(f) for f in searched)
        lines.append(f"search_fields = [{fields}]  # searched by the maps' search box")
    return lines


def _label_lines(layer: LayerDraft, names: Naming) -> list[str]:
    """A map label from the name column, from the zoom its densest tile is light enough."""
    if names.name is None:
        return []
    line = "LineString" in layer.geometry_type
    return [
        "",
        f"[label]  # drawn from z{names.label_min_zoom}: its densest tile holds "
        f"{layer.densest_tiles.get(names.label_min_zoom, 0):,} features",
        f"field = {_s(names.name)}",
        f"min_zoom = {names.label_min_zoom}",
        f'placement = "{"line" if line else "point"}"',
    ]


# the finest zoom a drafted line or polygon layer keeps pre-simplified geometry for: the
# 48,600 buildings, 24,000 land-use polygons and 246,900 roads of the SYNTHETIC OSM-like set
# (bench/common/osmlike.py), drafted: the largest z10 / z11 / z12 tile around its centre
# 6.07 / 5.30 / 2.65 MB gzipped without, 2.79 / 2.57 / 1.62 MB with, rendered in 0.67-1.0x
# the time; simplified up to z13-z14 too, those tiles were 13-20 % smaller but slower
SIMPLIFIED_UP_TO = 12


def _simplify_lines(layer: LayerDraft) -> list[str]:
    """Tiles up to ``SIMPLIFIED_UP_TO`` simplified by half a screen pixel, for lines and
    polygons (``tiles.content.tolerance``: ``tolerance_m`` 0 keeps that least); not for a
    grid's square cells, which have nothing to simplify."""
    shapes = "LineString" in layer.geometry_type or "Polygon" in layer.geometry_type
    if not shapes or layer.band is not None:
        return []
    return [
        "",
        f"[[simplify]]  # tiles up to z{SIMPLIFIED_UP_TO}: shapes simplified by half a pixel",
        f"max_zoom = {SIMPLIFIED_UP_TO}",
        "tolerance_m = 0.0  # at least half a screen pixel at each zoom; raise it in metres",
    ]


def _datum_note(layer: LayerDraft, storage: str) -> str | None:
    """The load's warning, drafted ahead, when PROJ knows no transformation from the layer's
    datum to the storage CRS's (Beijing 1954, Xian 1980)."""
    if layer.crs in ("GCJ-02", "BD-09"):
        return None
    try:
        source = pyproj.CRS.from_user_input(layer.crs)
    except pyproj.exceptions.CRSError:
        return None
    return unknown_datum_shift(source, pyproj.CRS.from_user_input(storage), layer.bounds_lonlat)
