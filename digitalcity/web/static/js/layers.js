// Layer switcher with legends, grouped by kind; visibility is set on every style layer that
// draws a catalog layer (style metadata "digitalcity:layer").
import { esc, swatch } from "./common.js";
import { kindTitle, legendCaption, phrases, pick, t } from "./i18n.js";

// Strings of the switcher's theme and opacity controls, zh and en.
const TEXT = {
  zh: {
    noTheme: "不显示专题图层", opacity: "不透明度", zoomIn: "放大后可见", zoomOut: "缩小后可见",
    zoomRange: "在第 {min}–{max} 级显示",
    noData: "这座城市的地图还没有数据。",
    notLoaded: "这座城市还没有载入图层。管理员用这条命令载入：",
    noneOpen: "这里没有您可以查看的图层。",
    signInForMore: "登录后可以看到更多。",
  },
  en: {
    noTheme: "No thematic layer", opacity: "Opacity", zoomIn: "Zoom in to see",
    zoomOut: "Zoom out to see", zoomRange: "Shown at zoom levels {min}–{max}",
    noData: "This city's map has no data yet.",
    notLoaded: "No layers of this city are loaded yet. An administrator loads them with:",
    noneOpen: "No layers here are open to you.",
    signInForMore: "Sign in to see more.",
  },
};
export const say = phrases(TEXT);

const GROUPS = [
  ["landuse", ["landuse"]],
  ["planning", ["planning"]],
  ["infrastructure", ["infrastructure"]],
  ["population", ["population"]],
  ["boundary", ["boundary", "basemap"]],
];

/** {catalog layer id: [style layer ids]} of the current style. */
export function styleLayersByCatalog(map) {
  const out = {};
  for (const layer of map.getStyle().layers) {
    const id = layer.metadata && layer.metadata["digitalcity:layer"];
    if (id) (out[id] ||= []).push(layer.id);
  }
  return out;
}

/**
 * The catalog layers to show when the URL names none: exactly those the style draws visible,
 * i.e. the layers whose definitions switch them on for this map (``default_on``).
 */
export function visibleInStyle(map) {
  const shown = new Set();
  for (const layer of map.getStyle().layers) {
    const id = layer.metadata && layer.metadata["digitalcity:layer"];
    if (id && (layer.layout || {}).visibility !== "none") shown.add(id);
  }
  return shown;
}

/** Themed layers (``theme`` in their definitions) are shown one at a time: keep ``id`` only. */
export function chooseTheme(visible, legend, id) {
  for (const layer of legend.layers) if (layer.theme) visible.delete(layer.id);
  if (id) visible.add(id);
}

/** Multiply a fill layer's style opacity by ``factor`` (0-1); the legend has its base opacity. */
export function setOpacity(map, legend, id, factor) {
  const layer = legend.layers.find((l) => l.id === id);
  const fill = `${id}-fill`;
  if (layer && map.getLayer(fill)) map.setPaintProperty(fill, "fill-opacity", layer.opacity * factor);
}

/**
 * {catalog layer id: [first zoom, zoom it stops at]} over the style layers that draw it
 * (MapLibre's ``minzoom`` is inclusive, its ``maxzoom`` exclusive): the definitions' zooms.
 */
export function zoomRanges(map) {
  const out = {};
  for (const layer of map.getStyle().layers) {
    const id = layer.metadata && layer.metadata["digitalcity:layer"];
    if (!id) continue;
    const [low, high] = out[id] || [Infinity, -Infinity];
    out[id] = [Math.min(low, layer.minzoom ?? 0), Math.max(high, layer.maxzoom ?? 24)];
  }
  return out;
}

/**
 * Mute the rows of layers the map does not draw at its zoom (``out-of-zoom``), and give each
 * such row that is switched on a button saying which way to zoom; its title says the zooms.
 */
