// The planner app (/map): layers with legends, search, identify, measure, area statistics,
// share links, export, sign-in with an API key, zh/en and a city switcher.
import { addBasemap } from "./basemap.js";
import { featuresCard, parcelCard, statsCard } from "./cards.js";
import { openCompare } from "./compare.js";
import {
  api, apiKey, cityById, config, download, esc, hashOf, lonLatBox, num, readHash, setAsOf,
  transformRequest, withAsOf, writeHash,
} from "./common.js";
import { EditNotice } from "./editnotice.js";
import {
  creatableLayers, editButtons, mayUndo, openHistory, openNewFeature, wireEditing,
} from "./editmode.js";
import { shapeEditing, stopShapeEditing } from "./geomedit.js";
import { applyLabels, lang, mapLocale, pick, relabelMap, setLang, t } from "./i18n.js";
import {
  applyVisibility, emptyHtml, followZoom, mapNotice, renderSwitcher, setOpacity, visibleInStyle,
} from "./layers.js";
import { watchMapStatus } from "./mapstatus.js";
import { Drawer } from "./measure.js";
import { PointerCoordinates, installCoordinatesHere } from "./pointer.js";
import { wirePrintDialog } from "./print.js";
import { showSignedIn, wireSignIn } from "./signin.js";
import { QueryTool, installQuery } from "./query.js";
import { queryFromLink, queryToLink } from "./query_filter.js";
import { BoundaryTool, installBoundary } from "./boundary.js";
import { CatchmentsTool, installCatchments } from "./catchments.js";
import { ChangesTool, installChanges } from "./changes.js";
import { QualityTool, installQuality } from "./quality.js";
import { clearReshape, installReshape } from "./reshape.js";
import { attachmentButton, wireAttachments } from "./attachments.js";
import {
  askCard, cardStillAt, claimCard, clearSelection, closeCard, featuresUnder, fitBeside, goToPlace,
  installSelection, keepVisible, markPlace, openCard, select, wireSearch,
} from "./ui.js";

const $ = (id) => document.getElementById(id);
const start = readHash();
setLang(start.lang || config.lang);
const state = {
  city: cityById(start.city || config.city).id,
  visible: start.layers ? new Set(start.layers) : null,
  sel: start.sel,
  at: start.at, // the date control's day (in links), and the instant it stands for
  asOf: null,
  compare: start.compare && /^\d/.test(start.compare) ? start.compare : null, // a day
  query: null, // the query by attributes run last, as the link writes it (query.js)
  changeset: null, // the recent change opened, as the link writes it (changes.js)
  site: start.site, // the saved site boundary shown, as the link writes it (boundary.js)
  meta: config.meta[start.city || config.city],
  lastCard: null,
  opacity: {}, // fill layer id -> factor of its style opacity (the switcher's sliders)
};
const city = cityById(state.city);
if (state.at) { // a link's day: the map opens as of it
  state.asOf = endOfDay(state.at);
  setAsOf(state.asOf);
  document.body.classList.add("as-of");
  $("as-of").value = state.at;
}
const map = new maplibregl.Map({
  container: "map",
  style: styleUrl(),
  center: start.center || city.center,
  zoom: start.zoom ?? city.zoom,
  transformRequest,
  attributionControl: { compact: true },
  locale: mapLocale(),
});
window.map = map;
window.dcMap = map;
new ResizeObserver(() => map.resize()).observe(document.getElementById("map"));
map.addControl(new maplibregl.NavigationControl(), "top-right");
map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
watchMapStatus(map, () => reloadStyle()); // data that cannot be read: said, and read again
map.addControl(new PointerCoordinates(() => state.meta.local_crs), "bottom-left");
installCoordinatesHere(map, () => state.meta.local_crs, () => drawer.active || shapeEditing());

function styleUrl() {
  return `/styles/${state.city}/planner?lang=${lang()}`;
}

function save() {
  writeHash(map, state);
}

