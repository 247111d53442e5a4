// Print a map sheet from the planner map: the current view at A4 or A3, portrait or
// landscape, with title, legend of the visible layers, scale bar, north arrow, date and
// attribution, as PNG or PDF. The map is drawn again off screen at the sheet's size (same
// style, same requests and key), then the sheet is composed on a 2D canvas. The PDF is a
// single page holding the sheet as one JPEG (a small writer below: no library needed).
import { saveBlob, transformRequest } from "./common.js";
import { lang, legendCaption, pick, t } from "./i18n.js";

const PAPER_MM = { A4: [210, 297], A3: [297, 420] };
const DPI = 150;
const MM_PER_INCH = 25.4;
const PT_PER_MM = 72 / MM_PER_INCH;
const EARTH_M = 40075016.686; // equator, metres
const INK = "#1f2933";

/** Sheet size in pixels (at DPI) and in PDF points. */
export function sheetSize(paper, orientation) {
  const [w, h] = PAPER_MM[paper] || PAPER_MM.A4;
  const [mmW, mmH] = orientation === "landscape" ? [h, w] : [w, h];
  return {
    px: [Math.round((mmW / MM_PER_INCH) * DPI), Math.round((mmH / MM_PER_INCH) * DPI)],
    pt: [mmW * PT_PER_MM, mmH * PT_PER_MM],
  };
}

// The layout of the sheet, in sheet pixels: title band, map, legend column, footer.
function layout([w, h]) {
  const m = Math.round(w * 0.035);
  const titleH = Math.round(h * 0.07);
  const footH = Math.round(h * 0.05);
  const legendW = Math.round(w * (w > h ? 0.24 : 0.3));
  const map = { x: m, y: m + titleH, w: w - 2 * m - legendW - m / 2, h: h - 2 * m - titleH - footH };
  return {
    margin: m,
    title: { x: m, y: m, w: w - 2 * m, h: titleH },
    map,
    legend: { x: map.x + map.w + m / 2, y: map.y, w: legendW, h: map.h },
    footer: { x: m, y: map.y + map.h, w: w - 2 * m, h: footH },
  };
}

// The current view drawn off screen at ``w``×``h`` CSS pixels; resolves to its canvas.
function renderOffscreen(map, w, h) {
  const holder = document.createElement("div");
  holder.style.cssText = `position:fixed;left:-10000px;top:0;width:${w}px;height:${h}px`;
  document.body.appendChild(holder);
  const copy = new maplibregl.Map({
    container: holder,
    style: map.getStyle(),
    bounds: map.getBounds(),
    bearing: map.getBearing(),
    interactive: false,
    attributionControl: false,
    preserveDrawingBuffer: true,
    pixelRatio: 1,
    fadeDuration: 0,
    transformRequest,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("map render timed out")), 60_000);
    copy.once("idle", () => {
      clearTimeout(timer);
      resolve({ copy, holder });
    });
    copy.on("error", (e) => console.warn("print", e.error && e.error.message));
  });
}

function niceLength(metres) {
  const power = 10 ** Math.floor(Math.log10(metres));
  const lead = metres / power;
  return (lead >= 5 ? 5 : lead >= 2 ? 2 : 1) * power;
}

function fitText(ctx, text, maxWidth) {
  if (ctx.measureText(text).width <= maxWidth) return text;
  let cut = text;
  while (cut.length > 1 && ctx.measureText(`${cut}…`).width > maxWidth) cut = cut.slice(0, -1);
  return `${cut}…`;
}

// ``extra``: groups of what the tools drew over the map ({title, entries: [{colour, label}]}),
// listed first: the sheet is about them. Returns the box drawn and the rows' texts in it.
function drawLegend(ctx, box, legend, visible, extra = []) {
  const unit = Math.round(box.w / 16);
  let y = box.y + unit;
  ctx.fillStyle = INK;
  ctx.font = `bold ${Math.round(unit * 0.9)}px sans-serif`;
  ctx.fillText(t("legend"), box.x, y);
  y += unit * 0.8;
  const rows = [];
  for (const group of extra) {
    rows.push({ head: group.title });
    for (const e of group.entries) rows.push({ colour: e.colour, label: e.label });
  }
  for (const layer of (legend && legend.layers) || []) {
    if (!visible.has(layer.id)) continue;
    rows.push({ head: pick(layer.title) || layer.id });
    if (legendCaption(layer)) rows.push({ note: legendCaption(layer) });
    const entries = layer.entries.length > 1 ? layer.entries.slice(0, 12) : layer.entries;
    for (const e of entries) rows.push({ colour: e.colour, label: layer.entries.length > 1 ? e.label : "" });
  }
  const drawn = [];
  for (const row of rows) {
    if (y > box.y + box.h - unit) break;
    drawn.push(row.head || row.note || row.label || "");
    y += unit * 0.9;
    if (row.head) {
      ctx.font = `bold ${Math.round(unit * 0.62)}px sans-serif`;
      ctx.fillStyle = INK;
      ctx.fillText(fitText(ctx, row.head, box.w), box.x, y);
      continue;
    }
    if (row.note) {
      ctx.font = `${Math.round(unit * 0.55)}px sans-serif`;
      ctx.fillStyle = INK;
      ctx.fillText(fitText(ctx, row.note, box.w), box.x, y);
      continue;
    }
    ctx.fillStyle = row.colour || "#bdbdbd";
    ctx.fillRect(box.x, y - unit * 0.55, unit * 0.8, unit * 0.6);
    ctx.strokeStyle = "#555";
    ctx.strokeRect(box.x, y - unit * 0.55, unit * 0.8, unit * 0.6);
    if (row.label) {
      ctx.fillStyle = INK;
      ctx.font = `${Math.round(unit * 0.55)}px sans-serif`;
      ctx.fillText(fitText(ctx, row.label, box.w - unit * 1.1), box.x + unit * 1.1, y);
    }
  }
  return { x: box.x, y: box.y, w: box.w, h: y - box.y, rows: drawn };
}

