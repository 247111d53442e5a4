// Says over the map when its data cannot be read (the network or the server down: a style or
// tiles that failed to arrive, or came back with a 5xx) and offers to read it again; says when
// the browser goes offline, and reads the map again once it is back online. A tile the server
// refuses for a reason of its own (4xx) is not a failure to report, nor is the optional external
// basemap's (another service's tiles under the city's layers).
import { BASEMAP_SOURCE } from "./basemap.js";
import { esc } from "./common.js";
import { phrases } from "./i18n.js";
import { mapNotice } from "./layers.js";

const TEXT = {
  zh: {
    unreadable: "地图数据暂时无法载入。",
    offline: "网络已断开，地图暂时无法载入新的数据。",
    retry: "重新载入",
  },
  en: {
    unreadable: "The map's data could not be loaded.",
    offline: "You are offline: the map cannot load new data for now.",
    retry: "Try again",
  },
};
const say = phrases(TEXT);

/** Whether MapLibre's ``error`` is data that did not arrive: a failed request (no status, or
 * status 0) or a server error (5xx); a request the map itself cancelled is not. */
export function unreadable(error) {
  if (!error || error.name === "AbortError") return false;
  const status = error.status;
  return status == null || status === 0 || status >= 500;
}

/**
 * Watch ``map`` for data it cannot read; ``reload()`` reads its style and tiles again (the
 * page's own).
 */
export function watchMapStatus(map, reload) {
  let shown = null; // "unreadable" | "offline" | null
  const show = (key) => {
    shown = key;
    const button = `<button type="button" class="link map-retry">${esc(say("retry"))}</button>`;
    mapNotice(map, `${esc(say(key))} ${button}`, "status");
    map.getContainer().querySelector(".map-retry").onclick = retry;
  };
  const retry = () => {
    shown = null;
    mapNotice(map, null, "status");
    reload();
  };
  map.on("error", (event) => {
    if (event.sourceId === BASEMAP_SOURCE || !unreadable(event.error)) return;
    show(navigator.onLine ? "unreadable" : "offline");
  });
  // a style loaded afresh clears the notice: its tiles are asked for after it, and said again
  // if they fail
  map.on("style.load", () => {
    shown = null;
    mapNotice(map, null, "status");
  });
  window.addEventListener("offline", () => show("offline"));
  window.addEventListener("online", () => { if (shown) retry(); });
}
