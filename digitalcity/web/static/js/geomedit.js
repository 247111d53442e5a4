// Shape editing on the planner map with terra-draw (vendored; its scripts load on first use, so
// readers of the map never download them). Geometries are GeoJSON in CRS84 (lon, lat degrees),
// as the API reads and writes them. A multi-part geometry is edited part by part and put back
// together; a polygon with holes cannot be edited on the map (terra-draw draws none).
import { config } from "./common.js";

let loading = null;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(script);
  });
}

/** terra-draw and its MapLibre adapter (globals ``terraDraw``, ``terraDrawMaplibreGlAdapter``). */
export function loadTerraDraw() {
  const base = `${config.assets}/vendor/terra-draw`;
  loading ??= loadScript(`${base}/terra-draw.umd.js`)
    .then(() => loadScript(`${base}/terra-draw-maplibre-gl-adapter.umd.js`));
  return loading;
}

const MODES = { Point: "point", LineString: "linestring", Polygon: "polygon" };

/** terra-draw's mode for a layer's geometry type ("MultiPolygon" -> "polygon"). */
export function drawMode(geometryType) {
  return MODES[geometryType.replace(/^Multi/, "")];
}

const PRECISION = 9; // decimals of a degree kept (about 0.1 mm); terra-draw refuses more

function rounded(coordinates) {
  if (typeof coordinates[0] === "number") return coordinates.map((x) => Number(x.toFixed(PRECISION)));
  return coordinates.map(rounded);
}

function parts(geometry) {
  if (!geometry.type.startsWith("Multi")) return [geometry];
  const type = geometry.type.slice("Multi".length);
  return geometry.coordinates.map((coordinates) => ({ type, coordinates }));
}

function joined(geometryType, geometries) {
  if (!geometries.length) return null;
  if (!geometryType.startsWith("Multi")) return geometries[0];
  return { type: geometryType, coordinates: geometries.map((g) => g.coordinates) };
}

let active = null;
const starting = new Set(); // sessions still loading terra-draw or their neighbours

/** Whether a shape is being drawn or edited, or a session is starting (the map's identify
 * click stands aside: a click made while terra-draw loads must not open another card). */
export function shapeEditing() {
  return active !== null || starting.size > 0;
}

/** One drawing session on ``map`` for a layer of ``geometryType`` (e.g. "MultiPolygon");
 * ``snapping``, when given, the neighbours new and dragged vertices snap to (snapping.js). */
export class ShapeEditor {
  constructor(map, geometryType, snapping = null) {
    this.map = map;
    this.geometryType = geometryType;
    this.mode = drawMode(geometryType);
    this.draw = null;
    this.snapping = snapping;
    this.stopped = false;
  }

  /** Load terra-draw and begin; resolves with this editor, not drawing (``draw`` null) when
   * it was stopped while loading. */
  async start() {
    starting.add(this);
    try {
      await loadTerraDraw();
      active?.stop();
      await this.snapping?.start().catch((err) => console.warn("snapping", err.message));
    } finally {
      starting.delete(this);
    }
    if (this.stopped) { // stopped while loading: nothing drawn, and its snapping let go
      this.snapping?.stop();
      return this;
    }
    const { TerraDraw, TerraDrawSelectMode, TerraDrawPolygonMode, TerraDrawLineStringMode,
      TerraDrawPointMode } = window.terraDraw;
    const toCustom = (event) => this.snapping?.snap(event);
    const snapping = this.snapping ? { toCustom } : undefined;
    const vertices = { draggable: true, midpoints: true, deletable: true, snappable: snapping };
    const flags = { [this.mode]: { feature: {
      draggable: this.mode === "point",
      coordinates: this.mode === "point" ? undefined : vertices,
    } } };
    const create = { polygon: TerraDrawPolygonMode, linestring: TerraDrawLineStringMode,
      point: TerraDrawPointMode }[this.mode];
    this.draw = new TerraDraw({
      adapter: new window.terraDrawMaplibreGlAdapter.TerraDrawMapLibreGLAdapter({
        map: this.map, coordinatePrecision: PRECISION,
      }),
      modes: [
        new TerraDrawSelectMode({
          flags,
          keyEvents: { deselect: "Escape", delete: null, rotate: null, scale: null },
        }),
        new create(this.mode === "point" ? {} : { snapping }),
      ],
    });
    this.draw.start();
    active = this;
    return this;
  }

  /** Put ``geometry`` on the map, selected with its vertices draggable. False for shapes the
   * editor cannot draw (polygons with holes). */
  edit(geometry) {
    const shapes = parts(geometry);
    if (this.mode === "polygon" && shapes.some((g) => g.coordinates.length > 1)) return false;
    const results = this.draw.addFeatures(shapes.map((g) => ({
      type: "Feature", geometry: { type: g.type, coordinates: rounded(g.coordinates) },
      properties: { mode: this.mode },
    })));
    if (results.some((r) => !r.valid)) return false;
    this.draw.setMode("select");
    this.draw.selectFeature(results[0].id);
    this.original = JSON.stringify(this.geometry());
    return true;
  }

  /** Draw a new part; resolves with the finished geometry. */
  drawNew() {
    this.draw.setMode(this.mode);
    return new Promise((resolve) => {
      const done = (id) => {
        this.draw.off("finish", done);
        this.draw.setMode("select");
        this.draw.selectFeature(id);
        resolve(this.geometry());
      };
      this.draw.on("finish", done);
    });
  }

  /** The current shape as the layer's geometry type, or null when nothing is drawn. */
  geometry() {
    const drawn = this.draw.getSnapshot().filter((f) => f.properties.mode === this.mode);
    return joined(this.geometryType, drawn.map((f) => f.geometry));
  }

  /** Whether the shape differs from the one given to ``edit``. */
  changed() {
    return this.draw !== null && JSON.stringify(this.geometry()) !== this.original;
  }

  stop() {
    this.stopped = true;
    if (active === this) active = null;
    this.snapping?.stop();
    if (this.draw) {
      this.draw.stop();
      this.draw = null;
    }
  }
}

/** Stop any shape session (before the map's style is replaced). */
export function stopShapeEditing() {
  active?.stop();
  for (const editor of starting) editor.stop();
}
