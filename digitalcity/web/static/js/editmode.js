// Editing on the planner map, for callers whose role may edit a layer (the city's meta says
// which fields they may write and the code lists): an attribute form generated from the
// definition (code lists as drop-downs, units shown, numbers as numbers), saved with a reason
// through OGC API – Features Part 4 (PATCH with If-Match), and a feature's history panel.
import { apiResponse, esc, num } from "./common.js";
import { lang, pick, t, unitText } from "./i18n.js";

const REASON_HEADER = "X-Change-Reason";

/** Edit and history buttons for a feature of ``layerId``, when the caller may edit it. */
export function editButtons(meta, layerId, fid) {
  const info = meta.layers[layerId];
  if (!info || !info.editing || fid == null) return "";
  return `<p class="edit-tools"><button type="button" data-edit="${esc(layerId)}" data-fid="${esc(fid)}">` +
    `${esc(t("edit"))}</button> <button type="button" data-history="${esc(layerId)}" ` +
    `data-fid="${esc(fid)}">${esc(t("history"))}</button></p><div class="edit-panel"></div>`;
}

function input(field, value, info, codes) {
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

function collected(form, fields, before) {
  const patch = {};
  for (const field of fields) {
    const el = form.elements[field.name];
    if (!el) continue;
    let value;
    if (field.type === "boolean") value = el.checked;
    else if (["integer", "float"].includes(field.type)) value = el.value === "" ? null : Number(el.value);
    else value = el.value === "" ? null : el.value;
    if (value !== (before[field.name] ?? null)) patch[field.name] = value;
  }
  return patch;
}

/** The attribute form of feature ``fid``; ``onSaved`` runs after a successful save. */
export async function openEditForm(panel, meta, layerId, fid, onSaved) {
  const info = meta.layers[layerId];
  const path = `/collections/${info.collection}/items/${fid}`;
  const { response, data } = await apiResponse(path);
  const etag = response.headers.get("etag");
  const fields = info.editing.fields;
  panel.innerHTML = `<form class="edit-form"><h3>${esc(t("edit"))}</h3>` +
    fields.map((f) => input(f, data.properties[f.name], info, info.editing.codes || {})).join("") +
    `<label class="edit-field" for="edit-reason"><span>${esc(t("reason"))}</span>` +
    `<input id="edit-reason" name="_reason" type="text" required maxlength="500"></label>` +
    `<p class="error edit-faults" hidden></p>` +
    `<p><button type="submit" id="edit-save">${esc(t("save"))}</button> ` +
    `<button type="button" id="edit-cancel">${esc(t("cancel"))}</button></p></form>`;
  const form = panel.querySelector("form");
  const faults = panel.querySelector(".edit-faults");
  panel.querySelector("#edit-cancel").onclick = () => { panel.innerHTML = ""; };
  form.onsubmit = async (event) => {
    event.preventDefault();
    const reason = form.elements._reason.value.trim();
    if (!reason) {
      faults.hidden = false;
      faults.textContent = t("reasonNeeded");
      return;
    }
    const patch = collected(form, fields, data.properties);
    try {
      await apiResponse(path, {
        method: "PATCH",
        body: { properties: patch },
        headers: { "If-Match": etag, [REASON_HEADER]: encodeURIComponent(reason) },
      });
      panel.innerHTML = `<p class="saved">${esc(t("saved"))}</p>`;
      await onSaved();
    } catch (err) {
      faults.hidden = false;
      faults.textContent = err.status === 412 ? t("editConflict")
        : (err.faults && err.faults.length ? err.faults.join("; ") : err.message);
    }
  };
}

function who(changeset) {
  if (!changeset) return "";
  const kind = t(`changeKind_${changeset.kind}`);
  const role = changeset.role ? t(`role_${changeset.role}`) : "";
  const key = changeset.key_id != null ? ` #${changeset.key_id}` : "";
  return `${kind} · ${role}${key}`;
}

/** The versions of feature ``fid``, newest first, with what changed, who, when and why. */
export async function openHistory(panel, meta, layerId, fid) {
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
    return `<li class="version"><div>${esc(when.toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB"))} · ` +
      `${esc(who(by))}</div>${by.reason ? `<div class="muted data">${esc(by.reason)}</div>` : ""}` +
      (fields.length ? `<ul>${fields.join("")}</ul>` : "") + "</li>";
  });
  panel.innerHTML = `<h3>${esc(t("history"))} (${num(versions.length)})</h3><ol class="history">${rows.join("")}</ol>`;
}

/** Wire the edit and history buttons inside ``root`` (a card just rendered). */
export function wireEditing(root, meta, onSaved) {
  for (const button of root.querySelectorAll("[data-edit]")) {
    button.onclick = () => openEditForm(button.closest(".edit-tools").nextElementSibling, meta,
      button.dataset.edit, button.dataset.fid, onSaved).catch((err) => console.warn("edit", err.message));
  }
  for (const button of root.querySelectorAll("[data-history]")) {
    button.onclick = () => openHistory(button.closest(".edit-tools").nextElementSibling, meta,
      button.dataset.history, button.dataset.fid).catch((err) => console.warn("history", err.message));
  }
}