function drawScaleBar(ctx, box, metresPerPixel) {
  const target = niceLength((box.w / 5) * metresPerPixel);
  const length = target / metresPerPixel;
  const unit = Math.round(box.w / 60);
  const x = box.x + unit * 2;
  const y = box.y + box.h - unit * 2;
  ctx.fillStyle = "rgba(255,255,255,0.85)";
  ctx.fillRect(x - unit, y - unit * 2.6, length + unit * 2, unit * 3.6);
  ctx.fillStyle = INK;
  ctx.fillRect(x, y - unit * 0.5, length, unit * 0.5);
  ctx.fillRect(x, y - unit * 1.2, unit * 0.25, unit * 1.2);
  ctx.fillRect(x + length - unit * 0.25, y - unit * 1.2, unit * 0.25, unit * 1.2);
  ctx.font = `${Math.round(unit * 1.1)}px sans-serif`;
  const label = target >= 1000 ? `${target / 1000} ${t("unitKm")}` : `${target} ${t("unitM")}`;
  ctx.fillText(label, x, y - unit * 1.4);
  return { x: x - unit, y: y - unit * 2.6, w: length + unit * 2, h: unit * 3.6 };
}

function drawNorthArrow(ctx, box, bearing) {
  const size = Math.round(box.w / 22);
  const cx = box.x + box.w - size * 1.5;
  const cy = box.y + size * 1.8;
  ctx.save();
  ctx.fillStyle = "rgba(255,255,255,0.85)";
  ctx.beginPath();
  ctx.arc(cx, cy, size * 1.2, 0, Math.PI * 2);
  ctx.fill();
  ctx.translate(cx, cy);
  ctx.rotate((-bearing * Math.PI) / 180);
  ctx.fillStyle = INK;
  ctx.beginPath();
  ctx.moveTo(0, -size);
  ctx.lineTo(size * 0.45, size * 0.6);
  ctx.lineTo(0, size * 0.3);
  ctx.lineTo(-size * 0.45, size * 0.6);
  ctx.closePath();
  ctx.fill();
  ctx.restore();
  ctx.fillStyle = INK;
  ctx.font = `bold ${Math.round(size * 0.7)}px sans-serif`;
  ctx.textAlign = "center";
  ctx.fillText(t("north"), cx, cy + size * 1.2 + size * 0.9);
  ctx.textAlign = "start";
}

/** Compose the sheet of ``map`` on a canvas; also returns the regions drawn (sheet pixels). */
export async function composeSheet(map, { paper, orientation, title, legend, visible, extra }) {
  const { px } = sheetSize(paper, orientation);
  const L = layout(px);
  const { copy, holder } = await renderOffscreen(map, L.map.w, L.map.h);
  try {
    const canvas = document.createElement("canvas");
    [canvas.width, canvas.height] = px;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, px[0], px[1]);
    ctx.fillStyle = INK;
    ctx.font = `bold ${Math.round(L.title.h * 0.5)}px sans-serif`;
    ctx.fillText(fitText(ctx, title, L.title.w), L.title.x, L.title.y + L.title.h * 0.65);
    ctx.drawImage(copy.getCanvas(), L.map.x, L.map.y, L.map.w, L.map.h);
    ctx.strokeStyle = INK;
    ctx.lineWidth = 2;
    ctx.strokeRect(L.map.x, L.map.y, L.map.w, L.map.h);
    const lat = copy.getCenter().lat;
    const metresPerPixel = (EARTH_M * Math.cos((lat * Math.PI) / 180)) / (512 * 2 ** copy.getZoom());
    const regions = {
      map: L.map,
      legend: drawLegend(ctx, L.legend, legend, visible, extra),
      scale: drawScaleBar(ctx, L.map, metresPerPixel),
    };
    drawNorthArrow(ctx, L.map, map.getBearing());
    const date = new Date().toLocaleDateString(lang() === "zh" ? "zh-CN" : "en-GB");
    const attribution = (document.querySelector(".maplibregl-ctrl-attrib-inner") || {}).textContent || "";
    ctx.font = `${Math.round(L.footer.h * 0.32)}px sans-serif`;
    ctx.fillText(`${t("printDate")}: ${date}`, L.footer.x, L.footer.y + L.footer.h * 0.55);
    ctx.textAlign = "end";
    ctx.fillText(fitText(ctx, `© ${attribution || "digitalcity"}`, L.footer.w * 0.7),
      L.footer.x + L.footer.w, L.footer.y + L.footer.h * 0.55);
    ctx.textAlign = "start";
    return { canvas, regions, size: px, metresPerPixel };
  } finally {
    copy.remove();
    holder.remove();
  }
}

