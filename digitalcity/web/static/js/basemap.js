// Optional external raster basemap (off unless DIGITALCITY_BASEMAP_URL is set), drawn under
// the city's own layers. A GCJ-02 basemap (e.g. Amap) is re-tiled in the browser: each
// WGS84 tile is cut from the GCJ-02 tiles shifted by the GCJ-02 offset at the tile's centre.
const A = 6378245.0;
const EE = 0.00669342162296594323;

function delta(lon, lat) {
  const x = lon - 105.0;
  const y = lat - 35.0;
  let dLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  dLat += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  dLat += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
  dLat += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  let dLon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  dLon += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  dLon += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
  dLon += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  const rad = (lat / 180.0) * Math.PI;
  const magic = 1 - EE * Math.sin(rad) ** 2;
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
  dLon = (dLon * 180.0) / ((A / sqrtMagic) * Math.cos(rad) * Math.PI);
  return [dLon, dLat];
}

/** WGS84 lon/lat to GCJ-02 (identity outside the rough mainland-China box). */
export function wgs84ToGcj02(lon, lat) {
  if (lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271) return [lon, lat];
  const [dLon, dLat] = delta(lon, lat);
  return [lon + dLon, lat + dLat];
}

// Web Mercator: lon/lat <-> fractional tile coordinates at zoom z.
const tileX = (lon, z) => ((lon + 180) / 360) * 2 ** z;
const tileY = (lat, z) => {
  const r = (lat * Math.PI) / 180;
  return ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * 2 ** z;
};
const tileLon = (x, z) => (x / 2 ** z) * 360 - 180;
const tileLat = (y, z) => {
  const n = Math.PI - (2 * Math.PI * y) / 2 ** z;
  return (180 / Math.PI) * Math.atan(Math.sinh(n));
};

function fill(template, z, x, y) {
  return template.replace("{z}", z).replace("{x}", x).replace("{y}", y);
}

async function image(url) {
  const response = await fetch(url);
  if (!response.ok) return null;
  return createImageBitmap(await response.blob());
}

/** A 256-px WGS84 tile z/x/y cut from the GCJ-02 tiles of ``template``, as PNG bytes. */
async function shiftedTile(template, z, x, y) {
  const [gLon, gLat] = wgs84ToGcj02(tileLon(x + 0.5, z), tileLat(y + 0.5, z));
  const fx = tileX(gLon, z) - 0.5; // the GCJ-02 tile-space position of this tile's corner
  const fy = tileY(gLat, z) - 0.5;
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const canvas = new OffscreenCanvas(256, 256);
  const ctx = canvas.getContext("2d");
  const parts = [[0, 0], [1, 0], [0, 1], [1, 1]].map(async ([dx, dy]) => {
    const bitmap = await image(fill(template, z, x0 + dx, y0 + dy));
    if (bitmap) ctx.drawImage(bitmap, (x0 + dx - fx) * 256, (y0 + dy - fy) * 256, 256, 256);
  });
  await Promise.all(parts);
  const blob = await canvas.convertToBlob({ type: "image/png" });
  return new Uint8Array(await blob.arrayBuffer());
}

let registered = false;

/** Add the raster basemap ``spec`` ({url, crs, attribution}) under the first city layer. */
/** The id of the external basemap's source: another service's tiles, not the city's data. */
export const BASEMAP_SOURCE = "dc-basemap";

export function addBasemap(map, spec) {
  if (!spec || map.getSource(BASEMAP_SOURCE)) return;
  let url = spec.url;
  if (spec.crs === "GCJ-02") {
    if (!registered) {
      maplibregl.addProtocol("gcj02", async (params) => {
        const [, template, z, x, y] = params.url.match(/^gcj02:\/\/(.+)#(\d+)\/(\d+)\/(\d+)$/);
        return { data: await shiftedTile(decodeURIComponent(template), +z, +x, +y) };
      });
      registered = true;
    }
    url = `gcj02://${encodeURIComponent(spec.url)}#{z}/{x}/{y}`;
  }
  map.addSource(BASEMAP_SOURCE, {
    type: "raster", tiles: [url], tileSize: 256, attribution: spec.attribution || "",
  });
  const first = map.getStyle().layers.find((l) => l.type !== "background");
  map.addLayer({ id: BASEMAP_SOURCE, type: "raster", source: BASEMAP_SOURCE }, first && first.id);
}
