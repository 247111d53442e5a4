// The public map (/public and the static PMTiles site): public layers only, zh/en, legend,
// search and planning details on click. Never sends an API key.
import { attachmentButton, wireAttachments } from "./attachments.js";
import { featuresCard, publicParcelCard } from "./cards.js";
import { openCompare } from "./compare.js";
import { api, cityById, config, esc, hashOf, ownFeature, readHash, writeHash } from "./common.js";
import { applyLabels, lang, mapLocale, pick, relabelMap, setLang, t } from "./i18n.js";
import {
  applyVisibility, chooseTheme, emptyHtml, followZoom, mapNotice, renderSwitcher, say,
  visibleInStyle,
} from "./layers.js";
import { watchMapStatus } from "./mapstatus.js";
import { addBasemap } from "./basemap.js";
import { ChangesTool, installChanges } from "./changes.js";
import {
  askCard, clearSelection, closeCard, featuresUnder, fitBeside, goToPlace, installSelection,
  keepVisible, markPlace, openCard, select, wireSearch,
} from "./ui.js";

const $ = (id) => document.getElementById(id);
const STATIC = config.page === "static";
const start = readHash();
setLang(start.lang || config.lang);
// the city a shared link names (#c=), when this page serves it; else the page's own
const city = config.cities.find((c) => c.id === start.city) || cityById(config.city);
const meta = config.meta[city.id];
const state = {
  city: city.id, visible: start.layers ? new Set(start.layers) : null, sel: null,
  compare: start.compare, // the theme compared, from a link until the legend says it exists
  changeset: null, // the recent change opened (changes.js)
};
let legend = null;
let again = null;
let sharedOpened = false; // a shared link's parcel card is opened once, at the first style

if (STATIC) {
  const protocol = new pmtiles.Protocol();
  maplibregl.addProtocol("pmtiles", protocol.tile);
}
const fill = (template) => template.replace("{city}", city.id).replace("{lang}", lang());
const styleUrl = () => fill(config.styleUrl || "/styles/{city}/public?lang={lang}");
const legendUrl = () => fill(config.legendUrl || "/styles/{city}/legend?style=public&lang={lang}");

const map = new maplibregl.Map({
  container: "map",
  style: styleUrl(),
  center: start.center || city.center,
  zoom: start.zoom ?? city.zoom,
  attributionControl: { compact: true },
  locale: mapLocale(),
});
window.map = map;
window.dcMap = map;
new ResizeObserver(() => map.resize()).observe(document.getElementById("map"));
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
watchMapStatus(map, () => reloadStyle()); // data that cannot be read: said, and read again
const locate = new maplibregl.GeolocateControl({ fitBoundsOptions: { maxZoom: 17 } });
map.addControl(locate, "top-right");
// Located: the card of the parcel where the reader stands ("what applies here"), once the
// map has come to rest there; no card where no parcel is (a street, the river).
locate.on("geolocate", ({ coords }) => {
  if (STATIC || !meta.roles.parcels) return;
  map.once("moveend", async () => {
    try {
      const { longitude: lon, latitude: lat } = coords;
      showParcel(await askCard(api(`/cities/${city.id}/identify?lon=${lon}&lat=${lat}&lang=${lang()}`)));
      keepVisible(map, [coords.longitude, coords.latitude]);
    } catch (err) {
      if (err.status !== 404) console.warn("located parcel", err.message);
    }
  });
});
map.on("moveend", () => writeHash(map, state));

function reloadStyle() {
  document.body.dataset.ready = "0";
  map.setStyle(styleUrl(), { diff: false });
}