// -- a one-page PDF holding one JPEG -----------------------------------------------------------
function pdfBytes(jpeg, widthPx, heightPx, [pageW, pageH]) {
  const enc = new TextEncoder();
  const parts = [];
  const offsets = [];
  let length = 0;
  const add = (chunk) => {
    const bytes = typeof chunk === "string" ? enc.encode(chunk) : chunk;
    parts.push(bytes);
    length += bytes.length;
  };
  const object = (n, body) => {
    offsets[n] = length;
    add(`${n} 0 obj\n${body}\nendobj\n`);
  };
  const w = pageW.toFixed(2);
  const h = pageH.toFixed(2);
  add("%PDF-1.4\n%\xE2\xE3\xCF\xD3\n");
  object(1, "<< /Type /Catalog /Pages 2 0 R >>");
  object(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
  object(3, `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${w} ${h}] ` +
    "/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>");
  offsets[4] = length;
  add(`4 0 obj\n<< /Type /XObject /Subtype /Image /Width ${widthPx} /Height ${heightPx} ` +
    `/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length ${jpeg.length} >>\nstream\n`);
  add(jpeg);
  add("\nendstream\nendobj\n");
  const draw = `q ${w} 0 0 ${h} 0 0 cm /Im0 Do Q`;
  object(5, `<< /Length ${draw.length} >>\nstream\n${draw}\nendstream`);
  const xref = length;
  add(`xref\n0 6\n0000000000 65535 f \n${offsets.slice(1).map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`);
  add(`trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function toBlob(canvas, type, quality) {
  return new Promise((resolve) => canvas.toBlob(resolve, type, quality));
}

/** Compose and download the sheet; returns what was drawn (for tests and power users). */
export async function printSheet(map, options) {
  const sheet = await composeSheet(map, options);
  const stem = `${options.fileStem || "map"}-${options.paper}-${options.orientation}`;
  if (options.format === "png") {
    saveBlob(await toBlob(sheet.canvas, "image/png"), `${stem}.png`);
  } else {
    const jpeg = new Uint8Array(await (await toBlob(sheet.canvas, "image/jpeg", 0.92)).arrayBuffer());
    const { pt } = sheetSize(options.paper, options.orientation);
    saveBlob(new Blob([pdfBytes(jpeg, sheet.size[0], sheet.size[1], pt)], { type: "application/pdf" }), `${stem}.pdf`);
  }
  const result = { regions: sheet.regions, size: sheet.size, metresPerPixel: sheet.metresPerPixel };
  window.dcPrint = result;
  return result;
}

/**
 * Wire the print button and its dialog (paper, orientation, format, title): the title starts
 * as the city's and the day's; ``sheet()`` gives what the sheet shows besides the map (the
 * legend, the visible layers, the file's stem).
 */
export function wirePrintDialog(map, { cityTitle, sheet }) {
  const $ = (id) => document.getElementById(id);
  $("print").onclick = () => {
    const day = new Date().toLocaleDateString(lang() === "zh" ? "zh-CN" : "en-GB");
    $("print-title").value = `${cityTitle()} · ${day}`;
    $("print-status").textContent = "";
    $("print-dialog").showModal();
  };
  $("print-ok").onclick = async (event) => {
    event.preventDefault();
    $("print-status").textContent = t("loading");
    try {
      await printSheet(map, {
        paper: $("print-paper").value,
        orientation: $("print-orientation").value,
        format: $("print-format").value,
        title: $("print-title").value,
        ...sheet(),
      });
      $("print-dialog").close();
    } catch (err) {
      $("print-status").textContent = t("error", { msg: err.message });
    }
  };
}
