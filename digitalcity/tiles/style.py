"""MapLibre style JSON (version 8) and legend of a city, from the same ``Symbol`` objects.

The style's source is the city tileset (``/tiles/<city>/{z}/{x}/{y}``, absolute URLs), whole
or read in parts (``selections``: one source per part); style layers reference only source
layers of that tileset. Labels are ``symbol`` layers from
each definition's ``[label]`` table. The style has no ``glyphs`` URL: MapLibre GL JS ≥ 5.11
then draws text with the browser's own fonts (``text-font`` is read as a CSS font-family
list), so Chinese and Latin labels render and no glyph request leaves the page.

Two clients: ``maplibre`` (the web maps) and ``qgis``. QGIS's converter (3.22+) ignores
``visibility: none``, so the ``qgis`` style leaves out the layers that are off by default
(each has its own style there); both write ``match`` labels as one-element arrays, the form
that converter turns into ``IN ('v')``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any, Literal

from digitalcity.catalog import CityDef
from digitalcity.catalog.cartography import ByZoom, LabelDef
from digitalcity.db.live import Versions
from digitalcity.tiles.content import label_points_layer, label_zooms
from digitalcity.tiles.metadata import TilesetInfo, attribution, bounds, zoom_range
from digitalcity.tiles.selections import Selection, selection_query, with_query
from digitalcity.tiles.symbology import OUTLINE, Symbol

Client = Literal["maplibre", "qgis"]
BACKGROUND = "#f7f6f2"
# CSS font families, best first: Noto CJK draws Chinese and Latin (Debian: fonts-noto-cjk).
FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "Noto Sans", "sans-serif"]
STYLE_NAMES = {"planner": {"zh": "规划工作图", "en": "Planner map"},
               "public": {"zh": "公众地图", "en": "Public map"}}  # fmt: skip
PASSES = ("fill", "line", "circle", "symbol")


def by_zoom(value: ByZoom) -> float | list[Any]:
    """A number, or ``["interpolate", ["linear"], ["zoom"], z1, v1, ...]`` for a by-zoom table."""
    if not isinstance(value, dict):
        return float(value)
    stops = sorted(value.items())
    if len(stops) == 1:
        return float(stops[0][1])
    return ["interpolate", ["linear"], ["zoom"], *[x for z, v in stops for x in (z, float(v))]]


def _common(symbol: Symbol, source: str, lang: str) -> dict[str, Any]:
    layer = symbol.layer
    return {
        "source": source,
        "source-layer": layer.id,
        "minzoom": layer.min_zoom,
        "maxzoom": min(layer.max_zoom + 1, 24),
        "layout": {"visibility": "visible" if symbol.visible else "none"},
        "metadata": {
            "digitalcity:layer": layer.id,
            "digitalcity:title": layer.title.get(lang),
            "digitalcity:kind": layer.kind,
            "digitalcity:theme": layer.theme,
        },
    }


def _line(
    symbol: Symbol, source: str, lang: str, suffix: str, width: float | list[Any]
) -> dict[str, Any]:
    paint: dict[str, Any] = {"line-color": symbol.colour, "line-width": width}
    if symbol.dash:
        paint["line-dasharray"] = list(symbol.dash)
    common = _common(symbol, source, lang)
    common["layout"].update({"line-join": "round", "line-cap": "round"})
    return {"id": f"{symbol.layer.id}-{suffix}", "type": "line", **common, "paint": paint}


def _text(label: LabelDef, lang: str) -> list[Any]:
    fields = label.field_for(lang)
    if len(fields) == 1:
        return ["get", fields[0]]
    return ["coalesce", *(["get", f] for f in fields)]


def label_layer(
    symbol: Symbol, source: str, lang: str, deepest: int | None = None
) -> dict[str, Any] | None:
    """The ``symbol`` layer drawing the layer's ``[label]``; None without one.

    A polygon layer with label points is labelled from them (once per polygon), unless the
    tiles stop (``deepest``: a PMTiles archive's last zoom) before its labels start: maps
    then enlarge the deepest tiles, which hold no label points, and label the polygons."""
    label = symbol.layer.label
    if label is None:
        return None
    common = _common(symbol, source, lang)
    zooms = label_zooms(symbol.layer)
    if zooms and (deepest is None or zooms[0] <= deepest):
        common["source-layer"] = label_points_layer(symbol.layer)
    common["minzoom"] = max(symbol.layer.min_zoom, label.min_zoom)
    common["maxzoom"] = min(symbol.layer.max_zoom, label.max_zoom) + 1
    line = label.placement == "line"
    common["layout"].update(
        {
            "text-field": _text(label, lang),
            "text-font": FONTS,
            "text-size": by_zoom(label.size),
            "symbol-placement": label.placement,
            "symbol-sort-key": 100 - label.priority,
            "text-max-width": 8,
            "text-padding": 2,
            **({"text-max-angle": 40} if line else _point_text(symbol)),
        }
    )
    paint = {
        "text-color": label.colour,
        "text-halo-color": label.halo,
        "text-halo-width": label.halo_width,
    }
    return {"id": f"{symbol.layer.id}-label", "type": "symbol", **common, "paint": paint}


# a point symbol's name sits beside its marker, on whichever side has room, never over it
# (a hospital's name centred on its circle hid the circle)
BESIDE = ["top", "bottom", "right", "left"]


def _point_text(symbol: Symbol) -> dict[str, Any]:
    """Where a point label sits: beside a point layer's circle (``text-variable-anchor``,
    the marker's radius plus a little, in ems), centred on a polygon's label point."""
    if symbol.geometry != "circle":
        return {"text-offset": [0, 0.0]}
    radius = symbol.radius
    largest = max(radius.values()) if isinstance(radius, dict) else radius
    return {
        "text-variable-anchor": BESIDE,
        "text-radial-offset": round(float(largest) / 12 + 0.3, 2),
        "text-justify": "auto",
    }


def style_layers(
    symbol: Symbol, source: str, lang: str, deepest: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The style layers of one symbol, grouped by drawing pass: fill, line, circle, symbol
    (``deepest``: see ``label_layer``)."""
    layer_id = symbol.layer.id
    out: dict[str, list[dict[str, Any]]] = {}
    if symbol.geometry == "circle":
        paint = {
            "circle-color": symbol.colour,
            "circle-radius": by_zoom(symbol.radius),
            "circle-stroke-color": "#ffffff",
            "circle-stroke-width": 1,
            "circle-opacity": symbol.opacity,
        }
        circle = {"id": f"{layer_id}-circle", "type": "circle", **_common(symbol, source, lang)}
        out["circle"] = [{**circle, "paint": paint}]
    elif symbol.geometry == "line" or symbol.outline_only:
        out["line"] = [_line(symbol, source, lang, "line", by_zoom(symbol.width))]
    else:
        fill = {
            "id": f"{layer_id}-fill",
            "type": "fill",
            **_common(symbol, source, lang),
            "paint": {"fill-color": symbol.colour, "fill-opacity": symbol.opacity},
        }
        width = symbol.width
        half = by_zoom(
            {z: v / 2 for z, v in width.items()} if isinstance(width, dict) else width / 2
        )
        outline = _line(symbol, source, lang, "outline", half)
        if symbol.field is not None:  # classified: a thin grey outline between classes
            outline["paint"]["line-color"] = OUTLINE
            outline["paint"]["line-width"] = 0.3
        if symbol.outline:
            outline["paint"]["line-color"] = symbol.outline
        if symbol.outline_width is not None:
            outline["paint"]["line-width"] = symbol.outline_width
        out["fill"], out["line"] = [fill], [outline]
        if symbol.outline_width == 0:
            # No outline (a grid's cells): no line layer to build, and no antialiasing, whose
            # soft edges overlap where cells touch and drew every cell's border at 70 %
            # opacity on Wuhan's 100 m grid, the seams the missing outline was to avoid.
            fill["paint"]["fill-antialias"] = False
            out["line"] = []
    label = label_layer(symbol, source, lang, deepest)
    if label is not None:
        out["symbol"] = [label]
    return out


def _qgis_classes(fill: dict[str, Any], symbol: Symbol) -> list[dict[str, Any]]:
    """A graduated fill as QGIS's converter (3.22) can read it: one layer per class, filtered
    by its limits, in the class's colour (it skips ``step`` and ``case`` colours and would
    draw the whole layer in its default blue). Other fills are left as they are."""
    graduated = symbol.layer.style.graduated
    if graduated is None:
        return [fill]
    value = ["get", graduated.field]
    out = []
    for n, (low, high, colour) in enumerate(graduated.classes()):
        tests = ([[">=", value, low]] if low is not None else []) + (
            [["<", value, high]] if high is not None else []
        )
        paint = {**fill["paint"], "fill-color": colour}
        out.append({**fill, "id": f"{fill['id']}-{n}", "filter": ["all", *tests], "paint": paint})
    return out


def _source(info: TilesetInfo, versions: Versions) -> dict[str, Any]:
    minzoom, maxzoom = zoom_range(info)
    return {
        "type": "vector",
        "tiles": [info.tiles_url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": list(bounds(info, versions)),
        "attribution": attribution(info.city, info.lang),
    }


def _sources(
    info: TilesetInfo, versions: Versions, selections: list[Selection] | None
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The style's sources, and the source of each layer: the city tileset as one source,
    or one source per selection (the first named like the city, the others after their
    layers), each reading its part of the tileset (``selections.selection_query``)."""
    city_id = info.city.id
    if not selections:
        return {city_id: _source(info, versions)}, defaultdict(lambda: city_id)
    sources: dict[str, dict[str, Any]] = {}
    source_of: dict[str, str] = {}
    for n, chosen in enumerate(selections):
        plans = [p for p in info.plans if p.layer.id in chosen]
        name = city_id if n == 0 else f"{city_id}:{'+'.join(p.layer.id for p in plans)}"
        part = replace(
            info, plans=plans, tiles_url=with_query(info.tiles_url, selection_query(plans, chosen))
        )
        sources[name] = _source(part, versions)
        source_of.update((p.layer.id, name) for p in plans)
    return sources, source_of


def style(
    name: str,
    info: TilesetInfo,
    symbols: list[Symbol],
    versions: Versions,
    client: Client = "maplibre",
    deepest: int | None = None,
    selections: list[Selection] | None = None,
) -> dict[str, Any]:
    """A MapLibre style (version 8) drawing ``symbols`` from the city tileset in ``info``.

    ``client="qgis"`` leaves out the layers that are off by default (QGIS ignores
    ``visibility``), so a QGIS project opens with the same layers as the web map.
    ``deepest``: the last zoom with tiles when it is not each layer's own (an archive).
    ``selections``: read the tileset in these parts, one source each (``selections.py``),
    instead of whole; every symbol's layer must be in one of them.
    """
    city: CityDef = info.city
    sources, source_of = _sources(info, versions, selections)
    passes: dict[str, list[dict[str, Any]]] = {p: [] for p in PASSES}
    for symbol in symbols:
        if client == "qgis" and not symbol.visible:
            continue
        source = source_of[symbol.layer.id]
        for group, layers in style_layers(symbol, source, info.lang, deepest).items():
            if client == "qgis" and group == "fill":
                layers = [x for layer in layers for x in _qgis_classes(layer, symbol)]
            passes[group].extend(layers)
    # labels: higher priority later in the style. MapLibre places labels from the top-most
    # layer down, so the last layer's labels win collisions (with the order reversed, six of
    # Cambridge's 13 neighbourhood names lost to street names at the planner map's first view)
    passes["symbol"].sort(key=lambda x: x["layout"]["symbol-sort-key"], reverse=True)
    centre = city.center or (0.0, 0.0)
    return {
        "version": 8,
        "name": f"{city.title.get(info.lang)} — {STYLE_NAMES[name][info.lang]}",
        "metadata": {
            "digitalcity:city": city.id,
            "digitalcity:style": name,
            "digitalcity:lang": info.lang,
            "digitalcity:client": client,
        },
        "center": [centre[0], centre[1]],
        "zoom": city.default_zoom,
        "sources": sources,
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}},
            *(layer for p in PASSES for layer in passes[p]),
        ],
    }


def _graduated_caption(symbol: Symbol, lang: str) -> dict[str, Any]:
    """A graduated layer's legend says what its classes measure: the field and its unit."""
    if symbol.layer.style.graduated is None or symbol.field is None:
        return {}
    field = symbol.layer.field(symbol.field)
    return {"field_title": field.title.get(lang), "unit": field.unit}


def legend(name: str, city: CityDef, symbols: list[Symbol], lang: str) -> dict[str, Any]:
    """The legend of a style: per layer, its title and coloured entries (same colours)."""
    return {
        "city": city.id,
        "style": name,
        "lang": lang,
        "layers": [
            {
                "id": s.layer.id,
                "title": s.layer.title.get(lang),
                "geometry": s.geometry,
                "field": s.field,
                "visible": s.visible,
                "theme": s.layer.theme,
                "kind": s.layer.kind,
                "opacity": s.opacity,
                **_graduated_caption(s, lang),
                "entries": [
                    {
                        "value": e.value,
                        "colour": e.colour,
                        "label": e.label,
                        "group": e.group,
                        **({"values": list(e.values)} if e.values else {}),
                    }
                    for e in s.entries
                ],
            }
            for s in symbols
        ],
    }
