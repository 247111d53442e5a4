"""folium maps of a city's layers for notebooks, in the catalog's colours, working offline.

``explore(city, layers=[...])`` draws layers (classified layers in their code-table colours,
others in the web maps' colours) with tooltips and a legend; ``choropleth(city, layer,
column)`` classes a numeric column with a mapclassify scheme. Both return a ``folium.Map``
whose Leaflet is inlined from the vendored copy (``offline``), so the HTML loads nothing from
the internet. Geometry is read in lon/lat (EPSG:4326); nothing is written.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from typing import Any

import folium
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
from branca.element import MacroElement, Template
from shapely.geometry import box

from digitalcity.catalog import LayerDef, visible_fields
from digitalcity.catalog.cartography import GraduatedDef
from digitalcity.city import City, open_city
from digitalcity.tiles.symbology import (
    FALLBACK,
    Symbology,
    graduated_entries,
    native_first_cities,
)
from digitalcity.web import static_dir
from digitalcity.web.folium_labels import Labels, label_points

BBox = tuple[float, float, float, float]
# ColorBrewer YlOrRd, 3 to 9 classes.
YLORRD = {
    3: ["#ffeda0", "#feb24c", "#f03b20"],
    4: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"],
    5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
    6: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"],
    7: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
    8: ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
    9: ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026",
        "#800026"],
}  # fmt: skip
TOOLTIP_FIELDS = 6


def _city(city: City | str) -> City:
    return open_city(city) if isinstance(city, str) else city


def _data_uri(path: str, mime: str) -> str:
    raw = (static_dir() / "vendor" / "leaflet" / path).read_bytes()
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def offline(m: folium.Map, *, base_url: str | None = None) -> folium.Map:
    """Make ``m`` load Leaflet from the vendored copy instead of CDNs: inlined as data URIs
    (default: the HTML works anywhere, Jupyter included) or from ``base_url`` (e.g. the API's
    ``/static/web/vendor/leaflet``). jQuery, Bootstrap and the marker-icon fonts are dropped
    (these maps use none of them). Returns ``m``."""
    if base_url:
        js, css = f"{base_url}/leaflet.js", f"{base_url}/leaflet.css"
    else:
        js, css = _data_uri("leaflet.js", "text/javascript"), _data_uri("leaflet.css", "text/css")
    m.default_js = [("leaflet", js)]
    m.default_css = [("leaflet_css", css)]
    return m


class Legend(MacroElement):
    """A legend box (title and coloured rows) in the map's bottom-right corner."""

    _template = Template(
        """{% macro html(this, kwargs) %}
<div class="dc-legend" style="position:absolute;z-index:1000;right:10px;bottom:24px;
 background:#fff;padding:6px 10px;border-radius:4px;box-shadow:0 1px 5px rgba(0,0,0,.4);
 font:12px/1.4 sans-serif;max-height:60%;overflow:auto">{{ this.body }}</div>
{% endmacro %}"""
    )

    def __init__(self, sections: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> None:
        super().__init__()
        self._name = "Legend"
        self.body = "".join(
            f'<div style="margin:2px 0"><b>{escape(title)}</b>'
            + "".join(
                f'<div><span style="display:inline-block;width:12px;height:12px;'
                f'margin-right:6px;background:{escape(colour)};border:1px solid #777"></span>'
                f"{escape(label)}</div>"
                for colour, label in rows
            )
            + "</div>"
            for title, rows in sections
        )


def _frame(city: City, layer: LayerDef, bbox: BBox | None, limit: int | None) -> gpd.GeoDataFrame:
    columns = [f.name for f in visible_fields(city.role, layer)]
    frame = city.read(layer.id, bbox=bbox, crs="EPSG:4326", columns=columns, limit=limit)
    if bbox is not None:  # read() matches bounding boxes; keep what really intersects
        frame = frame[frame.intersects(box(*bbox))]
    frame = frame.reset_index()
    for name in frame.columns:
        kind = frame[name].dtype
        if name != frame.geometry.name and not (
            pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind)
        ):
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
            frame[name] = frame[name].map(lambda v: v if v is None else str(v))
    return frame


def _tooltip(layer: LayerDef, frame: gpd.GeoDataFrame, lang: str) -> folium.GeoJsonTooltip:
    label = layer.label_field
    names: list[str] = [label] if label and label in frame.columns else []
    names += [f.name for f in layer.all_fields if f.name in frame.columns and f.name not in names]
    names = names[:TOOLTIP_FIELDS]
    return folium.GeoJsonTooltip(
        fields=names, aliases=[layer.field(n).title.get(lang) for n in names]
    )


def _geojson(layer: LayerDef, frame: gpd.GeoDataFrame, style: Any, lang: str) -> folium.GeoJson:
    points = "Point" in layer.geometry_type
    return folium.GeoJson(
        frame,
        name=layer.title.get(lang),
        style_function=style,
        tooltip=_tooltip(layer, frame, lang) if len(frame) else None,
        marker=folium.CircleMarker(radius=4, fill=True, fill_opacity=0.9) if points else None,
    )


def _style(
    colour: Any, layer: LayerDef, field: str | None = None, opacity: float | None = None
) -> Any:
    line = "LineString" in layer.geometry_type
    if opacity is None:
        opacity = 0.1 if layer.kind in ("boundary", "population", "planning") else 0.6

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        fill = colour(feature["properties"].get(field)) if callable(colour) else colour
        return {"color": "#555555" if not line else fill, "weight": 2 if line else 0.6,
                "fillColor": fill, "fillOpacity": opacity}  # fmt: skip

    return style