// The date controls run from the first load of the city's layers (an earlier day's map holds
// nothing) to today, and say so.
function dateRange() {
  const day = (date) => date.toLocaleDateString("sv-SE"); // YYYY-MM-DD, the reader's day
  const since = state.meta.history_since ? day(new Date(state.meta.history_since)) : "";
  for (const id of ["as-of", "compare-day"]) {
    $(id).min = since;
    $(id).max = day(new Date());
  }
  $("history-since").textContent = since ? t("historySince", { day: since }) : "";
}

async function loadMeta() {
  state.meta = await api(`/cities/${state.city}`);
  dateRange();
  showSignedIn(state.meta.role);
  $("new-feature").hidden = state.asOf != null || !creatableLayers(state.meta).length;
  $("catchments").hidden = !CatchmentsTool.offered(state.meta);
}

// Bumped when the style is replaced: a style.load handler still awaiting the meta or the legend
// of a style that has since been replaced stops there (the new style's own handler takes over;
// reading the replaced style threw "Cannot read properties of undefined").
let styleGeneration = 0;
let compare = null; // the swipe comparison with another day, when open (compare.js)

async function onStyle() {
  const generation = styleGeneration;
  addBasemap(map, config.basemap);
  installBoundary(map);
  installChanges(map);
  installQuality(map);
  installCatchments(map);
  installReshape(map);
  installQuery(map); // below the selection, which is drawn over a query's matches
  installSelection(map);
  drawer.install();
  try {
    await loadMeta();
  } catch (err) {
    console.warn("layers", err.message);
  }
  if (generation !== styleGeneration) return;
  if (!state.visible) state.visible = visibleInStyle(map);
  applyVisibility(map, state.visible);
  try {
    const legend = await api(`/styles/${state.city}/legend?style=planner&lang=${lang()}`);
    if (generation !== styleGeneration) return;
    state.legend = legend;
    if (compare) compare.refresh();
    for (const [id, factor] of Object.entries(state.opacity)) setOpacity(map, legend, id, factor);
    const empty = emptyHtml(state.meta, state.city, { signedIn: Boolean(apiKey()) });
    mapNotice(map, legend.layers.length ? null : empty);
    renderSwitcher($("layer-list"), legend, state.meta, state.visible, (id, on) => {
      if (on) state.visible.add(id);
      else state.visible.delete(id);
      applyVisibility(map, state.visible);
      if (compare) compare.refresh();
      save();
    }, true, {
      empty,
      opacity: true,
      opacities: state.opacity,
      onOpacity: (id, factor) => {
        state.opacity[id] = factor;
        setOpacity(map, legend, id, factor);
        if (compare) compare.refresh();
      },
    });
    followZoom($("layer-list"), map);
  } catch (err) {
    console.warn("legend", err.message);
  }
  if (state.lastCard) {
    // read again before the map says it is ready: drawn later, it replaced what the reader
    // had opened in the card meanwhile (a history opened just after a save: found by CI)
    try {
      await state.lastCard();
    } catch (err) {
      console.warn("card", err.message);
    }
    if (generation !== styleGeneration) return;
  }
  else if (linkedQuery && !queryTool.query) {
    queryCard.claim();
    queryTool.open(linkedQuery);
  }
  else if (start.changeset && !linkedChangeOpened) { // a link's recent change, once
    linkedChangeOpened = true;
    changesCard.claim();
    changesTool.openById(start.changeset);
  }
  else if (start.site && !linkedSiteOpened) { // a link's saved site boundary, once
    linkedSiteOpened = true;
    boundaryCard.claim();
    boundaryTool.openSite(start.site);
  }
  else if (state.sel != null) showParcel(state.sel, false);
  if (state.compare && !compare) { // a link's comparison, once
    $("compare-day").value = state.compare;
    openComparison();
  }
  document.body.dataset.ready = "1";
}
map.on("style.load", onStyle);