map.on("style.load", async () => {
  addBasemap(map, config.basemap);
  installChanges(map);
  installSelection(map);
  if (!state.visible) state.visible = visibleInStyle(map);
  applyVisibility(map, state.visible);
  try {
    legend = await (await fetch(legendUrl())).json();
    mapNotice(map, legend.layers.length ? null : emptyHtml(meta, city.id, { publicMap: true }));
    const changed = () => {
      applyVisibility(map, state.visible);
      writeHash(map, state);
    };
    renderSwitcher($("layer-list"), legend, meta, state.visible, (id, on) => {
      if (on) state.visible.add(id);
      else state.visible.delete(id);
      changed();
      if (compare) compare.refresh();
    }, true, {
      empty: emptyHtml(meta, city.id, { publicMap: true }),
      themes: true, // one thematic fill at a time (layers with a ``theme`` in their definitions)
      onTheme: (id) => {
        chooseTheme(state.visible, legend, id);
        changed();
        if (compare) {
          compare.setLabels(compareLabels($("compare-theme").value));
          compare.refresh();
        }
      },
    });
    fillCompareThemes();
    openThemeComparison(); // again after a new style (the language): its titles and labels
    followZoom($("layer-list"), map);
  } catch (err) {
    console.warn("legend", err.message);
  }
  if (again) again();
  else if (!sharedOpened) {
    sharedOpened = true;
    if (start.changeset && !STATIC) await changesTool.openById(start.changeset);
    else await openShared();
  }
  document.body.dataset.ready = "1";
});

// Swipe comparison of two themes (卷帘对比: current land use against the zoning plan...): the
// map with another theme right of a divider (compare.js); its tiles are that theme's part
// of the tileset and the base layers the map already holds.
let compare = null;
const themeTitle = (id) => (legend && legend.layers.find((l) => l.id === id) || {}).title || say("noTheme");
const shownTheme = () => legend && (legend.layers.find((l) => l.theme && state.visible.has(l.id)) || {}).id;
const compareLabels = (other) => ({ left: themeTitle(shownTheme()), right: themeTitle(other) });

function fillCompareThemes() {
  const themed = legend.layers.filter((l) => l.theme);
  const select = $("compare-theme");
  const chosen = select.value || state.compare;
  select.closest("label").hidden = STATIC || themed.length < 2;
  select.innerHTML = `<option value="">${esc(t("compareNone"))}</option>` +
    themed.map((l) => `<option value="${esc(l.id)}">${esc(l.title)}</option>`).join("");
  select.value = themed.some((l) => l.id === chosen) ? chosen : "";
}

function openThemeComparison() {
  if (compare) compare.close();
  compare = null;
  const other = $("compare-theme").value;
  state.compare = STATIC ? null : other || null; // a static site has no such control
  writeHash(map, state);
  if (!state.compare || !legend) return;
  const view = { // the map's layers with the other theme in place of its own
    get visible() {
      const visible = new Set(state.visible);
      chooseTheme(visible, legend, other);
      return visible;
    },
    opacity: {},
    legend,
  };
  compare = openCompare(map, {
    styleUrl: styleUrl(), instant: null, state: view, labels: compareLabels(other),
    name: t("compareThemeMap", { theme: themeTitle(other) }),
  });
}
$("compare-theme").onchange = openThemeComparison;

// Whether lon/lat ``p`` lies in a GeoJSON Polygon / MultiPolygon (even-odd rule over rings).
function contains(geometry, [x, y]) {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates]
    : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
  let inside = false;
  for (const ring of polygons.flat()) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

// The feature of ``sourceLayer`` under lon/lat, from the loaded tiles even when its layer is
// hidden (the zoning plan is a theme the public map may not be showing).
function sourceFeatureAt(sourceLayer, lngLat) {
  const point = [lngLat.lng, lngLat.lat];
  return map.querySourceFeatures(city.id, { sourceLayer }).find((f) => contains(f.geometry, point));
}

// A parcel card built from tile properties (static site): use from the legend, zone from the
// zoning feature under the point.
function cardFromTiles(parcel, features, lngLat) {
  const parcels = meta.layers[meta.roles.parcels];
  const level1 = legend && legend.layers.find((l) => l.id === meta.roles.parcels);
  const code = level1 && parcel.properties[level1.field];
  // an entry draws one code, or a class with all its subclasses (``values``)
  const entry = level1 && level1.entries.find((e) => e.value === code || (e.values || []).includes(code));
  const zone = features.find((f) => f.sourceLayer === meta.roles.zoning)
    || (meta.roles.zoning && sourceFeatureAt(meta.roles.zoning, lngLat));
  const zInfo = zone && meta.layers[meta.roles.zoning];
  const zp = zone ? zone.properties : {};
  const sem = (zInfo && zInfo.semantics) || {};
  return {
    collection: parcels.collection,
    label: parcels.label && parcel.properties[parcels.label],
    properties: parcel.properties,
    land_use: entry ? landUseFromLegend(entry, code) : null,
    zoning: zone ? zoningFromTiles(zInfo, zp) : null,
  };
}

