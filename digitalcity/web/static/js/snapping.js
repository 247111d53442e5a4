// Snapping while drawing (吸附): the pointer is drawn to the nearest vertex of a neighbouring
// feature within SNAP_PX screen pixels, else to the nearest point on one of their edges, so a
// hand can draw a parcel against its neighbours. The API then puts a vertex that close exactly
// on the neighbour's (the layer's ``snap_m``), which a click or the 7 decimals of GeoJSON
// cannot. Neighbours are the layer's features around the view (lon/lat, CRS84), read without
// their fields and again when the map moves beyond them.
import { api } from "./common.js";

export const SNAP_PX = 12;
const MAX_FEATURES = 2000; // a view of a few streets holds a few hundred parcels
const MARKER = "dc-snap";

/** The rings and lines of a GeoJSON geometry, each a list of [lon, lat]. */
function pathsOf(geometry) {
  if (!geometry) return [];
  const c = geometry.coordinates;
  switch (geometry.type) {
    case "Point": return [[c]];
    case "MultiPoint": case "LineString": return [c];
    case "MultiLineString": case "Polygon": return c;
    case "MultiPolygon": return c.flat();
    default: return [];
  }
}

function boxOf(path) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of path) {
    box[0] = Math.min(box[0], x); box[1] = Math.min(box[1], y);
    box[2] = Math.max(box[2], x); box[3] = Math.max(box[3], y);
  }
  return box;
}

const meets = (a, b) => a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];

/** The features of one layer a shape may snap to, around ``map``'s view. */
export class SnapTargets {
  constructor(map, collection, exclude = null) {
    this.map = map;
    this.collection = collection;
    this.exclude = exclude == null ? null : String(exclude); // the feature being edited
    this.enabled = true; // the edit form's box turns it off
    this.paths = []; // [{ path, box }]
    this.covered = null; // the lon/lat box read
    this.reload = () => { this.load().catch((err) => console.warn("snapping", err.message)); };
  }

  /** Read the neighbours around the view (once the view leaves the box read before). */
  async load() {
    const b = this.map.getBounds();
    const view = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
    const c = this.covered;
    if (c && view[0] >= c[0] && view[1] >= c[1] && view[2] <= c[2] && view[3] <= c[3]) return;
    const dx = (view[2] - view[0]) / 2;
    const dy = (view[3] - view[1]) / 2;
    const box = [view[0] - dx, view[1] - dy, view[2] + dx, view[3] + dy];
    const bbox = box.map((v) => v.toFixed(7)).join(",");
    const data = await api(`/collections/${this.collection}/items?bbox=${bbox}&limit=${MAX_FEATURES}&properties=`);
    this.paths = data.features.filter((f) => String(f.id) !== this.exclude)
      .flatMap((f) => pathsOf(f.geometry)).map((path) => ({ path, box: boxOf(path) }));
    this.covered = box;
  }

  async start() {
    this.map.on("moveend", this.reload);
    await this.load();
  }

  stop() {
    this.map.off("moveend", this.reload);
    if (this.map.getLayer(MARKER)) this.map.removeLayer(MARKER);
    if (this.map.getSource(MARKER)) this.map.removeSource(MARKER);
  }

  // The place the pointer snaps to, ringed on the map (empty when it does not snap). Added on
  // first use: a style still loading takes no layer, and the ring is only a help, so the
  // pointer snaps whether or not it can be drawn.
  mark(position) {
    const features = position
      ? [{ type: "Feature", geometry: { type: "Point", coordinates: position }, properties: {} }] : [];
    try {
      if (!this.map.getSource(MARKER)) {
        if (!features.length) return;
        this.map.addSource(MARKER, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
        this.map.addLayer({ id: MARKER, type: "circle", source: MARKER, paint: {
          "circle-radius": 7, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#d6336c",
          "circle-stroke-width": 2.5,
        } });
      }
      this.map.getSource(MARKER).setData({ type: "FeatureCollection", features });
    } catch (err) {
      console.warn("snapping ring", err.message);
    }
  }

  /** Where a pointer at ``event`` (terra-draw's: containerX, containerY, heldKeys) snaps to,
   * as [lon, lat], or undefined when no neighbour is within SNAP_PX or Alt is held. */
  snap(event) {
    const found = this.nearest(event);
    this.mark(found);
    return found;
  }

  nearest(event) {
    if (!this.enabled || event.heldKeys?.includes("Alt")) return undefined; // Alt: place freely
    const x = event.containerX;
    const y = event.containerY;
    const a = this.map.unproject([x - SNAP_PX, y + SNAP_PX]);
    const b = this.map.unproject([x + SNAP_PX, y - SNAP_PX]);
    const near = [a.lng, a.lat, b.lng, b.lat];
    const candidates = this.paths.filter((p) => meets(p.box, near));
    let best = null;
    let bestD = SNAP_PX;
    const screen = candidates.map(({ path }) => path.map((v) => this.map.project(v)));
    candidates.forEach(({ path }, i) => path.forEach((v, j) => { // vertices first
      const d = Math.hypot(screen[i][j].x - x, screen[i][j].y - y);
      if (d <= bestD) { bestD = d; best = v; }
    }));
    if (best) return [best[0], best[1]];
    candidates.forEach(({ path }, i) => { // else the nearest point of an edge
      for (let j = 1; j < path.length; j += 1) {
        const p = screen[i][j - 1];
        const q = screen[i][j];
        const len2 = (q.x - p.x) ** 2 + (q.y - p.y) ** 2;
        if (!len2) continue;
        const t = Math.max(0, Math.min(1, ((x - p.x) * (q.x - p.x) + (y - p.y) * (q.y - p.y)) / len2));
        const d = Math.hypot(p.x + t * (q.x - p.x) - x, p.y + t * (q.y - p.y) - y);
        if (d <= bestD) {
          bestD = d;
          const [u, v] = [path[j - 1], path[j]];
          best = [u[0] + t * (v[0] - u[0]), u[1] + t * (v[1] - u[1])];
        }
      }
    });
    return best || undefined;
  }
}
