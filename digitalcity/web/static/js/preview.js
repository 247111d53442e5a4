// The map on the API's HTML pages (a page of features, one feature): the page's features,
// lon/lat, drawn over the city's public map (the API's own style and tiles), framed to them.
const { style, features } = JSON.parse(document.getElementById("dc-preview").textContent);

/** [west, south, east, north] of every coordinate in the FeatureCollection ``collection``. */
function bounds(collection) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === "number") {
      box[0] = Math.min(box[0], c[0]);
      box[1] = Math.min(box[1], c[1]);
      box[2] = Math.max(box[2], c[0]);
      box[3] = Math.max(box[3], c[1]);
    } else c.forEach(walk);
  };
  for (const f of collection.features) walk(f.geometry.coordinates);
  return box;
}

const map = new maplibregl.Map({
  container: "preview",
  style,
  bounds: bounds(features),
  fitBoundsOptions: { padding: 30, maxZoom: 17 },
  attributionControl: { compact: true },
});
window.dcPreview = map;
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
map.on("load", () => {
  map.addSource("dc-page", { type: "geojson", data: features });
  map.addLayer({ id: "dc-page-fill", type: "fill", source: "dc-page",
    filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "fill-color": "#ffd400", "fill-opacity": 0.35 } });
  map.addLayer({ id: "dc-page-line", type: "line", source: "dc-page",
    filter: ["!=", ["geometry-type"], "Point"],
    paint: { "line-color": "#d62728", "line-width": 2 } });
  map.addLayer({ id: "dc-page-point", type: "circle", source: "dc-page",
    filter: ["==", ["geometry-type"], "Point"],
    paint: { "circle-radius": 6, "circle-color": "#d62728", "circle-stroke-width": 2,
      "circle-stroke-color": "#fff" } });
  document.body.dataset.ready = "1";
});