export function markZoomRanges(container, map) {
  const ranges = zoomRanges(map);
  const zoom = map.getZoom();
  for (const row of container.querySelectorAll("li[data-layer-row]")) {
    const range = ranges[row.dataset.layerRow];
    const hint = row.querySelector("button.zoom-hint");
    if (!range || !hint) continue;
    const [low, high] = range;
    const way = zoom < low ? "in" : zoom >= high ? "out" : "";
    row.classList.toggle("out-of-zoom", Boolean(way));
    hint.hidden = !way || !row.querySelector("input:checked");
    hint.textContent = way ? say(way === "in" ? "zoomIn" : "zoomOut") : "";
    // zoom out to just below where it stops, or in to where it starts
    hint.dataset.zoomTo = String(way === "out" ? high - 0.5 : low);
    hint.title = say("zoomRange", { min: low, max: Math.min(high, 23) - 1 });
  }
}

const following = new WeakSet();

/**
 * Keep ``container``'s rows marked (``markZoomRanges``) as ``map`` zooms and boxes change; a
 * row's button eases the map to a zoom that draws its layer. Called after each render.
 */
export function followZoom(container, map) {
  if (!following.has(container)) {
    following.add(container);
    const mark = () => markZoomRanges(container, map);
    map.on("zoomend", mark);
    container.addEventListener("change", mark);
    container.addEventListener("click", (event) => {
      const hint = event.target.closest("button.zoom-hint");
      if (hint) map.easeTo({ zoom: Number(hint.dataset.zoomTo) });
    });
  }
  markZoomRanges(container, map);
}

export function applyVisibility(map, visible) {
  for (const [id, styleIds] of Object.entries(styleLayersByCatalog(map))) {
    for (const styleId of styleIds) {
      map.setLayoutProperty(styleId, "visibility", visible.has(id) ? "visible" : "none");
    }
  }
}

// "<code> <name>": the code is the city's data (kept as it is), the name is translated.
function entryLabel(e) {
  const code = e.value == null ? "" : String(e.value);
  if (code && e.label.startsWith(`${code} `)) {
    return `<span class="data">${esc(code)}</span> ${esc(e.label.slice(code.length + 1))}`;
  }
  return esc(e.label);
}

function entriesHtml(layer) {
  if (layer.entries.length <= 1) return "";
  const rows = layer.entries
    .map((e) => `<li>${swatch(e.colour)}<span>${entryLabel(e)}</span></li>`)
    .join("");
  // a graduated layer's classes measure one field: say which, in its unit
  const text = legendCaption(layer);
  const caption = text ? `<li class="caption">${esc(text)}</li>` : "";
  return `<details class="legend"><summary>${esc(t("legend"))}</summary><ul>${caption}${rows}</ul></details>`;
}

function rowHtml(layer, meta, visible, options) {
  const info = meta.layers[layer.id] || {};
  const single = layer.entries.length === 1 ? swatch(layer.entries[0].colour) : "";
  const badge = info.access && info.access !== "public"
    ? ` <span class="badge internal">${esc(t("internal"))}</span>` : "";
  const title = esc(pick(info.title) || layer.title);
  const on = visible.has(layer.id) ? "checked" : "";
  const themed = options.themes && layer.theme;
  const box = !options.interactive ? ""
    : themed ? `<input type="radio" name="dc-theme" data-theme-layer="${esc(layer.id)}" ${on}>`
    : `<input type="checkbox" data-layer="${esc(layer.id)}" ${on}>`;
  const slider = options.opacity && layer.geometry === "fill"
    ? `<label class="opacity" style="margin-left:24px;font-size:12px">${esc(say("opacity"))} <input type="range" min="0" max="100" ` +
      `value="${Math.round((options.opacities[layer.id] ?? 1) * 100)}" ` +
      `data-opacity="${esc(layer.id)}" aria-label="${esc(say("opacity"))}"></label>` : "";
  // shown by markZoomRanges when the map's zoom is outside the layer's; a button inside the
  // label does not toggle the label's box
  const hint = options.interactive ? '<button type="button" class="zoom-hint" hidden></button>' : "";
  return `<li class="layer" data-layer-row="${esc(layer.id)}"><label>${box}${single}` +
    `<span>${title}</span>${badge}${hint}</label>${slider}${entriesHtml(layer)}</li>`;
}

/**
 * What the switcher and the map say when the legend lists no layer (HTML). The public map:
 * that the city's map has no data yet. The planner (``meta``: /cities/{city}, the layers the
 * caller may see, loaded or not): that they are not loaded yet, with the command that loads
 * them, or that none is open to the caller, and that signing in may show more.
 */
