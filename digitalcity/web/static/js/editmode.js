// Editing on the planner map, for callers whose role may edit a layer (the city's meta says
// which fields they may write, the code lists and the geometry type): an attribute form
// generated from the definition (code lists as drop-downs, units shown, numbers as numbers),
// the shape edited on the map (geomedit.js), saved with a reason through OGC API – Features
// Part 4 (PATCH or DELETE with If-Match, POST for a new feature), and a feature's history.
import { apiResponse, esc, num } from "./common.js";
import { ShapeEditor, drawMode } from "./geomedit.js";
import { SnapTargets } from "./snapping.js";
import { lang, pick, t, unitText } from "./i18n.js";
import { fileRecordHtml } from "./attachments.js";
import { lineageHtml, reshapeButtons, wireReshape } from "./reshape.js";

const REASON_HEADER = "X-Change-Reason";

// what the API said is wrong with an edit, in the page's language (its faults come in it)
const faultText = (err) => (err.status === 412 ? t("editConflict")
  : (err.faults && err.faults.length ? err.faults.join("; ") : err.message));

/** Edit and history buttons for a feature of ``layerId``, when the caller may edit it. */
export function editButtons(meta, layerId, fid) {
  const info = meta.layers[layerId];
  if (!info || !info.editing || fid == null) return "";
  return `<p class="edit-tools"><button type="button" data-edit="${esc(layerId)}" data-fid="${esc(fid)}">` +
    `${esc(t("edit"))}</button> <button type="button" data-history="${esc(layerId)}" ` +
    `data-fid="${esc(fid)}">${esc(t("history"))}</button></p><div class="edit-panel"></div>`;
}

/** A labelled control for ``field`` holding ``value``: its code list, a number, a checkbox or
 * text, titled and with its unit (``info`` the layer's meta). */
export function fieldInput(field, value, info, codes) {
  const id = `edit-${field.name}`;
  const title = esc(pick((info.fields[field.name] || {}).title) || field.name);
  const unit = (info.fields[field.name] || {}).unit;
  const label = `${title}${unit ? ` (${esc(unitText(unit))})` : ""}`;
  const list = codes[field.name];
  let control;
  if (list) {
    const options = list.map(([code, zh, en]) =>
      `<option value="${esc(code)}"${String(value) === code ? " selected" : ""}>${esc(code)} ${esc(lang() === "zh" ? zh : en)}</option>`);
    control = `<select id="${id}" name="${esc(field.name)}"><option value=""></option>${options.join("")}</select>`;
  } else if (["integer", "float"].includes(field.type)) {
    const step = field.type === "integer" ? "1" : "any";
    control = `<input id="${id}" name="${esc(field.name)}" type="number" step="${step}" value="${value ?? ""}">`;
  } else if (field.type === "boolean") {
    control = `<input id="${id}" name="${esc(field.name)}" type="checkbox"${value ? " checked" : ""}>`;
  } else {
    control = `<input id="${id}" name="${esc(field.name)}" type="text" value="${esc(value ?? "")}">`;
  }
  return `<label class="edit-field" for="${id}"><span>${label}</span>${control}</label>`;
}

/** The value ``fieldInput``'s control ``el`` holds for ``field`` (null when empty). */
export function fieldValue(el, field) {
  if (field.type === "boolean") return el.checked;
  if (["integer", "float"].includes(field.type)) return el.value === "" ? null : Number(el.value);
  return el.value === "" ? null : el.value;
}

function collected(form, fields, before) {
  const patch = {};
  for (const field of fields) {
    const el = form.elements[field.name];
    if (!el) continue;
    const value = fieldValue(el, field);
    if (value !== (before[field.name] ?? null)) patch[field.name] = value;
  }
  return patch;
}

const REASON_FIELD = `<label class="edit-field" for="edit-reason"><span>__REASON__</span>` +
  `<input id="edit-reason" name="_reason" type="text" required maxlength="500"></label>`;

/** The form's HTML: the writable fields with ``values``, ``extra`` rows, the reason, buttons. */
function formHtml(info, title, values, extra = "") {
  return `<form class="edit-form"><h3>${esc(title)}</h3>` +
    info.editing.fields.map((f) => fieldInput(f, values[f.name], info, info.editing.codes || {})).join("") +
    extra + REASON_FIELD.replace("__REASON__", esc(t("reason"))) +
    `<p class="error edit-faults" hidden></p>` +
    `<p><button type="submit" id="edit-save">${esc(t("save"))}</button> ` +
    `<button type="button" id="edit-cancel">${esc(t("cancel"))}</button></p></form>`;
}