function reloadStyle() {
  document.body.dataset.ready = "0";
  styleGeneration += 1;
  stopShapeEditing(); // terra-draw's layers do not survive a new style
  map.setStyle(styleUrl(), { diff: false });
  if (compare) compare.setStyle(styleUrl());
}
map.on("moveend", save);

// -- cards ---------------------------------------------------------------------------------
// Edit and history buttons (callers who may edit the layer; not on a past day's map) and the
// feature's files (on a past day, those kept that day).
function editTools(layerId, fid) {
  return (state.asOf ? "" : editButtons(state.meta, layerId, fid)) + attachmentButton(state.meta, layerId, fid);
}

// What an edit did, said over the feature's card with a way to undo it (editnotice.js).
const notice = new EditNotice({
  meta: () => state.meta,
  shown: () => String(state.sel ?? state.selection?.fid),
  undone: async (layerId, fid, exists) => {
    reloadStyle(); // the undone features' tiles have new keys: read them again
    if (exists) await openFeature(layerId, fid);
    else noticeCard();
  },
  onError,
});

// The notice alone, for a feature there is no card of (deleted, or its making undone).
function noticeCard() {
  clearSelection(map);
  Object.assign(state, { sel: null, selection: null, lastCard: null });
  openCard(notice.html());
  notice.wire();
}

// A card opened from a query's results starts with a way back to them (state.back).
function showCard(body, again) {
  const html = notice.wrap(body);
  clearReshape(map); // a merge's neighbours belong to the card they were listed in
  state.lastCard = again;
  const back = state.back && (state.back.label || t("backToResults")); // what the way back leads to
  openCard(back ? `<p class="back"><button type="button" class="link" id="card-back">${esc(back)}</button></p>${html}` : html);
  qualityTool.decorate(document.getElementById("card")); // a saved shape's faults (quality.js)
  if (state.back) $("card-back").onclick = () => state.back();
  notice.wire();
  wireAttachments(document.getElementById("card"), state.meta); // its files (attachments.js)
  wireEditing(document.getElementById("card"), state.meta, {
    map,
    onSaved: (saved) => afterSave(saved, again),
    openFeature: (layerId, fid) => openFeature(layerId, fid),
    onDeleted: async ({ layerId, fid, changeset }) => {
      notice.tell(layerId, fid, t("deleted"), changeset, "deleted");
      noticeCard();
      reloadStyle();
    },
  });
  for (const button of document.querySelectorAll("#card [data-export]")) {
    button.onclick = () => exportSelection(button.dataset.export);
  }
}

// After an edit is saved (fields, shape, split, merge, a version restored): the map read
// again, the notice with Undo, and the card drawn again (``again``) or the feature kept opened.
async function afterSave(saved, again) {
  reloadStyle(); // the edited feature's tiles have new keys: read them again
  notice.tell(saved.layerId, saved.fid, saved.message || t("saved"), saved.changeset);
  if (saved.message) { // a split, merge or restore: the feature kept, and what was done
    await openFeature(saved.layerId, saved.fid);
    return;
  }
  if (again) await again();
  // a redrawn shape: the faults it is now part of, said in its card (quality.js)
  if (saved?.geometry) await qualityTool.afterEdit(saved.layerId, saved.fid, saved.geometry);
}

// A tool's card (query, boundary, changes, quality) is drawn while it is the card the reader
// last turned to (``claim``: the tool opened, or its results gone back to): an answer the tool
// gets after a feature was clicked, or the card closed, is kept by the tool but not drawn.
function toolCard() {
  let turn = -1;
  return {
    claim() {
      turn = claimCard();
    },
    show(html, again) {
      if (!cardStillAt(turn)) return;
      state.back = null;
      showCard(html, again);
    },
  };
}
const queryCard = toolCard();
const boundaryCard = toolCard();
const changesCard = toolCard();
const qualityCard = toolCard();
const catchmentsCard = toolCard();