def _fit(m: folium.Map, frames: list[gpd.GeoDataFrame]) -> None:
    boxes = [f.total_bounds for f in frames if len(f)]
    if boxes:
        b = np.vstack(boxes)
        m.fit_bounds([[b[:, 1].min(), b[:, 0].min()], [b[:, 3].max(), b[:, 2].max()]])


def explore(
    city: City | str,
    layers: Sequence[str] | None = None,
    *,
    bbox: BBox | None = None,
    lang: str = "en",
    limit: int | None = 20_000,
    tiles: str | None = None,
) -> folium.Map:
    """A map of ``layers`` (default: the city's parcels) within ``bbox`` (lon/lat), each a
    toggleable layer with tooltips; classified layers coloured by their code table with a
    legend. ``tiles`` adds an external basemap (e.g. "OpenStreetMap"; needs the internet)."""
    city = _city(city)
    wanted = list(layers or [city.definition.roles.parcels or city.layers()[0].id])
    m = folium.Map(tiles=tiles, control_scale=True)
    symbology = (
        Symbology(city.code_tables, city.catalog.root, native_first_cities(city.catalog))
        if city.catalog.root
        else None
    )
    frames, sections = [], []
    for layer_id in wanted:
        layer = city.layer(layer_id)
        frame = _frame(city, layer, bbox, limit)
        frames.append(frame)
        if symbology is not None and symbology.is_classified(layer):
            # the same classes and colours as the web maps (the city's primary classification)
            field, entries = symbology.classified(layer, lang)
            colours = {v: e.colour for e in entries for v in (e.values or (e.value,)) if v}
            style = _style(lambda v, c=colours: c.get(v, FALLBACK), layer, field)
            present = set(frame[field]) if field in frame.columns else set()
            rows = [(e.colour, e.label) for e in entries if present & set(e.values or (e.value,))]
            sections.append((layer.title.get(lang), rows))
        elif (graduated := layer.style.graduated) is not None:
            # the web maps' classes: the same limits and colours, missing values grey
            def colour_of(value: Any, g: GraduatedDef = graduated) -> str:
                missing = value is None or value != value  # None, or NaN from pandas
                return FALLBACK if missing else (g.colour_of(value) or FALLBACK)

            style = _style(colour_of, layer, graduated.field)
            measured = layer.field(graduated.field)
            unit = f" ({measured.unit})" if measured.unit else ""
            caption = f"{layer.title.get(lang)} · {measured.title.get(lang)}{unit}"
            entries = graduated_entries(graduated)
            sections.append((caption, [(e.colour, e.label) for e in entries]))
        else:
            symbol = (
                symbology.symbol_in_city(list(city.catalog.city_layers(city.id)), layer, lang)
                if symbology
                else None
            )
            colour = symbol.colour if symbol and isinstance(symbol.colour, str) else "#3388ff"
            style = _style(colour, layer, opacity=symbol.opacity if symbol else None)
        _geojson(layer, frame, style, lang).add_to(m)
        if layer.label is not None:  # the web maps' labels, from the same definition
            Labels(layer, label_points(layer, frame, lang)).add_to(m)
    if sections:
        Legend(sections).add_to(m)
    _fit(m, frames)
    folium.LayerControl(collapsed=False).add_to(m)
    return offline(m)


def choropleth(
    city: City | str,
    layer: str,
    column: str,
    scheme: str = "quantiles",
    k: int = 5,
    *,
    bbox: BBox | None = None,
    lang: str = "en",
    limit: int | None = 20_000,
    tiles: str | None = None,
) -> folium.Map:
    """``layer`` coloured by the numeric ``column`` in ``k`` classes of a mapclassify
    ``scheme`` ('quantiles', 'equalinterval', 'naturalbreaks', 'fisherjenks', ...), YlOrRd,
    with a legend of the class bounds; features without a value are grey."""
    if not 3 <= k <= 9:
        raise ValueError("k must be between 3 and 9")
    city = _city(city)
    definition = city.layer(layer)
    frame = _frame(city, definition, bbox, limit)
    if column not in frame.columns:
        raise KeyError(f"{column!r} is not a readable field of {layer!r}")
    values = frame[column].astype(float)
    known = values.dropna()
    classifier = mapclassify.classify(known.to_numpy(), scheme, k=min(k, known.nunique()))
    palette = YLORRD[max(3, len(classifier.bins))][: len(classifier.bins)]
    bins = list(classifier.bins)
    frame["_class"] = [
        None if np.isnan(v) else int(np.searchsorted(bins, v, side="left")) for v in values
    ]
    style = _style(lambda c: FALLBACK if c is None else palette[min(c, len(palette) - 1)],
                   definition, "_class", 0.75)  # fmt: skip
    _geojson(definition, frame, style, lang).add_to(
        m := folium.Map(tiles=tiles, control_scale=True)
    )
    lower = [float(known.min()), *bins[:-1]]
    rows = [(palette[i], f"{lower[i]:,.4g} – {b:,.4g}") for i, b in enumerate(bins)]
    if values.isna().any():
        rows.append((FALLBACK, "no data" if lang != "zh" else "无数据"))
    field = definition.field(column)
    unit = f" ({field.unit})" if field.unit else ""
    Legend([(f"{field.title.get(lang)}{unit} · {scheme}", rows)]).add_to(m)
    _fit(m, [frame])
    return offline(m)