/** Wire a form's reason check, fault list and cancel; ``send(reason)`` does the request. */
function wireForm(panel, send, onCancel) {
  const form = panel.querySelector("form");
  const faults = panel.querySelector(".edit-faults");
  const fail = (err) => {
    faults.hidden = false;
    faults.textContent = faultText(err);
  };
  const reason = () => {
    const text = form.elements._reason.value.trim();
    if (!text) fail({ message: t("reasonNeeded") });
    return text;
  };
  panel.querySelector("#edit-cancel").onclick = () => { onCancel(); panel.innerHTML = ""; };
  form.onsubmit = async (event) => {
    event.preventDefault();
    const text = reason();
    if (text) await send(text).catch(fail);
  };
  return { form, reason, fail };
}

// an edit's headers: its reason, the ETag it replaces, and the page's language (what the API
// says is wrong with an edit comes back in it)
const reasonHeaders = (reason, etag) => ({
  ...(etag ? { "If-Match": etag } : {}), [REASON_HEADER]: encodeURIComponent(reason),
  "Accept-Language": lang(),
});

// Snapping (吸附) on a layer whose definition snaps (snap_m): the neighbours the pointer is
// drawn to, and a box that turns it off, here and in the API (snap=0) for this edit.
function snapTargets(map, info, fid = null) {
  return info.editing.snap_m > 0 ? new SnapTargets(map, info.collection, fid) : null;
}

function snapBox(snapping) {
  return snapping ? `<label class="snap-toggle"><input type="checkbox" id="edit-snap"${snapping.enabled ? " checked" : ""}> ` +
    `${esc(t("snapToNeighbours"))}</label>` : "";
}

function wireSnapBox(panel, snapping) {
  const box = panel.querySelector("#edit-snap");
  if (box) box.onchange = () => { snapping.enabled = box.checked; };
}

const snapQuery = (snapping) => (snapping && !snapping.enabled ? "?snap=0" : "");

/** Whether the caller (the city's ``meta``) may undo change set ``entry`` ({kind, layer,
 * key_id}): an admin any; an editor of the layer the edits made with their own key. */
export function mayUndo(meta, entry) {
  if (meta.role === "admin") return true;
  return entry.kind !== "load" && entry.key_id != null && entry.key_id === meta.key_id &&
    Boolean(meta.layers[entry.layer]?.editing);
}

/** The attribute form of feature ``fid``, with its shape and deletion when the map is given. */
export async function openEditForm(panel, meta, layerId, fid, { map, onSaved, onDeleted }) {
  const info = meta.layers[layerId];
  const path = `/collections/${info.collection}/items/${fid}`;
  const { response, data } = await apiResponse(path);
  const etag = response.headers.get("etag");
  const shapeTools = map && info.editing.geometry && data.geometry
    ? `<p class="edit-shape"><button type="button" id="edit-shape">${esc(t("editShape"))}</button> ` +
      `<button type="button" id="edit-delete">${esc(t("deleteFeature"))}</button> ` +
      `<button type="button" id="edit-delete-confirm" class="danger" hidden>${esc(t("confirmDelete"))}</button></p>` +
      `<p class="muted shape-hint"></p><p class="snap-slot"></p>` + reshapeButtons(info.editing.geometry)
    : "";
  panel.innerHTML = formHtml(info, t("edit"), data.properties, shapeTools);
  let editor = null;
  let stopReshape = null;
  const stopShape = () => { editor?.stop(); editor = null; };
  const { form, reason, fail } = wireForm(panel, async (text) => {
    const body = { properties: collected(form, info.editing.fields, data.properties) };
    const redrawn = editor?.changed();
    if (redrawn) body.geometry = editor.geometry();
    const query = redrawn ? snapQuery(editor.snapping) : "";
    const { data: saved } = await apiResponse(path + query, { method: "PATCH", body, headers: reasonHeaders(text, etag) });
    stopShape();
    panel.innerHTML = `<p class="saved">${esc(t("saved"))}</p>`;
    // the shape when redrawn; the change set, which its editor may undo
    await onSaved({ layerId, fid, geometry: body.geometry || null, changeset: saved?.changeset });
  }, () => { stopShape(); stopReshape?.(); });
  if (!shapeTools) return;
  // split and merge (reshape.js): the form's reason and fault line, then the card drawn again
  stopReshape = wireReshape(panel, {
    map, info, fid, etag, reason, fail,
    done: async ({ fid: kept, message, changeset }) => {
      stopShape();
      panel.innerHTML = `<p class="saved">${esc(message)}</p>`;
      await onSaved({ layerId, fid: kept, geometry: null, message, changeset });
    },
  });
  const hint = panel.querySelector(".shape-hint");
  const shapeButton = panel.querySelector("#edit-shape");
  shapeButton.onclick = async () => {
    const slot = panel.querySelector(".snap-slot");
    if (editor) { // discard the shape's changes
      stopShape();
      shapeButton.textContent = t("editShape");
      hint.textContent = "";
      slot.innerHTML = "";
      return;
    }
    const starting = new ShapeEditor(map, info.editing.geometry, snapTargets(map, info, fid));
    editor = starting;
    await starting.start();
    if (editor !== starting || !starting.draw) return; // stopped while loading
    if (!editor.edit(data.geometry)) {
      stopShape();
      hint.textContent = t("shapeNotEditable");
      return;
    }
    shapeButton.textContent = t("resetShape");
    hint.textContent = t("shapeHint");
    slot.innerHTML = snapBox(editor.snapping);
    wireSnapBox(slot, editor.snapping);
  };
  panel.querySelector("#edit-delete").onclick = () => {
    panel.querySelector("#edit-delete-confirm").hidden = false;
  };
  panel.querySelector("#edit-delete-confirm").onclick = async () => {
    const text = reason();
    if (!text) return;
    try {
      const { response } = await apiResponse(path, { method: "DELETE", headers: reasonHeaders(text, etag) });
      stopShape();
      panel.innerHTML = `<p class="saved">${esc(t("deleted"))}</p>`;
      await onDeleted({ layerId, fid, changeset: Number(response.headers.get("x-changeset")) || null });
    } catch (err) {
      fail(err);
    }
  };
}