// The land use of a parcel from the legend entry that colours it: the standard level-1 class,
// or (a city whose own classes come first) the native class it belongs to.
function landUseFromLegend(entry, code) {
  if (entry.values && entry.values.length) {
    return { primary: "native", native: { code: entry.value, name: entry.label, colour: entry.colour } };
  }
  return { standard_level1: { code, name: entry.label.replace(code, "").trim(), colour: entry.colour } };
}

// The zone's card from its tile properties and the plain descriptions shipped with the meta.
function zoningFromTiles(zInfo, zp) {
  const sem = zInfo.semantics || {};
  const code = zp[sem.zone_code];
  const plain = ((zInfo.descriptions || {})[code] || {})[lang()] || null;
  const noLimit = new Set((plain && plain.no_limit) || []);
  return {
    zone_code: code, zone_name: zp[sem.zone_name], colour: null, plain,
    controls: meta.controls.filter((c) => sem[c]).map((c) => {
      const v = zp[sem[c]];
      return {
        control: c, value: v, known: v != null,
        status: v != null ? "value" : noLimit.has(c) ? "no_limit" : "unknown",
        unit: zInfo.fields[sem[c]].unit, source: zp[sem.controls_source],
      };
    }),
  };
}

// A parcel's card from the API, with a button to share it: the link (#sel=) opens the map
// on this card. A phone offers its share sheet; elsewhere the link is copied, or shown to
// copy by hand where the clipboard is refused.
function showParcel(card) {
  select(map, card.geometry);
  openCard(publicParcelCard(card, meta) +
    `<p class="share-place"><button type="button" id="share-place">${esc(t("sharePlace"))}</button>` +
    `<input id="share-place-url" class="share-url" readonly hidden></p>`);
  state.sel = card.fid;
  writeHash(map, state);
  $("share-place").onclick = async () => {
    const url = location.href.split("#")[0] + hashOf(map, state);
    if (navigator.share) {
      try {
        await navigator.share({ title: card.label || document.title, url });
        return;
      } catch (err) {
        if (err.name === "AbortError") return; // the reader closed the share sheet
      }
    }
    try {
      await navigator.clipboard.writeText(url);
      $("share-place").textContent = t("copied");
    } catch {
      const field = $("share-place-url");
      field.hidden = false;
      field.value = url;
      field.select();
    }
  };
}

// A parcel's card from the tiles (a static site): its fid and geometry go with it, so it can
// be shared as the API's is. ``lngLat``: a point inside the parcel, where the zone is read.
function showTileParcel(parcel, features, lngLat) {
  showParcel({ ...cardFromTiles(parcel, features, lngLat), fid: parcel.id, geometry: parcel.geometry });
}

// A point inside a polygon feature for reading what lies under it: ``hint`` when inside, else
// the middle of its outer ring's vertices when that is inside, else its first vertex.
function pointIn(geometry, hint) {
  if (contains(geometry, hint)) return hint;
  const ring = (geometry.type === "Polygon" ? geometry.coordinates : geometry.coordinates[0])[0];
  const mid = [0, 1].map((i) => ring.reduce((sum, p) => sum + p[i], 0) / ring.length);
  return contains(geometry, mid) ? mid : ring[0];
}

// A shared link's parcel (#sel=fid) on a static site: found in the tiles of the link's view.
async function openSharedFromTiles() {
  await new Promise((resolve) => map.once("idle", resolve));
  const parcel = map.querySourceFeatures(city.id, { sourceLayer: meta.roles.parcels })
    .find((f) => f.id === start.sel);
  if (!parcel) return; // not in this view's tiles: the map alone
  const c = map.getCenter();
  const [lng, lat] = pointIn(parcel.geometry, [c.lng, c.lat]);
  showTileParcel(parcel, [], { lng, lat });
}