function onError(err) {
  openCard(`<p class="error">${esc(t("error", { msg: err.message }))}</p>`);
}

async function showParcel(fid, fly) {
  try {
    const card = await askCard(api(withAsOf(`/cities/${state.city}/parcels/${fid}?lang=${lang()}`)));
    parcelShown(card, fly);
  } catch (err) {
    onError(err);
  }
}

function parcelShown(card, fly) {
  state.sel = card.fid;
  state.selection = card;
  select(map, card.geometry);
  const layerId = card.collection.split("__").slice(1).join("__");
  showCard(parcelCard(card, state.meta) + editTools(layerId, card.fid), () => showParcel(card.fid, false));
  if (fly) map.fitBounds(card.bbox, { padding: 80, maxZoom: 18, duration: 600 });
  save();
}

async function identify(lngLat, point) {
  const { lng, lat } = lngLat;
  state.back = null;
  if (state.meta.roles.parcels) { // the parcel card, where the city has parcels
    try {
      const card = await askCard(
        api(withAsOf(`/cities/${state.city}/identify?lon=${lng}&lat=${lat}&lang=${lang()}`)));
      parcelShown(card, false);
      keepVisible(map, lngLat);
      return;
    } catch (err) {
      if (err.status !== 404) return onError(err);
    }
  }
  // any other feature: its visible fields with titles and units, read from the API
  const features = await askCard(featuresUnder(map, point, state.meta, (path) => api(withAsOf(path))));
  state.sel = null;
  clearSelection(map);
  if (features.length) showCard(featuresCard(features, state.meta) + editTools(features[0].layer, features[0].fid), null);
  else openCard(`<p>${esc(t(state.meta.roles.parcels ? "noParcel" : "noFeature"))}</p>`);
  save();
}

map.on("click", (e) => {
  if (!drawer.active && !shapeEditing()) identify(e.lngLat, e.point);
});

async function exportSelection(format) {
  const card = state.selection;
  if (!card) return;
  const base = `/collections/${card.collection}/items`;
  const path = format === "geojson" ? `${base}/${card.fid}` // csv, txt: the one feature's row
    : `${base}?f=${format}&filter=${encodeURIComponent(`fid=${card.fid}`)}`;
  await download(path, `${card.collection}-${card.fid}.${format}`);
}

// -- tools ---------------------------------------------------------------------------------
const drawer = new Drawer(map, {
  onChange: (mode, m) => {
    const out = $("measure-out");
    if (!mode || !m) out.textContent = "";
    else if ("distance" in m) out.textContent = `${t("distance")}: ${num(m.distance, 1)} m`;
    else out.textContent = `${t("area")}: ${num(m.area, 1)} m² · ${t("perimeter")}: ${num(m.perimeter, 1)} m`;
    $("finish").hidden = !drawer.active;
    // on a phone the layers-and-tools sheet shrinks to the hint, the figures, Finish and Clear
    // while the reader draws on the map, and while a measurement is shown (app.css)
    const measured = (mode === "distance" || mode === "area") && m;
    document.body.classList.toggle("drawing", Boolean(drawer.active || measured));
  },
  onDone: async (mode, geometry) => {
    $("tool-hint").textContent = "";
    if (mode === "query" && queryArea) queryArea(geometry.coordinates[0]);
    if (mode !== "stats") return;
    openCard(`<p>${esc(t("loading"))}</p>`);
    const again = async () => {
      try {
        const stats = await askCard(api(`/cities/${state.city}/stats?lang=${lang()}`, {
          method: "POST", body: geometry,
        }));
        showCard(statsCard(stats, state.meta), again);
      } catch (err) {
        onError(err);
      }
    };
    again();
  },
});
const HINTS = { distance: "hintDistance", area: "hintArea", stats: "hintStats", query: "queryDrawHint" };
let queryArea = null; // what the query tool does with the area drawn for it
for (const button of document.querySelectorAll("[data-tool]")) {
  button.onclick = () => {
    drawer.start(button.dataset.tool);
    $("tool-hint").textContent = t(HINTS[button.dataset.tool]);
    document.body.classList.remove("legend-open");
  };
}
$("finish").onclick = () => drawer.finish();