/** Draw a new feature of ``layerId`` on ``map``, then fill its form and create it (POST);
 * then ``onCreated(layerId, fid, geometry, changeset)``. */
export async function openNewFeature(panel, meta, layerId, map, onCreated) {
  const info = meta.layers[layerId];
  const editor = await new ShapeEditor(map, info.editing.geometry, snapTargets(map, info)).start();
  if (!editor.draw) return; // stopped while loading (the map's style replaced)
  panel.innerHTML = `<h3>${esc(t("newFeature"))} · ${esc(pick(info.title) || layerId)}</h3>` +
    `<p class="muted shape-hint">${esc(t(`drawHint_${drawMode(info.editing.geometry)}`))}</p>` +
    `<p>${snapBox(editor.snapping)}</p>` +
    `<p><button type="button" id="edit-cancel">${esc(t("cancel"))}</button></p>`;
  wireSnapBox(panel, editor.snapping);
  panel.querySelector("#edit-cancel").onclick = () => { editor.stop(); panel.innerHTML = ""; };
  const geometry = await editor.drawNew();
  if (!editor.draw) return; // cancelled while drawing
  panel.innerHTML = formHtml(info, `${t("newFeature")} · ${pick(info.title) || layerId}`, {},
    `<p class="muted shape-hint">${esc(t("shapeHint"))}</p><p>${snapBox(editor.snapping)}</p>`);
  wireSnapBox(panel, editor.snapping);
  const { form } = wireForm(panel, async (text) => {
    const feature = {
      type: "Feature",
      geometry: editor.geometry() || geometry,
      properties: collected(form, info.editing.fields, {}),
    };
    const items = `/collections/${info.collection}/items${snapQuery(editor.snapping)}`;
    const { response, data } = await apiResponse(items, {
      method: "POST", body: feature, headers: reasonHeaders(text),
    });
    editor.stop();
    const fid = (response.headers.get("location") || "").split("/").pop();
    panel.innerHTML = `<p class="saved">${esc(t("created"))}</p>`;
    await onCreated(layerId, fid, feature.geometry, data?.changeset);
  }, () => editor.stop());
}

function who(changeset) {
  if (!changeset) return "";
  const kind = t(`changeKind_${changeset.kind}`);
  if (!changeset.role) return kind; // who: for signed-in callers only
  const key = changeset.key_id != null ? ` #${changeset.key_id}` : "";
  return `${kind} · ${t(`role_${changeset.role}`)}${key}`;
}

/** Feature ``fid``'s history in ``panel``: every version, newest first, with who, when, why
 * and the fields changed; an editor restores a past version from it (恢复此版本), asked again,
 * then ``actions.onSaved`` as for an edit. ``actions.openFeature`` opens a feature of its
 * lineage. */
