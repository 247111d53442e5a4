// Splitting and merging features on the planner map (地块分割与合并), inside a feature's edit
// form: *Split along a line* draws a line across the feature (terra-draw, geomedit.js) and
// sends it; *Merge with neighbours* lists the features sharing a boundary with it, drawn on the
// map, to tick and merge. Both need the form's reason and send the ETags read with the
// features (If-Match), so a feature changed meanwhile is not overwritten.
import { apiResponse, esc, num } from "./common.js";
import { ShapeEditor } from "./geomedit.js";
import { SnapTargets } from "./snapping.js";
import { lang, t, unitText } from "./i18n.js";

const SOURCE = "dc-merge";
const COLOUR = "#1f6feb";
const EMPTY = { type: "FeatureCollection", features: [] };
let drawn = EMPTY;

/** (Re-)add the neighbours' source and layers; call after every style load. */
export function installReshape(map) {
  if (map.getSource(SOURCE)) return;
  map.addSource(SOURCE, { type: "geojson", data: drawn });
  map.addLayer({ id: "dc-merge-fill", type: "fill", source: SOURCE,
    filter: ["all", ["==", ["get", "chosen"], true], ["==", ["geometry-type"], "Polygon"]],
    paint: { "fill-color": COLOUR, "fill-opacity": 0.3 } });
  map.addLayer({ id: "dc-merge-line", type: "line", source: SOURCE,
    paint: { "line-color": COLOUR, "line-dasharray": [2, 1],
      "line-width": ["case", ["==", ["get", "chosen"], true], 3, 1.5] } });
}

function show(map, features) {
  drawn = { type: "FeatureCollection", features };
  map.getSource(SOURCE)?.setData(drawn);
}

/** Take the neighbours off the map (another card is shown). */
export function clearReshape(map) {
  show(map, []);
}

/** The split and merge buttons of an edit form, for layers of lines and polygons. */
export function reshapeButtons(geometryType) {
  if (!geometryType || /Point$/.test(geometryType)) return "";
  return `<p class="edit-reshape"><button type="button" id="edit-split">${esc(t("splitFeature"))}</button> ` +
    `<button type="button" id="edit-merge">${esc(t("mergeFeatures"))}</button></p>` +
    `<div class="reshape-panel"></div>`;
}

const headers = (reason, etags) => ({
  "If-Match": etags.join(", "), "X-Change-Reason": encodeURIComponent(reason), "Accept-Language": lang(),
});

const idList = (ids) => ids.map((id) => `#${id}`).join(lang() === "zh" ? "、" : ", ");

/** The features after a split or merge with their sizes: "#102 (312 m²), #13117 (205 m²)". */
function sized(ids, measures, polygonal) {
  const unit = unitText(polygonal ? "m²" : "m");
  return ids.map((id) => measures?.[id] == null ? `#${id}`
    : t("withSize", { id: `#${id}`, size: `${num(measures[id], measures[id] < 10 ? 1 : 0)} ${unit}` }))
    .join(lang() === "zh" ? "、" : ", ");
}

/** Wire the buttons ``reshapeButtons`` made inside ``panel`` (the edit form's): ``info`` the
 * layer's meta, ``fid``/``etag`` the feature, ``reason()`` the form's reason (null when
 * missing: the form says so), ``fail(err)`` the form's fault line, ``done({fid, message})``
 * after a split or merge. */
