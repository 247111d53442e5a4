// Shared by the map pages: page config, API calls (with the planner's key), URL-hash state,
// HTML escaping and number formatting.
import { lang, t } from "./i18n.js";

export const config = JSON.parse(document.getElementById("dc-config").textContent);
const KEY_STORE = "digitalcity.apiKey";

export function apiKey() {
  return config.page === "planner" ? sessionStorage.getItem(KEY_STORE) : null;
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORE, key);
  else sessionStorage.removeItem(KEY_STORE);
}

function sameOrigin(url) {
  return new URL(url, location.href).origin === location.origin;
}

function withKey(url, headers = {}, key = apiKey()) {
  return key && sameOrigin(url) ? { ...headers, "X-API-Key": key } : headers;
}

// The instant the map shows (the planner's date control); null: now.
let asOf = null;

export function setAsOf(instant) {
  asOf = instant;
}

function withInstant(path, instant) {
  if (!instant) return path;
  return `${path}${path.includes("?") ? "&" : "?"}as-of=${encodeURIComponent(instant)}`;
}

/** Whether the map shows a past day (no editing then). */
export function showsPast() {
  return asOf !== null;
}

/** ``path`` with ``as-of`` added when the map shows a past day. */
export function withAsOf(path) {
  return withInstant(path, asOf);
}

/** A MapLibre transformRequest for a map of ``instant`` (null: now): the key goes with
 * style, TileJSON and tile requests; tiles carry the instant. */
export function transformRequestAt(instant) {
  return (url) => {
    const headers = withKey(url);
    const target = sameOrigin(url) && /\/tiles\//.test(new URL(url, location.href).pathname)
      ? withInstant(url, instant) : url;
    return Object.keys(headers).length ? { url: target, headers } : { url: target };
  };
}

/** The transformRequest of the planner's map: tiles carry the date control's instant. */
export function transformRequest(url) {
  return transformRequestAt(asOf)(url);
}

/** The raw response of an API call with extra headers (ETags, If-Match); throws ApiError. */
export async function apiResponse(path, { method = "GET", body, headers = {} } = {}) {
  const all = withKey(path, body ? { "Content-Type": "application/json", ...headers } : headers);
  const response = await fetch(path, { method, headers: all, body: body ? JSON.stringify(body) : undefined });
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const error = new ApiError(response.status, data.detail || data.title || String(data));
    error.faults = (data && data.faults) || [];
    throw error;
  }
  return { response, data };
}

/** Undo change set ``changeset`` of a collection, saying why (``reason``); throws ApiError
 * (409: its features changed again since; 403: not the caller's to undo). */
export function revertChangeset(collection, changeset, reason) {
  return apiResponse(`/collections/${encodeURIComponent(collection)}/changesets/${changeset}/revert`,
    { method: "POST", headers: { "X-Change-Reason": encodeURIComponent(reason) } });
}

/**
 * Questions of which only the last asked is answered (a card, a search, a tool's result):
 * ``ask(promise)`` settles as ``promise`` does unless another question was asked, or ``drop()``
 * called, meanwhile; then it never settles, so the code awaiting it does not go on to draw an
 * answer, or an error, the reader has moved past.
 */
export class Latest {
  constructor() {
    this.turn = 0;
  }

  ask(promise) {
    const mine = ++this.turn;
    return new Promise((resolve, reject) => {
      Promise.resolve(promise).then( // a value as well (a static site's search of its tiles)
        (value) => { if (mine === this.turn) resolve(value); },
        (err) => { if (mine === this.turn) reject(err); },
      );
    });
  }

  /** Answers on their way are no longer wanted; the turn it is now, for ``still``. */
  drop() {
    return ++this.turn;
  }

  /** Whether nothing was asked, nor dropped, since ``turn``. */
  still(turn) {
    return turn === this.turn;
  }
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

/** JSON from the API (same origin); problem JSON becomes an ApiError (its ``message`` in the
 * request's language where the problem has one). A Blob body (a file) is sent as it is. */
export async function api(path, { method = "GET", body, key } = {}) {
  const file = body instanceof Blob;
  const type = file ? "application/octet-stream" : "application/json";
  const headers = withKey(path, body ? { "Content-Type": type } : {}, key);
  const response = await fetch(path, {
    method, headers, body: body && !file ? JSON.stringify(body) : body,
  });
  const kind = response.headers.get("content-type") || "";
  const data = kind.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    throw new ApiError(response.status, data.message || data.detail || data.title || String(data));
  }
  return data;
}

/** The body of ``path`` (fetched with the key) as a Blob; throws ApiError. */
export async function blobOf(path) {
  const response = await fetch(path, { headers: withKey(path) });
  if (!response.ok) throw new ApiError(response.status, response.statusText);
  return response.blob();
}

/** Send ``file`` (a File or Blob) as the body of a POST to ``path``, with the key; the JSON
 * answer, or an ApiError with the answer's status. */
export async function sendFile(path, file) {
  const headers = withKey(path, { "Content-Type": file.type || "application/octet-stream" });
  const response = await fetch(path, { method: "POST", headers, body: file });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data.detail || data.title || response.statusText);
  return data;
}

/** Fetch ``path`` (with the key) and save it as ``filename``. */
export async function download(path, filename) {
  const response = await fetch(path, { headers: withKey(path) });
  if (!response.ok) throw new ApiError(response.status, response.statusText);
  saveBlob(await response.blob(), filename);
}

