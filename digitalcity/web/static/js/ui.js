// Page furniture shared by the planner and the public map: the selection highlight, the card
// panel and the search box with its hit list.
import { Latest, esc, ownFeature } from "./common.js";
import { lang, pick, t } from "./i18n.js";

const SELECTION = "dc-selection";
const EMPTY = { type: "FeatureCollection", features: [] };
let selected = EMPTY;

/** (Re-)add the highlight source and layers on top of the style; call after every style load. */
export function installSelection(map) {
  if (map.getSource(SELECTION)) return;
  map.addSource(SELECTION, { type: "geojson", data: selected });
  map.addLayer({ id: "dc-selection-fill", type: "fill", source: SELECTION,
    filter: ["!=", ["geometry-type"], "Point"],
    paint: { "fill-color": "#ffd400", "fill-opacity": 0.35 } });
  map.addLayer({ id: "dc-selection-line", type: "line", source: SELECTION,
    paint: { "line-color": "#d62728", "line-width": 3 } });
  map.addLayer({ id: "dc-selection-point", type: "circle", source: SELECTION,
    filter: ["==", ["geometry-type"], "Point"],
    paint: { "circle-radius": 9, "circle-color": "rgba(0,0,0,0)", "circle-stroke-width": 3,
      "circle-stroke-color": "#d62728" } });
}

export function select(map, geometry) {
  selected = geometry
    ? { type: "FeatureCollection", features: [{ type: "Feature", properties: {}, geometry }] }
    : EMPTY;
  const source = map.getSource(SELECTION);
  if (source) source.setData(selected);
}

export function clearSelection(map) {
  select(map, null);
}

export function openCard(html) {
  document.getElementById("card-body").innerHTML = html;
  const card = document.getElementById("card");
  card.hidden = false;
  card.removeAttribute("aria-busy"); // drawn anew: no longer being read again (planner.js)
  document.body.classList.remove("legend-open"); // on a phone: one bottom sheet at a time
}

const cardQuestions = new Latest(); // the card's (askCard)

/**
 * The answer to a question whose answer goes in the card (a parcel clicked, a search hit):
 * only the last question asked counts, as when a parcel is clicked, then another before the
 * first one's card came. Settles as ``promise`` does unless a later question was asked or the
 * card closed meanwhile; then it never settles, so the code awaiting it does not go on to draw
 * a card the reader has moved past, nor an error for it.
 */
export function askCard(promise) {
  return cardQuestions.ask(promise);
}

/**
 * The reader turned to a card of their own choosing (a tool opened, or its results gone back
 * to): answers still on their way to the card are no longer wanted. The turn it is now, for
 * ``cardStillAt``.
 */
export function claimCard() {
  return cardQuestions.drop();
}

/** Whether no other card was asked for, nor the card closed, since ``turn``. */
export function cardStillAt(turn) {
  return cardQuestions.still(turn);
}

/** Whether the card is a bottom sheet: on phones, tablets held upright and narrow windows (the
 * width app.css's ``@media (max-width: 900px)`` rules take), but not on a phone on its side,
 * whose card is a panel at the right (app.css's ``max-height: 500px`` rule). */
export function sheets() {
  return window.matchMedia("(max-width: 900px)").matches &&
    !window.matchMedia("(min-width: 601px) and (max-height: 500px)").matches;
}

/** On narrow screens the card is a bottom sheet: pan so ``lngLat`` shows above it. */
export function keepVisible(map, lngLat) {
  const card = document.getElementById("card");
  if (!sheets() || card.hidden) return;
  const box = map.getContainer().getBoundingClientRect();
  const free = card.getBoundingClientRect().top - box.top;
  const y = map.project(lngLat).y;
  if (y > free - 40) map.panBy([0, y - free / 2], { duration: 300 });
}

/** Fit the map to a lon/lat ``box`` [w, s, e, n], clear of the open card: padded from below
 * for a bottom sheet (phones), from the side the card is on otherwise (at the right on a wide
 * screen, at the left on a phone on its side). */
export function fitBeside(map, box, maxZoom = 17) {
  const card = document.getElementById("card");
  const padding = { top: 40, left: 40, right: 40, bottom: 40 };
  if (card && !card.hidden) {
    const area = map.getContainer().getBoundingClientRect();
    const over = card.getBoundingClientRect();
    if (sheets()) padding.bottom += Math.max(0, area.bottom - over.top);
    else if (over.left > area.left + area.width / 2) padding.right += area.right - over.left + 20;
    else padding.left += Math.max(0, over.right - area.left) + 20;
  }
  map.fitBounds([[box[0], box[1]], [box[2], box[3]]], { padding, maxZoom, duration: 600 });
}