export function wireReshape(panel, { map, info, fid, etag, reason, fail, done }) {
  const box = panel.querySelector(".reshape-panel");
  if (!box) return;
  let editor = null;
  const stop = () => { editor?.stop(); editor = null; show(map, []); box.innerHTML = ""; };

  panel.querySelector("#edit-split").onclick = async () => {
    stop();
    // the line snaps to the feature's own corners and sides too (a cut through a corner)
    const snapping = info.editing.snap_m > 0 ? new SnapTargets(map, info.collection) : null;
    const starting = new ShapeEditor(map, "LineString", snapping);
    editor = starting;
    await starting.start();
    if (editor !== starting || !starting.draw) { starting.stop(); return; } // cancelled while loading
    // the hint once the line can be drawn: a click before that would be a click on the map
    box.innerHTML = `<p class="muted split-hint">${esc(t("splitHint"))}</p>` +
      `<p><button type="button" id="split-cancel">${esc(t("cancel"))}</button></p>`;
    box.querySelector("#split-cancel").onclick = stop;
    const line = await editor.drawNew();
    if (!editor?.draw) return; // cancelled while drawing
    // the parts it would make, drawn and measured before anything is written
    const polygonal = /Polygon$/.test(info.editing.geometry);
    let parts;
    try {
      ({ data: { parts } } = await apiResponse(`/collections/${info.collection}/items/${fid}/split/preview`, {
        method: "POST", body: { line: editor.geometry() || line }, headers: { "Accept-Language": lang() },
      }));
    } catch (err) {
      stop();
      fail(err);
      return;
    }
    show(map, parts.map((p) => ({ type: "Feature", geometry: p.geometry, properties: { chosen: true } })));
    const unit = unitText(polygonal ? "m²" : "m");
    const rows = parts.map((p) => {
      const size = `${num(p.measure, p.measure < 10 ? 1 : 0)} ${unit}`;
      const share = `${num(p.share * 100, 1)} %`;
      return `<li>${esc(p.keeps_id ? t("splitPartKept", { id: `#${fid}`, size, share }) : t("splitPartNew", { size, share }))}</li>`;
    }).join("");
    box.innerHTML = `<p class="muted">${esc(t("splitReady"))}</p><ul class="split-parts">${rows}</ul>` +
      `<p><button type="button" id="split-send" class="primary">${esc(t("splitSend"))}</button> ` +
      `<button type="button" id="split-cancel">${esc(t("cancel"))}</button></p>`;
    box.querySelector("#split-cancel").onclick = stop;
    box.querySelector("#split-send").onclick = async () => {
      const text = reason();
      if (!text) return;
      try {
        const { data } = await apiResponse(`/collections/${info.collection}/items/${fid}/split`, {
          method: "POST", body: { line: editor.geometry() || line }, headers: headers(text, [etag]),
        });
        stop();
        const polygonal = /Polygon$/.test(info.editing.geometry);
        await done({ fid, changeset: data.changeset, message: t("splitDone", { n: num(data.ids.length), ids: sized(data.ids, data.measures, polygonal) }) });
      } catch (err) {
        fail(err);
      }
    };
  };

  panel.querySelector("#edit-merge").onclick = async () => {
    stop();
    const { data } = await apiResponse(`/collections/${info.collection}/items/${fid}/neighbours`);
    const near = data.features;
    if (!near.length) {
      box.innerHTML = `<p class="muted">${esc(t("noNeighbours"))}</p>`;
      return;
    }
    const chosen = new Set();
    const label = (f) => `#${f.id}${f.properties.label ? ` ${f.properties.label}` : ""}`;
    const redraw = () => show(map, near.map((f) => ({ ...f, properties: { chosen: chosen.has(f.id) } })));
    box.innerHTML = `<fieldset class="merge-list"><legend>${esc(t("mergeWith"))}</legend>` +
      near.map((f) => `<label><input type="checkbox" value="${f.id}"> <span class="data">${esc(label(f))}</span></label>`).join("") +
      `</fieldset><label class="edit-field" for="merge-keep"><span>${esc(t("mergeKeep"))}</span>` +
      `<select id="merge-keep"></select></label>` +
      `<p><button type="button" id="merge-send" class="primary" disabled>${esc(t("mergeSend"))}</button> ` +
      `<button type="button" id="merge-cancel">${esc(t("cancel"))}</button></p>`;
    const keep = box.querySelector("#merge-keep");
    const send = box.querySelector("#merge-send");
    const options = () => {
      const ids = [Number(fid), ...chosen];
      const current = keep.value || String(fid);
      keep.innerHTML = ids.map((id) => `<option value="${id}"${String(id) === current ? " selected" : ""}>` +
        `${esc(id === Number(fid) ? t("mergeKeepThis", { id }) : `#${id}`)}</option>`).join("");
      send.disabled = chosen.size === 0;
    };
    for (const input of box.querySelectorAll(".merge-list input")) {
      input.onchange = () => {
        if (input.checked) chosen.add(Number(input.value)); else chosen.delete(Number(input.value));
        options();
        redraw();
      };
    }
    options();
    redraw();
    box.querySelector("#merge-cancel").onclick = stop;
    send.onclick = async () => {
      const text = reason();
      if (!text) return;
      const etags = [etag, ...near.filter((f) => chosen.has(f.id)).map((f) => `"${f.properties.etag}"`)];
      try {
        const { data: result } = await apiResponse(`/collections/${info.collection}/merge`, {
          method: "POST", body: { ids: [Number(fid), ...chosen], keep: Number(keep.value) },
          headers: headers(text, etags),
        });
        stop();
        const polygonal = /Polygon$/.test(info.editing.geometry);
        await done({ fid: result.id, changeset: result.changeset, message: t("mergeDone", { n: num(chosen.size + 1), id: sized([result.id], result.measures, polygonal) }) });
      } catch (err) {
        fail(err);
      }
    };
  };
  return stop;
}

/** A feature's splits and merges in words, for its history (``lineage`` of the history). */
export function lineageHtml(lineage) {
  if (!lineage?.length) return "";
  const rows = lineage.map((e) => {
    const when = new Date(e.at).toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB");
    const words = e.kind === "split"
      ? t("lineageSplit", { parent: `#${e.parents[0]}`, children: idList(e.children) })
      : t("lineageMerge", { parents: idList(e.parents), child: `#${e.children[0]}` });
    // each feature named as a button that opens it (editmode.js openHistory)
    const linked = esc(words).replace(/#(\d+)/g, (_, id) =>
      `<button type="button" class="link data" data-lineage-fid="${id}">#${id}</button>`);
    return `<li class="lineage">${esc(when)} · ${linked}` +
      `${e.reverted ? ` <span class="muted">(${esc(t("lineageReverted"))})</span>` : ""}</li>`;
  });
  return `<h4>${esc(t("lineage"))}</h4><ul class="lineage-list">${rows.join("")}</ul>`;
}
