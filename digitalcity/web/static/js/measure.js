// Geodesic measures on the sphere (mean Earth radius) and a small drawing tool for lines and
// polygons. Coordinates are [lon, lat] in degrees; lengths in metres, areas in m².
export const EARTH_RADIUS_M = 6371008.8;
const RAD = Math.PI / 180;

/** Great-circle distance between two [lon, lat] points (haversine), metres. */
export function haversine(a, b) {
  const dLat = (b[1] - a[1]) * RAD;
  const dLon = (b[0] - a[0]) * RAD;
  const h = Math.sin(dLat / 2) ** 2 +
    Math.cos(a[1] * RAD) * Math.cos(b[1] * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function lineLength(coords) {
  let total = 0;
  for (let i = 1; i < coords.length; i++) total += haversine(coords[i - 1], coords[i]);
  return total;
}

/** Area of a ring on the sphere, m² (spherical-excess line integral; open or closed ring). */
export function ringArea(coords) {
  const ring = coords.length && coords[0] !== coords[coords.length - 1]
    ? [...coords, coords[0]] : coords;
  let sum = 0;
  for (let i = 1; i < ring.length; i++) {
    const [lon1, lat1] = ring[i - 1];
    const [lon2, lat2] = ring[i];
    sum += (lon2 - lon1) * RAD * (2 + Math.sin(lat1 * RAD) + Math.sin(lat2 * RAD));
  }
  return Math.abs((sum * EARTH_RADIUS_M * EARTH_RADIUS_M) / 2);
}

const SOURCE = "dc-draw";
const EMPTY = { type: "FeatureCollection", features: [] };

/** Click-to-draw tool: mode "distance" (line), "area", "stats" or "query" (polygon: a query's
 * area). */
export class Drawer {
  constructor(map, { onChange, onDone }) {
    this.map = map;
    this.onChange = onChange;
    this.onDone = onDone;
    this.mode = null;
    this.points = [];
    this.finished = false;
    map.on("click", (e) => this.active && this.add([e.lngLat.lng, e.lngLat.lat], e.point));
    map.on("dblclick", (e) => {
      if (!this.active) return;
      e.preventDefault();
      this.finish();
    });
  }

  get active() {
    return this.mode !== null && !this.finished;
  }

  get polygonal() {
    return this.mode === "area" || this.mode === "stats" || this.mode === "query";
  }

  /** (Re-)add the drawing's source and layers; call after every style load. */
  install() {
    const map = this.map;
    if (map.getSource(SOURCE)) return;
    map.addSource(SOURCE, { type: "geojson", data: EMPTY });
    map.addLayer({ id: "dc-draw-fill", type: "fill", source: SOURCE,
      filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#2b6cb0", "fill-opacity": 0.15 } });
    map.addLayer({ id: "dc-draw-line", type: "line", source: SOURCE,
      filter: ["!=", ["geometry-type"], "Point"],
      paint: { "line-color": "#2b6cb0", "line-width": 2.5, "line-dasharray": [2, 1] } });
    map.addLayer({ id: "dc-draw-points", type: "circle", source: SOURCE,
      filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-radius": 4, "circle-color": "#ffffff", "circle-stroke-color": "#2b6cb0",
        "circle-stroke-width": 2 } });
    this.render();
  }

  start(mode) {
    this.mode = mode;
    this.points = [];
    this.finished = false;
    this.map.doubleClickZoom.disable();
    this.map.getCanvas().style.cursor = "crosshair";
    this.render();
  }

  add(point, pixel) {
    const last = this.points[this.points.length - 1];
    if (last) {
      const p = this.map.project(last);
      if (Math.hypot(p.x - pixel.x, p.y - pixel.y) < 4) return; // the second click of a dblclick
    }
    this.points.push(point);
    this.render();
  }

  finish() {
    if (!this.active) return;
    const enough = this.polygonal ? this.points.length >= 3 : this.points.length >= 2;
    if (!enough) return;
    this.finished = true;
    this.map.getCanvas().style.cursor = "";
    setTimeout(() => this.map.doubleClickZoom.enable(), 0);
    this.render();
    this.onDone(this.mode, this.geometry());
  }

  /** Show a finished drawing of ``mode`` through ``points`` (e.g. a shared link's area). */
  show(mode, points) {
    this.mode = mode;
    this.points = points;
    this.finished = true;
    this.render();
  }

  clear() {
    this.mode = null;
    this.points = [];
    this.finished = false;
    this.map.getCanvas().style.cursor = "";
    this.map.doubleClickZoom.enable();
    this.render();
  }

  geometry() {
    if (this.polygonal) {
      return { type: "Polygon", coordinates: [[...this.points, this.points[0]]] };
    }
    return { type: "LineString", coordinates: [...this.points] };
  }

  measures() {
    if (this.polygonal && this.points.length >= 3) {
      const ring = [...this.points, this.points[0]];
      return { area: ringArea(ring), perimeter: lineLength(ring) };
    }
    return { distance: lineLength(this.points) };
  }

  render() {
    const features = this.points.map((p) => ({
      type: "Feature", properties: {}, geometry: { type: "Point", coordinates: p },
    }));
    if (this.points.length >= 3 && this.polygonal) {
      features.push({ type: "Feature", properties: {}, geometry: this.geometry() });
    } else if (this.points.length >= 2) {
      features.push({ type: "Feature", properties: {},
        geometry: { type: "LineString", coordinates: this.points } });
    }
    const source = this.map.getSource(SOURCE);
    if (source) source.setData({ type: "FeatureCollection", features });
    if (this.onChange) this.onChange(this.mode, this.mode ? this.measures() : null);
  }
}