let pin = null; // the place searched by its coordinates (goToPlace)

/** Pin ``lngLat``, a place searched by its coordinates, in place of the last pin (none when
 * ``lngLat`` is null). */
export function markPlace(map, lngLat) {
  if (pin) pin.remove();
  pin = lngLat ? new maplibregl.Marker({ color: "#d62728" }).setLngLat(lngLat).addTo(map) : null;
  if (pin) pin.getElement().setAttribute("aria-label", t("placeSearched"));
}

/** Fly to a search hit of kind "coordinates" (坐标定位: lon, lat in degrees) and pin it;
 * resolves with its LngLat once the map has drawn there, so what lies under it can be read
 * from the tiles as a click would. */
export async function goToPlace(map, hit) {
  const lngLat = new maplibregl.LngLat(hit.lon, hit.lat);
  markPlace(map, lngLat);
  map.flyTo({ center: lngLat, zoom: Math.max(map.getZoom(), 17), duration: 600 });
  await map.once("idle");
  return lngLat;
}

export function closeCard() {
  cardQuestions.drop(); // an answer on its way is no longer wanted
  if (pin) pin.remove();
  pin = null;
  document.getElementById("card").hidden = true;
  document.getElementById("card-body").innerHTML = "";
}

/**
 * Wire the search form: ``search(q)`` returns {hits}; the best hit is chosen at once
 * (``choose(hit)``) and the others listed to pick from. Only the last search made is
 * answered: an earlier one's slower hits are dropped. Its best hit's card opens unless
 * another card was asked for, or the card closed, while it was searched; its hits are then
 * only listed.
 */
export function wireSearch({ search, choose }) {
  const form = document.getElementById("search");
  const input = document.getElementById("q");
  const list = document.getElementById("hits");
  let hits = [];
  const searches = new Latest();
  form.onsubmit = async (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    const asked = claimCard(); // a card still on its way was asked for before this search
    let found;
    try {
      found = (await searches.ask(search(q))).hits; // a later search supersedes this one
    } catch (err) {
      hits = [];
      list.innerHTML = `<li class="error">${esc(t("error", { msg: err.message }))}</li>`;
      list.hidden = false;
      return;
    }
    hits = found;
    list.innerHTML = hits.length
      ? hits.map((h, i) => `<li><button type="button" data-hit="${i}"><span class="data">${esc(h.label)}</span>` +
        `<span class="muted"> ${esc(pick(h.layer_title) || h.layer)}</span></button></li>`).join("")
      : `<li class="muted">${esc(t("noHits"))}</li>`;
    list.hidden = false;
    if (hits.length && cardStillAt(asked)) await choose(hits[0]);
  };
  list.onclick = async (event) => {
    const button = event.target.closest("[data-hit]");
    if (!button) return;
    list.hidden = true;
    await choose(hits[Number(button.dataset.hit)]);
  };
  input.addEventListener("input", () => {
    if (!input.value) list.hidden = true;
  });
  document.addEventListener("click", (event) => {
    if (!form.contains(event.target)) list.hidden = true;
  });
}

/**
 * Up to three features under ``point``, topmost first, each with every field the caller may
 * see: ``read(path)`` fetches the feature from the API (the tiles carry only the drawn fields
 * at low zoom); without ``read`` (a static site), or when a read fails, the tile's fields.
 */
export async function featuresUnder(map, point, meta, read = null) {
  const hits = map.queryRenderedFeatures(point).filter(ownFeature);
  const seen = new Set();
  const unique = hits.filter((f) => {
    const key = `${f.sourceLayer}:${f.id}`;
    return !seen.has(key) && seen.add(key);
  }).slice(0, 3);
  return Promise.all(unique.map(async (f) => {
    const info = meta.layers[f.sourceLayer];
    const fromTile = { layer: f.sourceLayer, properties: f.properties, geometry: f.geometry };
    if (!read || !info || f.id == null) return fromTile;
    try {
      const item = await read(`/collections/${info.collection}/items/${f.id}?lang=${lang()}`);
      return { ...fromTile, fid: f.id, properties: item.properties };
    } catch (err) {
      return fromTile;
    }
  }));
}
