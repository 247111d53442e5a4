// Coordinates on the planner's map: the pointer's, in a corner while a mouse is over the map
// (坐标显示), and a point's, to copy, from the map's context menu (a right click: 此处坐标).
// Each is written in longitude and latitude and in the city's local CRS as that CRS writes it
// (a Chinese Gauss–Krüger X is the northing, Y the easting), projected by proj4js from the
// definition the server gives (meta.local_crs, digitalcity/coordinates.py). A touch screen
// has no pointer to follow, and app.css hides the corner there.
import { esc } from "./common.js";
import { t } from "./i18n.js";

const projections = new Map(); // CRS code -> proj4 converter from lon/lat

/** The point's coordinates as lines {label, text}: lon/lat (6 decimals), and ``crs``'s own
 * axes in its own order to the centimetre when proj4js can project into it. */
export function coordinateLines(crs, { lng, lat }) {
  const lines = [{ label: t("lonLat"), text: `${lng.toFixed(6)}, ${lat.toFixed(6)}` }];
  const local = crs ? projected(crs, lng, lat) : null;
  if (local) lines.push({ label: crs.code, text: local });
  return lines;
}

function projected(crs, lng, lat) {
  let project = projections.get(crs.code);
  if (!project) {
    try {
      project = proj4("EPSG:4326", crs.proj4);
    } catch (err) {
      return null; // a definition proj4js does not know: lon/lat alone
    }
    projections.set(crs.code, project);
  }
  const [east, north] = project.forward([lng, lat]);
  if (!Number.isFinite(east) || !Number.isFinite(north)) return null;
  const [x, y] = crs.east_first ? [east, north] : [north, east];
  return `${crs.axes[0]} ${x.toFixed(2)}, ${crs.axes[1]} ${y.toFixed(2)}`;
}

/** The pointer's coordinates: a MapLibre control; ``crsOf()`` is the current city's local
 * CRS (meta.local_crs). */
export class PointerCoordinates {
  constructor(crsOf) {
    this.crsOf = crsOf;
  }

  onAdd(map) {
    this.map = map;
    this.el = document.createElement("div");
    this.el.id = "pointer-xy";
    this.el.className = "maplibregl-ctrl pointer-xy";
    this.el.hidden = true;
    this.onMove = (e) => this.show(e.lngLat);
    this.onLeave = () => { this.el.hidden = true; };
    map.on("mousemove", this.onMove);
    map.getCanvasContainer().addEventListener("mouseleave", this.onLeave);
    return this.el;
  }

  onRemove() {
    this.map.off("mousemove", this.onMove);
    this.map.getCanvasContainer().removeEventListener("mouseleave", this.onLeave);
    this.el.remove();
  }

  show(lngLat) {
    const crs = this.crsOf();
    const lines = coordinateLines(crs, lngLat);
    this.el.textContent = lines.map((l, i) => (i ? l.text : `${l.label} ${l.text}`)).join(" · ");
    this.el.title = crs ? t("pointerCrs", { code: crs.code, name: crs.name }) : "";
    this.el.hidden = false;
  }
}

/** A right click on the map (a long press on some touch screens) opens a popup with the
 * point's coordinates, each line with a button that copies it; not while ``busy()`` (a shape
 * being drawn or edited, whose tools may take the right button). */
export function installCoordinatesHere(map, crsOf, busy) {
  let popup = null;
  map.on("contextmenu", (e) => {
    if (busy()) return;
    if (popup) popup.remove();
    const lines = coordinateLines(crsOf(), e.lngLat);
    const html = `<div class="coords-here"><strong>${esc(t("coordinatesHere"))}</strong>` +
      lines.map((l, i) => `<div><span class="muted">${esc(l.label)}</span> ` +
        `<span class="data">${esc(l.text)}</span> ` +
        `<button type="button" data-copy="${i}">${esc(t("copy"))}</button></div>`).join("") +
      "</div>";
    popup = new maplibregl.Popup({ closeOnClick: true, maxWidth: "none" })
      .setLngLat(e.lngLat).setHTML(html).addTo(map);
    popup.getElement().addEventListener("click", async (event) => {
      const button = event.target.closest("[data-copy]");
      if (!button) return;
      try {
        await navigator.clipboard.writeText(lines[Number(button.dataset.copy)].text);
        button.textContent = t("copiedText");
      } catch (err) {
        button.textContent = t("copyRefused"); // select the text and copy it by hand
      }
    });
  });
}