// A card the reader opened that is about no selected feature and is not read again (a new
// feature's layers and form): answers still on their way to the card are not wanted, and a
// style reload does not draw the card before it, or the selection's, over this one.
function ownCard(html) {
  claimCard();
  Object.assign(state, { lastCard: null, sel: null, selection: null, back: null });
  clearSelection(map);
  openCard(html);
}

// A new feature (editors): choose the layer when there are several, draw it, fill its form.
function drawNewFeature(layerId) {
  ownCard(`<div class="edit-panel"></div>`);
  const panel = document.querySelector("#card .edit-panel");
  openNewFeature(panel, state.meta, layerId, map, async (id, fid, geometry, changeset) => {
    reloadStyle();
    if (fid) notice.tell(id, fid, t("created"), changeset, "created");
    if (id === state.meta.roles.parcels && fid) await showParcel(fid, false);
    else if (fid) noticeCard(); // the notice, with its undo, where the form was
    if (fid) await qualityTool.afterEdit(id, fid, geometry);
  }).catch((err) => onError(err));
}
$("new-feature").onclick = () => {
  drawer.clear();
  const layers = creatableLayers(state.meta);
  if (layers.length === 1) return drawNewFeature(layers[0]);
  ownCard(`<h3>${esc(t("chooseLayer"))}</h3><p class="new-layers">` + layers.map((id) =>
    `<button type="button" data-new-layer="${esc(id)}">${esc(pick(state.meta.layers[id].title) || id)}</button>`,
  ).join(" ") + "</p>");
  for (const button of document.querySelectorAll("#card [data-new-layer]")) {
    button.onclick = () => drawNewFeature(button.dataset.newLayer);
  }
};
$("clear").onclick = () => {
  drawer.clear();
  $("tool-hint").textContent = "";
};
// The end of a chosen day (``YYYY-MM-DD``), or a second ago for today: an instant the
// history can answer; null for no day.
function endOfDay(day) {
  const end = day ? new Date(`${day}T23:59:59`) : null;
  return end ? new Date(Math.min(end.getTime(), Date.now() - 1000)).toISOString() : null;
}

// The date control: the whole map (tiles, cards, identify) as of the end of a chosen day
// (or now, for today), from the layers' history.
$("as-of").onchange = () => {
  state.at = $("as-of").value || null;
  state.asOf = endOfDay(state.at);
  setAsOf(state.asOf);
  document.body.classList.toggle("as-of", Boolean(state.asOf));
  reloadStyle();
  if (state.lastCard) { // the open card is read again for that day: busy (dimmed) until drawn
    $("card").setAttribute("aria-busy", "true");
    state.lastCard();
  }
  openComparison(); // its left side is the map's own day
};

// Swipe comparison: the map as of another day right of a divider (compare.js).
function openComparison() {
  if (compare) compare.close();
  compare = null;
  const day = $("compare-day").value;
  state.compare = day || null;
  save();
  if (!day) return;
  compare = openCompare(map, {
    styleUrl: styleUrl(),
    instant: endOfDay(day),
    state,
    labels: { left: $("as-of").value || t("now"), right: day },
    name: t("compareMap", { day }),
  });
}
$("compare-day").onchange = openComparison;

wirePrintDialog(map, {
  cityTitle: () => pick(cityById(state.city).title) || state.city,
  sheet: () => ({
    legend: state.legend,
    visible: state.visible || new Set(),
    // what the tools drew over the map: on the sheet too, first
    extra: [boundaryTool, qualityTool, catchmentsTool].flatMap((tool) => tool.legendGroups()),
    fileStem: state.city,
  }),
});

