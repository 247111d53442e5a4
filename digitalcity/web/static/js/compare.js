// Swipe comparison (卷帘对比): the same view as of another day, right of a divider the reader
// drags (or moves with the arrow keys). The second map follows the first and takes no input of
// its own, so the reader pans, zooms and clicks the main map as before.
import { transformRequestAt } from "./common.js";
import { t } from "./i18n.js";
import { applyVisibility, setOpacity } from "./layers.js";

const STEP = 0.05; // of the map's width, per arrow key

/**
 * Open a comparison over ``map``: ``styleUrl`` drawn as of ``instant`` (RFC 3339; null: now),
 * with the layers and opacities of ``state`` (``visible``, ``opacity``, ``legend``: the planner
 * passes its own, the public map its own with another theme); ``labels`` name the two sides,
 * ``name`` the compared map to screen readers. Returns {refresh(), setStyle(url),
 * setLabels(labels), close()}.
 */
export function openCompare(map, { styleUrl, instant, state, labels, name }) {
  const host = map.getContainer();
  const box = document.createElement("div");
  box.id = "compare-map";
  box.className = "compare-map";
  const divider = document.createElement("div");
  divider.id = "swipe";
  divider.className = "swipe";
  divider.tabIndex = 0;
  divider.setAttribute("role", "slider");
  divider.setAttribute("aria-label", t("compareDivider"));
  divider.setAttribute("aria-valuemin", "0");
  divider.setAttribute("aria-valuemax", "100");
  divider.innerHTML = `<span class="swipe-label left"></span><span class="swipe-handle" aria-hidden="true">⇔</span>` +
    `<span class="swipe-label right"></span>`;
  const setLabels = ({ left, right }) => {
    divider.querySelector(".left").textContent = left;
    divider.querySelector(".right").textContent = right;
  };
  setLabels(labels);
  host.append(box, divider);

  const compare = new maplibregl.Map({
    container: box,
    style: styleUrl,
    center: map.getCenter(),
    zoom: map.getZoom(),
    bearing: map.getBearing(),
    pitch: map.getPitch(),
    interactive: false,
    attributionControl: false,
    transformRequest: transformRequestAt(instant),
  });
  // a landmark of its own name (two canvases both called "Map" are one landmark twice)
  compare.getCanvas().setAttribute("aria-label", name);
  window.dcCompare = compare;
  let styled = false; // its style's layers exist (``isStyleLoaded`` waits for its tiles too)
  const refresh = () => {
    if (!styled || !state.visible) return;
    applyVisibility(compare, state.visible);
    if (state.legend) {
      for (const [id, factor] of Object.entries(state.opacity)) setOpacity(compare, state.legend, id, factor);
    }
  };
  compare.on("style.load", () => {
    styled = true;
    refresh();
  });
  const follow = () => compare.jumpTo({
    center: map.getCenter(), zoom: map.getZoom(), bearing: map.getBearing(), pitch: map.getPitch(),
  });
  map.on("move", follow);
  const resized = new ResizeObserver(() => {
    compare.resize();
    place(share);
  });

  let share = 0.5; // the divider's place, a share of the map's width
  function place(value) {
    share = Math.min(1, Math.max(0, value));
    const x = share * host.clientWidth;
    divider.style.left = `${x}px`;
    box.style.clipPath = `inset(0 0 0 ${x}px)`;
    divider.setAttribute("aria-valuenow", String(Math.round(share * 100)));
  }
  divider.addEventListener("pointerdown", (event) => {
    divider.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  divider.addEventListener("pointermove", (event) => {
    if (!divider.hasPointerCapture(event.pointerId)) return;
    const rect = host.getBoundingClientRect();
    place((event.clientX - rect.left) / rect.width);
  });
  divider.addEventListener("keydown", (event) => {
    const moves = { ArrowLeft: -STEP, ArrowRight: STEP, Home: -1, End: 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    place(share + moves[event.key]);
  });
  place(share);
  resized.observe(host);

  return {
    refresh,
    setLabels,
    setStyle(url) {
      styled = false;
      compare.setStyle(url, { diff: false });
    },
    close() {
      map.off("move", follow);
      resized.disconnect();
      compare.remove();
      box.remove();
      divider.remove();
      if (window.dcCompare === compare) window.dcCompare = null;
    },
  };
}