export async function openHistory(panel, meta, layerId, fid, actions = {}) {
  const info = meta.layers[layerId];
  const { data } = await apiResponse(`/collections/${info.collection}/items/${fid}/history`);
  const versions = (data.versions || data).slice().reverse();
  const rows = versions.map((v, i) => {
    const older = versions[i + 1];
    const changed = older
      ? Object.keys(v.properties).filter((k) => JSON.stringify(v.properties[k]) !== JSON.stringify(older.properties[k]))
      : [];
    const fields = changed.map((k) => `<li><b>${esc(pick((info.fields[k] || {}).title) || k)}</b>: ` +
      `<span class="data">${esc(older.properties[k] ?? "—")}</span> → <span class="data">${esc(v.properties[k] ?? "—")}</span></li>`);
    const by = v.created_by || {};
    const when = new Date(v.valid_from || by.at || Date.now());
    const restore = v.valid_to != null && actions.onSaved && v.valid_from
      ? `<p class="restore"><button type="button" class="link" data-restore="${esc(v.valid_from)}">` +
        `${esc(t("restoreVersion"))}</button> <span class="error" role="alert" hidden></span></p>`
      : "";
    return `<li class="version"><div>${esc(when.toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB"))} · ` +
      `${esc(who(by))}</div>${by.reason ? `<div class="muted data">${esc(by.reason)}</div>` : ""}` +
      (fields.length ? `<ul>${fields.join("")}</ul>` : "") + restore + "</li>";
  });
  panel.innerHTML = `<h3>${esc(t("historyOf", { id: fid }))} (${num(versions.length)})</h3><ol class="history">${rows.join("")}</ol>` +
    lineageHtml(data.lineage) + fileRecordHtml(data.files);
  // a feature of its lineage: its card when it is current, else its history here
  for (const button of panel.querySelectorAll("[data-lineage-fid]")) {
    const other = button.dataset.lineageFid;
    button.onclick = async () => {
      const { data: theirs } = await apiResponse(`/collections/${info.collection}/items/${other}/history`);
      const current = (theirs.versions || []).at(-1)?.valid_to == null;
      if (current && actions.openFeature) await actions.openFeature(layerId, other);
      else await openHistory(panel, meta, layerId, other, actions);
    };
  }
  const gone = versions[0]?.valid_to != null; // its newest version ended: deleted
  for (const button of panel.querySelectorAll("[data-restore]")) {
    button.onclick = () => restoreVersion(button, info, layerId, fid, gone, actions.onSaved);
  }
}

// A past version made current again: asked again on the button itself, then POST …/restore
// with the feature's current ETag (none for a deleted feature, ``gone``, which comes back
// whole); a refusal (changed since, an overlap) said beside it.
async function restoreVersion(button, info, layerId, fid, gone, onSaved) {
  if (!button.classList.contains("confirm")) {
    button.classList.add("confirm");
    button.textContent = t("confirmRestore");
    return;
  }
  const at = button.dataset.restore;
  const when = new Date(at).toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB");
  const path = `/collections/${info.collection}/items/${fid}`;
  const said = button.parentElement.querySelector(".error");
  button.disabled = true;
  try {
    // a deleted feature (``gone``) has no ETag: it comes back whole
    const etag = gone ? null : (await apiResponse(path)).response.headers.get("etag");
    const { data: saved } = await apiResponse(`${path}/restore?as-of=${encodeURIComponent(at)}`, {
      method: "POST", headers: reasonHeaders(t("restoredReason", { when }), etag),
    });
    await onSaved({ layerId, fid, geometry: null, message: t("restored"), changeset: saved?.changeset });
  } catch (err) {
    said.hidden = false;
    said.textContent = faultText(err);
    button.disabled = false;
  }
}

/** Wire the edit and history buttons inside ``root`` (a card just rendered). ``actions``:
 * ``map`` (for shapes), ``onSaved({layerId, fid, geometry, message, changeset})`` (the
 * geometry when the shape was redrawn, else null; after a split, merge or restore, ``fid``
 * the feature kept and ``message`` what was done; the edit's change set), ``onDeleted({layerId, fid,
 * changeset})`` and ``openFeature(layerId, fid)`` (a feature named
 * in a history's splits and merges). */
export function wireEditing(root, meta, actions) {
  for (const button of root.querySelectorAll("[data-edit]")) {
    button.onclick = () => openEditForm(button.closest(".edit-tools").nextElementSibling, meta,
      button.dataset.edit, button.dataset.fid, actions).catch((err) => console.warn("edit", err.message));
  }
  for (const button of root.querySelectorAll("[data-history]")) {
    button.onclick = () => openHistory(button.closest(".edit-tools").nextElementSibling, meta,
      button.dataset.history, button.dataset.fid, actions)
      .catch((err) => console.warn("history", err.message));
  }
}

/** The layers ``meta`` lets the caller add features to (ids), for the "new feature" tool. */
export function creatableLayers(meta) {
  return Object.keys(meta.layers).filter((id) => meta.layers[id].editing?.geometry);
}