$("share").onclick = async () => {
  const url = location.href.split("#")[0] + hashOf(map, state);
  $("share-url").hidden = false;
  $("share-url").value = url;
  $("share-url").select();
  try {
    await navigator.clipboard.writeText(url);
    $("tool-hint").textContent = t("copied");
  } catch {
    /* the field shows the link to copy by hand */
  }
};

// -- header: city, search, language, sign-in ---------------------------------------------------
const citySelect = $("city");
function fillCities() {
  citySelect.innerHTML = config.cities.map((c) =>
    `<option value="${esc(c.id)}"${c.id === state.city ? " selected" : ""}>${esc(c.titles[lang()])}</option>`).join("");
}
citySelect.onchange = () => {
  const next = cityById(citySelect.value);
  Object.assign(state, { city: next.id, visible: null, sel: null, selection: null, lastCard: null, back: null });
  queryTool.clear();
  boundaryTool.clear(false);
  qualityTool.clear(true);
  catchmentsTool.clear(true);
  closeCard();
  drawer.clear();
  map.jumpTo({ center: next.center, zoom: next.zoom });
  reloadStyle();
};

// A feature's card, the map fitted to it: a parcel's card on parcels, else its fields.
async function openFeature(layerId, fid) {
  if (layerId === state.meta.roles.parcels) return showParcel(fid, true);
  const collection = state.meta.layers[layerId].collection;
  try {
    const item = await askCard(api(withAsOf(`/collections/${collection}/items/${fid}?lang=${lang()}`)));
    const box = lonLatBox([item.geometry]);
    map.fitBounds([[box[0], box[1]], [box[2], box[3]]], { padding: 80, maxZoom: 17, duration: 600 });
    select(map, item.geometry);
    state.sel = null;
    state.selection = { collection, fid };
    showCard(featuresCard([{ layer: layerId, properties: item.properties }], state.meta) + editTools(layerId, fid),
      () => openFeature(layerId, fid));
  } catch (err) {
    onError(err);
  }
}

wireSearch({
  search: (q) => api(`/cities/${state.city}/search?q=${encodeURIComponent(q)}&limit=8&lang=${lang()}`),
  choose: async (hit) => {
    state.back = null;
    if (hit.kind === "coordinates") { // 坐标定位: what lies at the place, as a click there
      const at = await goToPlace(map, hit);
      return identify(at, map.project(at));
    }
    markPlace(map, null);
    await openFeature(hit.layer, hit.fid);
  },
});

