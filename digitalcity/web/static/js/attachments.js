// Files kept with features (附件) on the planner's cards: a feature's photos and scans listed
// (images as thumbnails), opened, and, for the layer's editors, added and removed. Read with
// the caller's key (a layer's files may be for staff only), so images are fetched as Blobs.
// On a past day's map the files kept that day are listed, and nothing can be changed.
import { apiResponse, blobOf, download, esc, num, sendFile, showsPast, withAsOf } from "./common.js";
import { lang, t } from "./i18n.js";

const ACCEPT = "image/jpeg,image/png,image/webp,image/gif,application/pdf";

/** The card's *Attachments* button for feature ``fid`` of ``layerId`` when the caller may
 * read its layer's files (``label``: the i18n key of its words; plainer on the public map). */
export function attachmentButton(meta, layerId, fid, label = "attachments") {
  if (!meta.layers[layerId]?.attachments || fid == null) return "";
  return `<p class="attach-tools"><button type="button" data-attachments="${esc(layerId)}" data-fid="${esc(fid)}" data-label="${esc(label)}">` +
    `${esc(t(label))}</button></p><div class="attach-panel"></div>`;
}

function size(bytes) {
  return bytes >= 1048576 ? `${num(bytes / 1048576, 1)} MB` : `${num(Math.max(1, bytes / 1024))} KB`;
}

function problem(err) {
  if (err.status === 413) return t("attachTooLarge");
  if (err.status === 415) return t("attachWrongType");
  return t("error", { msg: err.message });
}

function day(at) {
  return new Date(at).toLocaleDateString(lang() === "zh" ? "zh-CN" : "en-GB");
}

/** List feature ``fid``'s files in ``panel`` (those kept on the map's day); editors also get
 * the form to add one, except on a past day. */
async function openList(panel, meta, layerId, fid, label = "attachments") {
  const info = meta.layers[layerId];
  const base = `/collections/${info.collection}/items/${fid}/attachments`;
  const { data } = await apiResponse(withAsOf(base));
  const files = data.attachments;
  const write = info.attachments.write && !showsPast();
  const rows = files.map((f, i) => `<li class="attach-item">` +
    (f.type.startsWith("image/") ? `<img class="attach-thumb" data-thumb="${i}" alt="${esc(f.name)}">` : "") +
    `<button type="button" class="link data" data-open="${i}">${esc(f.name)}</button> ` +
    `<span class="muted">${esc(size(f.size))} · ${esc(day(f.added_at))}</span>` +
    (write ? ` <button type="button" class="link" data-remove="${i}">${esc(t("attachRemove"))}</button>` : "") +
    "</li>").join("");
  const form = write
    ? `<form class="attach-form"><label>${esc(t("attachAdd"))} <input type="file" name="file" accept="${ACCEPT}"></label> ` +
      `<button type="submit">${esc(t("attachSend"))}</button></form>`
    : "";
  panel.innerHTML = `<h3>${esc(t(label))} (${num(files.length)})</h3>` +
    (files.length ? `<ul class="attach-list">${rows}</ul>` : `<p class="muted">${esc(t("attachNone"))}</p>`) +
    `${form}<p class="error attach-error" hidden></p>`;
  const error = panel.querySelector(".attach-error");
  const fail = (err) => { error.hidden = false; error.textContent = problem(err); };
  for (const img of panel.querySelectorAll("[data-thumb]")) {
    blobOf(files[Number(img.dataset.thumb)].href).then((blob) => { img.src = URL.createObjectURL(blob); })
      .catch(() => img.remove());
  }
  for (const button of panel.querySelectorAll("[data-open]")) {
    const f = files[Number(button.dataset.open)];
    button.onclick = () => download(f.href, f.name).catch(fail);
  }
  for (const button of panel.querySelectorAll("[data-remove]")) {
    const f = files[Number(button.dataset.remove)];
    button.onclick = async () => {
      if (!button.classList.contains("danger")) { // asked again
        button.classList.add("danger");
        button.textContent = t("attachConfirmRemove");
        return;
      }
      try {
        await apiResponse(f.href, { method: "DELETE" });
        await openList(panel, meta, layerId, fid, label);
      } catch (err) {
        fail(err);
      }
    };
  }
  const upload = panel.querySelector(".attach-form");
  if (upload) {
    upload.onsubmit = async (event) => {
      event.preventDefault();
      const file = upload.elements.file.files[0];
      if (!file) return;
      try {
        await sendFile(`${base}?name=${encodeURIComponent(file.name)}`, file);
        await openList(panel, meta, layerId, fid, label);
      } catch (err) {
        fail(err);
      }
    };
  }
}

/** Wire the *Attachments* buttons inside ``root`` (a card just rendered). */
export function wireAttachments(root, meta) {
  for (const button of root.querySelectorAll("[data-attachments]")) {
    button.onclick = () => openList(button.closest(".attach-tools").nextElementSibling, meta,
      button.dataset.attachments, button.dataset.fid, button.dataset.label).catch((err) => console.warn("attachments", err.message));
  }
}

/** The record of every file feature ``fid`` has kept (its history's ``files``): when and by
 * whom each was added and removed. */
export function fileRecordHtml(files) {
  if (!files?.length) return "";
  const by = (at, role) => ({ when: day(at), who: t(`role_${role}`) });
  const rows = files.map((f) => `<li class="file-record"><span class="data">${esc(f.name)}</span> ` +
    `<span class="muted">${esc(size(f.size))}</span> · ${esc(t("attachAddedBy", by(f.added_at, f.added_role)))}` +
    (f.removed_at ? ` · ${esc(t("attachRemovedBy", by(f.removed_at, f.removed_role)))}` : "") + "</li>");
  return `<h4>${esc(t("attachRecord"))}</h4><ul class="file-records">${rows.join("")}</ul>`;
}