/** Save ``blob`` as a file named ``filename`` (the browser's download). */
export function saveBlob(blob, filename) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

/** State in the URL hash: #c=city&z=zoom&ll=lon,lat&layers=a,b&sel=fid&at=day&cmp=day-or-layer
 * &qry=query&chg=id&site=token&lang=zh (``at``: the planner's date control; ``cmp``: the swipe
 * comparison's day or theme; ``qry``: the planner's query by attributes, as ``query.js`` writes
 * it; ``chg``: a recent change opened, ``changes.js``; ``site``: a saved site boundary,
 * ``boundary.js``). A value
 * out of its range (a hand-edited or cut link: ll=0,1000 left the map unable to start) is
 * dropped, and the city's own default used instead. */
export function readHash(hash = location.hash) {
  const p = new URLSearchParams(hash.replace(/^#/, ""));
  const ll = (p.get("ll") || "").split(",").map(Number);
  const num = (v) => (v === null || v === "" || Number.isNaN(Number(v)) ? null : Number(v));
  const zoom = num(p.get("z"));
  const sel = num(p.get("sel"));
  const chg = num(p.get("chg"));
  const onEarth = ll.length === 2 && Math.abs(ll[0]) <= 180 && Math.abs(ll[1]) <= 90;
  const day = (v) => (/^\d{4}-\d{2}-\d{2}$/.test(v || "") && !Number.isNaN(Date.parse(v)) ? v : null);
  const cmp = p.get("cmp") || "";
  return {
    city: p.get("c") || null,
    zoom: zoom !== null && zoom >= 0 && zoom <= 24 ? zoom : null,
    center: onEarth ? ll : null,
    layers: p.has("layers") ? p.get("layers").split(",").filter(Boolean) : null,
    sel: Number.isSafeInteger(sel) && sel >= 0 ? sel : null,
    lang: ["zh", "en"].includes(p.get("lang")) ? p.get("lang") : null,
    at: day(p.get("at")), // the planner's day (its date control)
    compare: day(cmp) || (/^[a-z][a-z0-9_]{0,47}$/.test(cmp) ? cmp : null), // a day or a layer
    query: p.get("qry"), // the planner's query by attributes (query.js checks it)
    changeset: Number.isSafeInteger(chg) && chg >= 1 ? chg : null, // a recent change (changes.js)
    site: /^[A-Za-z0-9_-]{16,64}$/.test(p.get("site") || "") ? p.get("site") : null, // boundary.js
  };
}

export function hashOf(map, state) {
  const c = map.getCenter();
  const p = new URLSearchParams();
  p.set("c", state.city);
  p.set("z", map.getZoom().toFixed(2));
  p.set("ll", `${c.lng.toFixed(6)},${c.lat.toFixed(6)}`);
  if (state.visible) p.set("layers", [...state.visible].join(","));
  if (state.sel != null) p.set("sel", String(state.sel));
  if (state.at) p.set("at", state.at);
  if (state.compare) p.set("cmp", state.compare);
  if (state.query) p.set("qry", state.query);
  if (state.changeset) p.set("chg", String(state.changeset));
  if (state.site) p.set("site", state.site);
  p.set("lang", lang());
  return "#" + p.toString().replace(/%2C/g, ",");
}

export function writeHash(map, state) {
  history.replaceState(null, "", hashOf(map, state));
}

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (ch) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[ch]
  ));
}

export function num(value, digits = 0) {
  if (value == null || Number.isNaN(Number(value))) return t("unknown");
  return Number(value).toLocaleString(lang() === "zh" ? "zh-CN" : "en-US", {
    maximumFractionDigits: digits,
  });
}

/** The lon/lat box [west, south, east, north] of GeoJSON ``geometries`` (null for none). */
export function lonLatBox(geometries) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === "number") {
      box[0] = Math.min(box[0], c[0]); box[1] = Math.min(box[1], c[1]);
      box[2] = Math.max(box[2], c[0]); box[3] = Math.max(box[3], c[1]);
    } else c.forEach(walk);
  };
  for (const g of geometries) if (g) walk(g.coordinates);
  return box[0] === Infinity ? null : box;
}

/** The map's view as a lon/lat box [west, south, east, north], within the Earth's. */
export function viewBox(map) {
  const b = map.getBounds();
  const clamp = (v, limit) => Math.max(-limit, Math.min(limit, v));
  return [clamp(b.getWest(), 180), clamp(b.getSouth(), 90), clamp(b.getEast(), 180), clamp(b.getNorth(), 90)];
}

/** A lon/lat box [west, south, east, north] as a GeoJSON polygon. */
export function boxPolygon([w, s, e, n]) {
  return { type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] };
}

export function swatch(colour) {
  return colour ? `<span class="swatch" style="background:${esc(colour)}"></span>` : "";
}

export function cityById(id) {
  return config.cities.find((c) => c.id === id) || config.cities[0];
}

// A rendered feature of one of our layers, not one of its label points (a polygon's label is
// drawn from a point layer of its own; the polygon under the label is what a click means).
export function ownFeature(f) {
  return Boolean(f.layer.metadata) && f.sourceLayer === f.layer.metadata["digitalcity:layer"];
}
