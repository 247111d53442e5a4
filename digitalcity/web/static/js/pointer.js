// The pointer's coordinates in a corner of the planner's map (坐标显示): longitude and latitude,
// and the city's local CRS as that CRS writes them (a Chinese Gauss–Krüger X is the northing,
// Y the easting), projected by proj4js from the definition the server gives (meta.local_crs,
// digitalcity/coordinates.py). Shown while a mouse is over the map: a touch screen has no
// pointer to follow, and app.css hides it there.
import { t } from "./i18n.js";

/** A MapLibre control; ``crsOf()`` is the current city's local CRS (meta.local_crs). */
export class PointerCoordinates {
  constructor(crsOf) {
    this.crsOf = crsOf;
    this.projections = new Map(); // CRS code -> proj4 converter from lon/lat
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

  show({ lng, lat }) {
    const crs = this.crsOf();
    const parts = [`${t("lonLat")} ${lng.toFixed(6)}, ${lat.toFixed(6)}`];
    const local = crs ? this.local(crs, lng, lat) : null;
    if (local) parts.push(local);
    this.el.textContent = parts.join(" · ");
    this.el.title = crs ? t("pointerCrs", { code: crs.code, name: crs.name }) : "";
    this.el.hidden = false;
  }

  /** The point in ``crs``, its axes named and ordered as the CRS has them, to the centimetre. */
  local(crs, lng, lat) {
    let project = this.projections.get(crs.code);
    if (!project) {
      try {
        project = proj4("EPSG:4326", crs.proj4);
      } catch (err) {
        return null; // a definition proj4js does not know: lon/lat alone
      }
      this.projections.set(crs.code, project);
    }
    const [east, north] = project.forward([lng, lat]);
    if (!Number.isFinite(east) || !Number.isFinite(north)) return null;
    const [x, y] = crs.east_first ? [east, north] : [north, east];
    return `${crs.axes[0]} ${x.toFixed(2)}, ${crs.axes[1]} ${y.toFixed(2)}`;
  }
}
