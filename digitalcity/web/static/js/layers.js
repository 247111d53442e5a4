// Layer switcher with legends, grouped by kind; visibility is set on every style layer that
// draws a catalog layer (style metadata "digitalcity:layer").
import { esc, swatch } from "./common.js";
import { pick, t } from "./i18n.js";

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
 * The catalog layers to show when the URL names none: those the style draws visible, less
 * the dense point layers (hydrants, lights...) other than the city's facilities.
 */
export function visibleInStyle(map, meta) {
  const shown = new Set();
  const facilities = new Set((meta && meta.roles.facilities) || []);
  for (const layer of map.getStyle().layers) {
    const id = layer.metadata && layer.metadata["digitalcity:layer"];
    if (!id || (layer.layout || {}).visibility === "none") continue;
    if (layer.type === "circle" && meta && !facilities.has(id)) continue;
    shown.add(id);
  }
  return shown;
}

export function applyVisibility(map, visible) {
  for (const [id, styleIds] of Object.entries(styleLayersByCatalog(map))) {
    for (const styleId of styleIds) {
      map.setLayoutProperty(styleId, "visibility", visible.has(id) ? "visible" : "none");
    }
  }
}

function entriesHtml(layer) {
  if (layer.entries.length <= 1) return "";
  const rows = layer.entries
    .map((e) => `<li>${swatch(e.colour)}<span>${esc(e.label)}</span></li>`)
    .join("");
  return `<details class="legend"><summary>${esc(t("legend"))}</summary><ul>${rows}</ul></details>`;
}

function rowHtml(layer, meta, visible, interactive) {
  const info = meta.layers[layer.id] || {};
  const single = layer.entries.length === 1 ? swatch(layer.entries[0].colour) : "";
  const badge = info.access && info.access !== "public"
    ? ` <span class="badge internal">${esc(t("internal"))}</span>` : "";
  const title = esc(pick(info.title) || layer.title);
  const box = interactive
    ? `<input type="checkbox" data-layer="${esc(layer.id)}" ${visible.has(layer.id) ? "checked" : ""}>`
    : "";
  return `<li class="layer" data-layer-row="${esc(layer.id)}"><label>${box}${single}` +
    `<span>${title}</span>${badge}</label>${entriesHtml(layer)}</li>`;
}

/**
 * Render the switcher into ``container`` from a legend document (/styles/{city}/legend) and
 * the layer metadata; ``onToggle(id, on)`` is called when a box changes.
 */
export function renderSwitcher(container, legend, meta, visible, onToggle, interactive = true) {
  const byKind = new Map(GROUPS.map(([name]) => [name, []]));
  for (const layer of legend.layers) {
    const kind = (meta.layers[layer.id] || {}).kind || "boundary";
    const group = GROUPS.find(([, kinds]) => kinds.includes(kind)) || GROUPS[4];
    byKind.get(group[0]).push(layer);
  }
  container.innerHTML = GROUPS.filter(([name]) => byKind.get(name).length)
    .map(([name]) => {
      const rows = byKind.get(name).map((l) => rowHtml(l, meta, visible, interactive)).join("");
      return `<section class="group" data-kind="${name}"><h3>${esc(t(`kind_${name}`))}</h3>` +
        `<ul>${rows}</ul></section>`;
    })
    .join("");
  container.onchange = (event) => {
    const box = event.target.closest("input[data-layer]");
    if (box) onToggle(box.dataset.layer, box.checked);
  };
}