export function emptyHtml(meta, city, { publicMap = false, signedIn = false } = {}) {
  if (publicMap) return esc(say("noData"));
  if (Object.keys((meta && meta.layers) || {}).length) {
    return `${esc(say("notLoaded"))} <code class="data">digitalcity load ${esc(city)}</code>`;
  }
  return esc(say("noneOpen")) + (signedIn ? "" : ` ${esc(say("signInForMore"))}`);
}

/**
 * Show ``html`` in a notice at the top of ``map`` (none: remove it), as a notice of ``kind``:
 * "empty" (the page's: a city with nothing to show) or "status" (``mapstatus.js``: data that
 * cannot be read). A status notice stays until its own kind clears it: the page clearing its
 * empty notice once the legend arrives, after tiles failed meanwhile, left a blank map unsaid.
 */
export function mapNotice(map, html, kind = "empty") {
  const box = map.getContainer();
  let notice = box.querySelector(".map-notice");
  const current = notice ? notice.dataset.kind : null;
  if (!html) {
    if (notice && current === kind) notice.remove();
    return;
  }
  if (current === "status" && kind !== "status") return;
  if (!notice) {
    notice = document.createElement("p");
    notice.className = "map-notice";
    notice.setAttribute("role", "status");
    box.appendChild(notice);
  }
  notice.dataset.kind = kind;
  notice.innerHTML = html;
}

/**
 * Render the switcher into ``container`` from a legend document (/styles/{city}/legend) and
 * the layer metadata; ``onToggle(id, on)`` is called when a box changes. Options:
 * ``themes`` (public map): themed layers become radios of one group, one theme at a time, and
 * ``onTheme(id | null)`` is called; ``opacity`` (planner): a slider per fill layer calling
 * ``onOpacity(id, factor)``; ``opacities`` the current factors; ``empty`` the HTML shown
 * when the legend lists no layer (``emptyHtml``).
 */
export function renderSwitcher(container, legend, meta, visible, onToggle, interactive = true,
  options = {}) {
  const opts = { interactive, themes: false, opacity: false, opacities: {}, ...options };
  if (!legend.layers.length) { // nothing loaded, or nothing the caller may see
    container.innerHTML = `<p class="layers-empty muted">${opts.empty || esc(say("noData"))}</p>`;
    return;
  }
  const byKind = new Map(GROUPS.map(([name]) => [name, []]));
  for (const layer of legend.layers) {
    const kind = (meta.layers[layer.id] || {}).kind || "boundary";
    const group = GROUPS.find(([, kinds]) => kinds.includes(kind)) || GROUPS[4];
    byKind.get(group[0]).push(layer);
  }
  // Themed layers stay in their kind's group as radios of one group ("dc-theme"); the
  // "no theme" choice closes the switcher.
  const themed = opts.themes ? legend.layers.filter((l) => l.theme) : [];
  const none = themed.some((l) => visible.has(l.id)) ? "" : "checked";
  const noTheme = themed.length
    ? `<ul class="themes-none"><li class="layer" data-layer-row=""><label><input type="radio" ` +
      `name="dc-theme" data-theme-layer="" ${none}><span>${esc(say("noTheme"))}</span>` +
      "</label></li></ul>"
    : "";
  container.innerHTML = GROUPS.filter(([name]) => byKind.get(name).length)
    .map(([name]) => {
      const rows = byKind.get(name).map((l) => rowHtml(l, meta, visible, opts)).join("");
      return `<section class="group" data-kind="${name}"><h3>${esc(kindTitle(name))}</h3>` +
        `<ul>${rows}</ul></section>`;
    })
    .join("") + noTheme;
  container.onchange = (event) => {
    const box = event.target.closest("input[data-layer]");
    if (box) onToggle(box.dataset.layer, box.checked);
    const radio = event.target.closest("input[data-theme-layer]");
    if (radio && opts.onTheme) opts.onTheme(radio.dataset.themeLayer || null);
  };
  container.oninput = (event) => {
    const range = event.target.closest("input[data-opacity]");
    if (range && opts.onOpacity) opts.onOpacity(range.dataset.opacity, Number(range.value) / 100);
  };
}