// Query by attributes (query.js): its panel is a card; a match's card leads back to it.
const queryTool = new QueryTool({
  map,
  meta: () => state.meta,
  bbox: () => map.getBounds().toArray().flat(),
  showCard: queryCard.show,
  openFeature: (layerId, fid) => {
    state.back = () => {
      queryCard.claim();
      queryTool.render();
    };
    return openFeature(layerId, fid);
  },
  onEdited: () => reloadStyle(), // a change to every match: their tiles have new keys
  onChange: (query) => {
    state.query = query ? queryToLink(query) : null; // null too for an area too large to link
    save();
  },
  drawArea: (done) => {
    queryArea = done;
    drawer.start("query");
    $("tool-hint").textContent = t(HINTS.query);
  },
  showArea: (area) => { // one ring: as drawn, to draw again; else as a boundary is
    if (drawer.mode === "query") drawer.clear();
    if (area?.type === "Polygon" && area.coordinates.length === 1) drawer.show("query", area.coordinates[0].slice(0, -1));
    else if (area) boundaryTool.showArea(area);
  },
});
const linkedQuery = start.query ? queryFromLink(start.query) : null; // run once, at the first style
let linkedChangeOpened = false;
let linkedSiteOpened = false;
// Site boundary check (boundary.js): a boundary from a file, drawn, with its statistics.
const boundaryTool = new BoundaryTool({
  map,
  city: () => state.city,
  showCard: boundaryCard.show,
  stats: async (geometry) => statsCard(
    await api(`/cities/${state.city}/stats?lang=${lang()}`, { method: "POST", body: geometry }), state.meta),
  fit: (geometry) => fitBeside(map, lonLatBox([geometry])),
  linked: (token) => {
    state.site = token;
    save();
  },
  queryInside: (geometry) => {
    queryCard.claim();
    queryTool.open({ // every feature of the first layer inside
      layer: state.meta.roles.parcels || Object.keys(state.meta.layers)[0],
      conditions: [], any: false, scope: "area", area: geometry, sort: null,
    });
  },
});
$("boundary").onclick = () => {
  boundaryCard.claim();
  boundaryTool.open();
};
$("legend-toggle").onclick = () => document.body.classList.toggle("legend-open");
// Recent changes (changes.js): the city's change sets in words, each marked on the map, with
// a swipe comparison against the day before it.
const changesTool = new ChangesTool({
  map,
  city: () => state.city,
  showCard: changesCard.show,
  fit: (box) => fitBeside(map, box),
  select: (geometry) => select(map, geometry),
  opened: (id) => {
    state.changeset = id;
    save();
  },
  compareDay: (day) => {
    $("compare-day").value = day;
    openComparison();
  },
  canRevert: (entry) => !state.asOf && mayUndo(state.meta, entry),
  reverted: () => reloadStyle(), // the undone features' tiles have new keys: read them again
  // a deleted feature's history, in ``panel``, for its layer's editors: they may restore it
  mayEdit: (layerId) => !state.asOf && Boolean(state.meta.layers[layerId]?.editing),
  history: (layerId, fid, panel) => openHistory(panel, state.meta, layerId, fid,
    { openFeature, onSaved: (saved) => afterSave(saved, null) }),
});
$("changes").onclick = () => {
  changesCard.claim();
  changesTool.open();
};
// Data quality check (quality.js): a layer's faults counted, listed and marked on the map; a
// fault's feature opens with a way back to them.
const qualityTool = new QualityTool({
  map,
  city: () => state.city,
  meta: () => state.meta,
  showCard: qualityCard.show,
  fit: (box) => fitBeside(map, box),
  openFeature: (layerId, fid) => {
    state.back = Object.assign(() => {
      qualityCard.claim();
      qualityTool.redraw();
      qualityTool.render();
    }, { label: t("quality_back") });
    return openFeature(layerId, fid);
  },
});
$("quality").onclick = () => {
  changesTool.clear();
  catchmentsTool.clear();
  qualityCard.claim();
  qualityTool.open();
};

// Walking catchments (catchments.js): a kind of facility's, or the life circle's, on the map.
const catchmentsTool = new CatchmentsTool({
  map,
  city: () => state.city,
  meta: () => state.meta,
  showCard: catchmentsCard.show,
  fit: (box) => fitBeside(map, box),
});
$("catchments").onclick = () => {
  changesTool.clear();
  qualityTool.clear();
  catchmentsCard.claim();
  catchmentsTool.open();
};

$("query").onclick = () => {
  if (drawer.mode !== "query") drawer.clear();
  queryCard.claim();
  queryTool.open();
};

$("lang").onclick = () => {
  setLang(lang() === "zh" ? "en" : "zh");
  applyLabels();
  relabelMap(map);
  fillCities();
  drawer.render();
  reloadStyle();
  save();
};

wireSignIn({
  city: () => state.city,
  signedOut: () => reloadStyle(),
  signedIn: () => {
    state.visible = null; // show the newly visible layers as the style sets them
    reloadStyle();
  },
});

$("card-close").onclick = () => {
  stopShapeEditing();
  if (document.querySelector("#card .query-form")) queryTool.clear(); // closing the query ends it
  changesTool.clear();
  qualityTool.clear();
  catchmentsTool.clear();
  closeCard();
  clearSelection(map);
  Object.assign(state, { sel: null, selection: null, lastCard: null, back: null });
  save();
};
applyLabels();
fillCities();