// A shared link's parcel (#sel=fid): its card, once the map has its style.
async function openShared() {
  if (start.sel == null || !meta.roles.parcels) return;
  if (STATIC) return openSharedFromTiles();
  try {
    const card = await askCard(api(`/cities/${city.id}/parcels/${start.sel}?lang=${lang()}`));
    showParcel(card);
    // a link that names the parcel but no view, or a view without it: go to the parcel
    if (card.centroid && (start.center == null || !map.getBounds().contains(card.centroid))) {
      map.jumpTo({ center: card.centroid, zoom: Math.max(map.getZoom(), 17) });
    }
    if (card.centroid) keepVisible(map, card.centroid);
    again = () => askCard(api(`/cities/${city.id}/parcels/${card.fid}?lang=${lang()}`)).then(showParcel);
  } catch (err) {
    console.warn("shared parcel", err.message); // gone since the link was made: the map alone
  }
}

// The card of features other than parcels, with the public files kept with the first (a
// hydrant's survey photos) where its layer keeps them for everyone (attachments.js).
function openFeatures(features) {
  const [first] = features;
  openCard(featuresCard(features, meta) + attachmentButton(meta, first.layer, first.fid, "photosAndFiles"));
  wireAttachments(document.getElementById("card"), meta);
}

async function identify(e) {
  const features = map.queryRenderedFeatures(e.point).filter(ownFeature);
  const parcel = features.find((f) => f.sourceLayer === meta.roles.parcels);
  try {
    if (parcel && !STATIC) {
      const { lng, lat } = e.lngLat;
      const card = await askCard(api(`/cities/${city.id}/identify?lon=${lng}&lat=${lat}&lang=${lang()}`));
      showParcel(card);
      keepVisible(map, e.lngLat);
      again = () => identify(e);
      return;
    }
    if (parcel) {
      showTileParcel(parcel, features, e.lngLat);
      keepVisible(map, e.lngLat);
      again = () => identify(e);
      return;
    }
  } catch (err) {
    if (err.status !== 404) return openCard(`<p class="error">${esc(t("error", { msg: err.message }))}</p>`);
  }
  // any other feature: every public field, read from the API (the tiles carry only what is
  // drawn at low zoom); a static site shows what its tiles carry
  const shown = await askCard(featuresUnder(map, e.point, meta, STATIC ? null : api));
  if (!shown.length) return;
  select(map, shown[0].geometry);
  openFeatures(shown);
  state.sel = null; // links name parcels only
  writeHash(map, state);
  again = () => identify(e);
}
map.on("click", identify);

