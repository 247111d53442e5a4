"""MapLibre style JSON (version 8) and legend of a city, from the same ``Symbol`` objects.

The style's only source is the city tileset (``/tiles/<city>/{z}/{x}/{y}``, absolute URLs);
style layers reference only source layers of that tileset. No glyphs are served, so the
style has no text (symbol) layers: labels need a glyph endpoint first (see tiles/README.md).
"""

from __future__ import annotations

from typing import Any

from digitalcity.catalog import CityDef
from digitalcity.db.live import Versions
from digitalcity.tiles.metadata import TilesetInfo, attribution, bounds, zoom_range
from digitalcity.tiles.symbology import Symbol

BACKGROUND = "#f7f6f2"
OUTLINE = "#7f7f7f"
STYLE_NAMES = {"planner": {"zh": "规划工作图", "en": "Planner map"},
               "public": {"zh": "公众地图", "en": "Public map"}}  # fmt: skip


def _common(symbol: Symbol, source: str, lang: str) -> dict[str, Any]:
    layer = symbol.layer
    return {
        "source": source,
        "source-layer": layer.id,
        "minzoom": layer.min_zoom,
        "maxzoom": min(layer.max_zoom + 1, 24),
        "layout": {"visibility": "visible" if symbol.visible else "none"},
        "metadata": {"digitalcity:layer": layer.id, "digitalcity:title": layer.title.get(lang)},
    }


def _line(symbol: Symbol, source: str, lang: str, suffix: str, width: float) -> dict[str, Any]:
    paint: dict[str, Any] = {"line-color": symbol.colour, "line-width": width}
    if symbol.dash:
        paint["line-dasharray"] = [3, 2]
    common = _common(symbol, source, lang)
    common["layout"].update({"line-join": "round", "line-cap": "round"})
    return {"id": f"{symbol.layer.id}-{suffix}", "type": "line", **common, "paint": paint}


def style_layers(symbol: Symbol, source: str, lang: str) -> dict[str, list[dict[str, Any]]]:
    """The style layers of one symbol, grouped by drawing pass: fill, line, circle."""
    layer_id = symbol.layer.id
    if symbol.geometry == "circle":
        paint = {
            "circle-color": symbol.colour,
            "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 2.5, 18, 7],
            "circle-stroke-color": "#ffffff",
            "circle-stroke-width": 1,
        }
        circle = {"id": f"{layer_id}-circle", "type": "circle", **_common(symbol, source, lang)}
        return {"circle": [{**circle, "paint": paint}]}
    if symbol.geometry == "line" or symbol.outline_only:
        return {"line": [_line(symbol, source, lang, "line", symbol.width)]}
    fill = {
        "id": f"{layer_id}-fill",
        "type": "fill",
        **_common(symbol, source, lang),
        "paint": {"fill-color": symbol.colour, "fill-opacity": symbol.opacity},
    }
    outline = _line(symbol, source, lang, "outline", symbol.width * 0.5)
    if symbol.layer.kind == "landuse":
        outline["paint"]["line-color"] = OUTLINE
        outline["paint"]["line-width"] = 0.3
    return {"fill": [fill], "line": [outline]}


def style(
    name: str, info: TilesetInfo, symbols: list[Symbol], versions: Versions
) -> dict[str, Any]:
    """A MapLibre style (version 8) drawing ``symbols`` from the city tileset in ``info``."""
    city: CityDef = info.city
    minzoom, maxzoom = zoom_range(info)
    passes: dict[str, list[dict[str, Any]]] = {"fill": [], "line": [], "circle": []}
    for symbol in symbols:
        for group, layers in style_layers(symbol, city.id, info.lang).items():
            passes[group].extend(layers)
    centre = city.center or (0.0, 0.0)
    return {
        "version": 8,
        "name": f"{city.title.get(info.lang)} — {STYLE_NAMES[name][info.lang]}",
        "metadata": {
            "digitalcity:city": city.id,
            "digitalcity:style": name,
            "digitalcity:lang": info.lang,
        },
        "center": [centre[0], centre[1]],
        "zoom": city.default_zoom,
        "sources": {
            city.id: {
                "type": "vector",
                "tiles": [info.tiles_url],
                "minzoom": minzoom,
                "maxzoom": maxzoom,
                "bounds": list(bounds(info, versions)),
                "attribution": attribution(city, info.lang),
            }
        },
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}},
            *passes["fill"],
            *passes["line"],
            *passes["circle"],
        ],
    }


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
                "entries": [
                    {"value": e.value, "colour": e.colour, "label": e.label, "group": e.group}
                    for e in s.entries
                ],
            }
            for s in symbols
        ],
    }