// A query spelled in pinyin ("Si Ming" -> "siming"), or null: the rules of the API's search
// (digitalcity/pinyin_keys.py, spelling).
function spelling(q) {
  const text = q.trim().toLowerCase();
  if (!/^[a-z][a-z' -]*$/.test(text)) return null;
  const key = text.replace(/[^a-z0-9]/g, "");
  return key.length >= 2 ? key : null;
}

// Whether ``value`` is spelled by ``key`` in the archive's pinyin keys ("spellings|initials",
// each space-separated): at the start of a spelling or initials, or inside a spelling for
// keys of 4 letters or more, as the API's search matches them.
function spelledBy(value, key) {
  const keys = (config.pinyin || {})[String(value ?? "")];
  if (!key || !keys) return false;
  const [spelled, initials] = keys.split("|").map((k) => k.split(" "));
  return [...spelled, ...initials].some((k) => k.startsWith(key))
    || (key.length >= 4 && spelled.some((k) => k.includes(key)));
}

// The words of a query matched in any order, by the rules of the API's search
// (digitalcity/search.py, query_words): its four longest of three letters or more, when it
// has two or more.
function queryWords(q) {
  const words = [...new Set(q.toLowerCase().replace(/,/g, " ").split(/\s+/).filter(Boolean))];
  const kept = words.filter((w) => [...w].length >= 3)
    .sort((a, b) => [...b].length - [...a].length || words.indexOf(a) - words.indexOf(b))
    .slice(0, 4);
  return kept.length >= 2 ? kept : [];
}

// Whether ``value`` holds the query: the whole of it, or each of its words in any order.
function holds(value, needle, words) {
  const text = String(value ?? "").toLowerCase();
  return text.includes(needle) || (words.length > 0 && words.every((w) => text.includes(w)));
}

// Static site: search what is in the loaded tiles (label and search fields of each layer),
// words in any order, Chinese names by their pinyin too.
function searchTiles(q) {
  const needle = q.toLowerCase();
  const words = queryWords(q);
  const key = spelling(q);
  const hits = [];
  for (const [id, info] of Object.entries(meta.layers)) {
    const fields = [...new Set([info.label, ...info.search].filter(Boolean))];
    for (const f of map.querySourceFeatures(city.id, { sourceLayer: id })) {
      const value = fields.map((n) => f.properties[n]).find((v) => holds(v, needle, words)
        || spelledBy(v, key));
      if (value != null && !hits.some((h) => h.layer === id && h.fid === f.id)) {
        const name = (info.names && f.properties[pick(info.names)]) ?? f.properties[info.label];
        hits.push({ layer: id, fid: f.id, label: String(name ?? value), feature: f });
      }
    }
  }
  return { hits: hits.slice(0, 8) };
}

wireSearch({
  search: (q) => (STATIC ? searchTiles(q)
    : api(`/cities/${city.id}/search?q=${encodeURIComponent(q)}&limit=8&lang=${lang()}`)),
  choose: async (hit) => {
    state.sel = null; // a parcel's card sets it again
    if (hit.kind === "coordinates") { // 坐标定位: what lies at the place, as a tap there
      const at = await goToPlace(map, hit);
      return identify({ lngLat: at, point: map.project(at) });
    }
    markPlace(map, null);
    if (hit.feature) {
      select(map, hit.feature.geometry);
      const c = hit.feature.geometry.type === "Point" ? hit.feature.geometry.coordinates : null;
      if (c) map.flyTo({ center: c, zoom: Math.max(map.getZoom(), 16) });
      openCard(featuresCard([{ layer: hit.layer, properties: hit.feature.properties }], meta));
      return;
    }
    map.fitBounds(hit.bbox, { padding: 60, maxZoom: 18, duration: 600 });
    again = null;
    if (hit.layer === meta.roles.parcels) {
      showParcel(await askCard(api(`/cities/${city.id}/parcels/${hit.fid}?lang=${lang()}`)));
      return;
    }
    const item = await askCard(api(`/collections/${hit.collection}/items/${hit.fid}?lang=${lang()}`));
    select(map, item.geometry);
    openFeatures([{ layer: hit.layer, fid: hit.fid, properties: item.properties }]);
  },
});

$("lang").onclick = () => {
  setLang(lang() === "zh" ? "en" : "zh");
  applyLabels();
  relabelMap(map);
  reloadStyle();
  writeHash(map, state);
};
$("legend-toggle").onclick = () => document.body.classList.toggle("legend-open");
// Recent changes (changes.js): what the land bureau changed, in words, marked on the map.
const changesTool = new ChangesTool({
  map,
  city: () => city.id,
  showCard: (html, again_) => {
    again = again_;
    openCard(html);
  },
  fit: (box) => fitBeside(map, box),
  select: (geometry) => select(map, geometry),
  opened: (id) => {
    state.changeset = id;
    writeHash(map, state);
  },
});
$("changes-toggle").hidden = STATIC; // a static site has no history to read
$("changes-toggle").onclick = () => {
  document.body.classList.remove("legend-open");
  changesTool.open();
};
$("card-close").onclick = () => {
  changesTool.clear();
  closeCard();
  clearSelection(map);
  again = null;
  state.sel = null;
  writeHash(map, state);
};
applyLabels();
