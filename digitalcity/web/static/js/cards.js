// Information cards: the parcel card (planner), the public card, any feature's properties,
// and the statistics of a drawn polygon. Every value is escaped.
import { esc, num, swatch } from "./common.js";
import { pick, t, unitText } from "./i18n.js";

const row = (label, value) => `<tr><th>${esc(label)}</th><td>${value}</td></tr>`;
const table = (rows) => `<table class="kv">${rows.join("")}</table>`;
const unknown = () => `<span class="unknown">${esc(t("unknown"))}</span>`;
const noLimit = () => `<span class="no-limit">${esc(t("noLimit"))}</span>`;

// A control's cell: its value, "no limit" (the plan sets none) or "unknown" (no source).
function controlValue(c) {
  const status = c.status || (c.known ? "value" : "unknown");
  if (status === "value") return value(c.value, c.unit);
  return status === "no_limit" ? noLimit() : unknown();
}

function codeText(entry) {
  if (!entry) return unknown();
  return `${swatch(entry.colour)}<b class="data">${esc(entry.code)}</b> ${esc(entry.name || "")}`;
}

// A facility type's title: the city's meta (its own types too), else the built-in word.
function facilityTitle(kind, meta) {
  const titles = meta && meta.facility_titles && meta.facility_titles[kind];
  return titles ? pick(titles) : t(`facility_${kind}`);
}

// A card's title: the feature's own label (data) or, without one, a translated word.
function cardTitle(label, fallback) {
  return label
    ? `<h2 class="card-title data">${esc(label)}</h2>`
    : `<h2 class="card-title">${esc(fallback)}</h2>`;
}

// A district as cards name it: its colour, code (data) and name.
function zoneLabel(zoning) {
  return `${swatch(zoning.colour)}<b class="data">${esc(zoning.zone_code ?? "")}</b> ${esc(zoning.zone_name || "")}`;
}

function zoneName(zoning) {
  return `<p class="zone">${zoneLabel(zoning)}</p>`;
}

function value(v, unit) {
  if (v == null || v === "") return unknown();
  // a share (unit "ratio", 0–1) reads as a percentage
  if (unit === "ratio" && typeof v === "number") return `${num(v * 100, 1)}%`;
  // text values are the city's data (addresses, names, codes), not UI: kept as they are
  const text = typeof v === "number" ? num(v, 2) : `<span class="data">${esc(v)}</span>`;
  return unit ? `${text} ${esc(unitText(unit))}` : text;
}

function fieldRows(props, info) {
  const fields = (info && info.fields) || {};
  return Object.entries(props)
    .filter(([name]) => !name.startsWith("_"))
    .map(([name, v]) => {
      const f = fields[name];
      return row(f ? pick(f.title) : name, value(v, f && f.unit));
    });
}

// A source text may hold several "url (note)" parts separated by " | ": each becomes a link.
function sourceHtml(text) {
  return text.split(" | ").map((part) => {
    const url = (part.match(/https?:\/\/\S+/) || [])[0];
    if (!url) return esc(part);
    const note = part.replace(url, "").trim();
    return `<a href="${esc(url)}" target="_blank" rel="noopener">${esc(new URL(url).hostname)}</a>` +
      (note ? ` ${esc(note)}` : "");
  }).join("; ");
}

function controlsTable(zoning) {
  if (!zoning.controls.length) return `<p>${unknown()}</p>`;
  const sources = [...new Set(zoning.controls.map((c) => c.source).filter(Boolean))];
  const head = `<tr><th>${esc(t("control"))}</th><th>${esc(t("value"))}</th>` +
    `<th>${esc(t("source"))}</th></tr>`;
  const body = zoning.controls.map((c) => `<tr><td>${esc(t(`control_${c.control}`))}</td>` +
    `<td>${controlValue(c)}</td>` +
    `<td class="muted">${c.source ? `[${sources.indexOf(c.source) + 1}]` : ""}</td></tr>`);
  const notes = sources.map((s, i) => `<li>[${i + 1}] <span class="data">${sourceHtml(s)}</span></li>`).join("");
  return `<table class="grid controls">${head}${body.join("")}</table>` +
    (notes ? `<ul class="sources small muted">${notes}</ul>` : "");
}

function zoningHtml(zoning, withControls = true) {
  if (!zoning) return `<p>${unknown()}</p>`;
  const name = zoneName(zoning);
  if (!withControls) return name;
  const note = zoning.controls_note
    ? `<details class="small"><summary>${esc(t("note"))}</summary><p class="muted data">${esc(zoning.controls_note)}</p></details>`
    : "";
  return name + plainSummary(zoning.plain) + controlsTable(zoning) + plainNotes(zoning.plain) + note;
}

function plainSummary(plain) {
  return plain && plain.summary ? `<p class="plain">${esc(plain.summary)}</p>` : "";
}

// Why a limit does not apply, and how far the figures can be trusted.
function plainNotes(plain) {
  if (!plain) return "";
  const why = plain.no_limit_note ? `<p class="small">${esc(plain.no_limit_note)}</p>` : "";
  const cls = plain.sources === "official" ? "sources-note" : "sources-note secondary";
  return `${why}<p class="small ${cls}">${esc(t(`sources_${plain.sources || "none"}`))}</p>`;
}

// The citizen's zone: what it is for, the key limits (value / no limit / unknown), in words.
function publicZoningHtml(zoning) {
  if (!zoning) return `<p>${unknown()}</p>`;
  const name = zoneName(zoning);
  const limits = zoning.controls.length
    ? `<table class="kv">${zoning.controls.map((c) => row(t(`control_${c.control}`), controlValue(c))).join("")}</table>`
    : `<p>${unknown()}</p>`;
  return name + plainSummary(zoning.plain) + `<h4>${esc(t("keyLimits"))}</h4>` + limits +
    plainNotes(zoning.plain);
}

function farHtml(far) {
  const badge = `<span class="badge status-${esc(far.status)}">${esc(t(`status_${far.status}`))}</span>`;
  return `<p class="far">${esc(t("far"))}: ${esc(t("farBuilt"))} <b>${value(far.built_far)}</b>` +
    ` / ${esc(t("farMax"))} <b>${far.status === "no_limit" ? noLimit() : value(far.max_far)}</b> ${badge}</p>`;
}

function nearestHtml(nearest, meta) {
  const kinds = Object.entries(nearest || {});
  if (!kinds.length) return `<p>${esc(t("none"))}</p>`;
  return `<table class="grid">${kinds.map(([kind, f]) => `<tr><td>${esc(facilityTitle(kind, meta))}</td>` +
    `<td>${f.name ? `<span class="data">${esc(f.name)}</span>` : esc(pick(f.layer_title) || "")}</td>` +
    `<td class="num">${num(f.distance_m)} ${esc(unitText("m"))}</td></tr>`).join("")}</table>`;
}

// The city's primary classification first (city.toml land_use_primary), the other after it.
function landUseRows(lu) {
  const native = [row(t("native"), codeText(lu.native))];
  const standard = [row(t("standard1"), codeText(lu.standard_level1)),
    row(t("standard2"), codeText(lu.standard_level2))];
  return lu.primary === "native" ? [...native, ...standard] : [...standard, ...native];
}

/** The planner's parcel card (from /cities/{city}/identify or /parcels/{fid}). */
export function parcelCard(card, meta) {
  const info = meta.layers[card.collection.split("__").slice(1).join("__")];
  const sem = (info && info.semantics) || {};
  const props = card.properties;
  const lu = card.land_use || {};
  const overlays = card.overlays.length
    ? `<ul>${card.overlays.map((o) => `<li class="data">${esc(o.name || o.collection)}</li>`).join("")}</ul>`
    : `<p>${esc(t("none"))}</p>`;
  const residents = card.residents
    ? `${num(card.residents.residents)} ${esc(t("persons"))}` : unknown();
  return cardTitle(card.label, t("parcel")) +
    table([
      row(t("address"), value(props[sem.address])),
      row(t("parcelId"), `${value(props[sem.parcel_id])} <span class="muted">fid ${esc(card.fid)}</span>`),
      row(t("parcelArea"), `${num(card.area_m2)} ${esc(unitText("m²"))}`),
    ]) +
    `<h3>${esc(t("landUse"))}</h3>` +
    table(landUseRows(lu)) +
    `<h3>${esc(t("zoning"))}</h3>${zoningHtml(card.zoning)}${farHtml(card.far)}` +
    `<h3>${esc(t("overlays"))}</h3>${overlays}` +
    `<h3>${esc(t("nearest"))}</h3>${nearestHtml(card.nearest, meta)}` +
    `<h3>${esc(t("residents400"))}</h3><p class="residents">${residents}</p>` +
    `<details><summary>${esc(t("properties"))}</summary>${table(fieldRows(props, info))}</details>` +
    `<p class="export">${esc(t("export"))}: <button type="button" data-export="geojson">GeoJSON</button> ` +
    `<button type="button" data-export="csv">CSV</button> ` +
    `<button type="button" data-export="txt">${esc(t("boundaryPoints"))}</button></p>`;
}

/** The public card of a parcel: its use, its zone and the zone's controls. */
export function publicParcelCard(card, meta) {
  const info = meta.layers[card.collection.split("__").slice(1).join("__")];
  const sem = (info && info.semantics) || {};
  const lu = card.land_use || {};
  return cardTitle(card.label, t("parcel")) +
    table([
      row(t("address"), value(card.properties[sem.address])),
      ...(lu.primary === "native"
        ? [row(t("landUse"), codeText(lu.native)),
          ...(lu.standard_level1 ? [row(t("standardClass"), codeText(lu.standard_level1))] : [])]
        : [row(t("landUse"), codeText(lu.standard_level1)),
          ...(lu.standard_level2 ? [row(t("standard2"), codeText(lu.standard_level2))] : [])]),
    ]) +
    `<h3>${esc(t("whatApplies"))}</h3>${publicZoningHtml(card.zoning)}`;
}

/** Properties of map features (from the tiles or the items endpoint), one block each. */
export function featuresCard(features, meta) {
  return features.map(({ layer, properties }) => {
    const info = meta.layers[layer] || {};
    // the name in the page's language where the layer has one (a Chinese name's English form)
    const named = info.names && properties[pick(info.names)];
    const label = named || (info.label && properties[info.label]);
    return cardTitle(label, pick(info.title) || layer) +
      `<p class="muted">${esc(pick(info.title) || layer)}</p>${table(fieldRows(properties, info))}`;
  }).join("<hr>");
}

// The zoning districts an area falls in: its area in each, and each district's limits that
// the plan sets (a value or "no limit"; those no source gives are left out here).
function zonesTable(zoning) {
  if (!zoning.zones.length) return `<p>${esc(t("none"))}</p>`;
  const limits = (zone) => {
    const set = zone.controls.filter((c) => c.status === "value" || c.status === "no_limit");
    return set.length
      ? set.map((c) => `${esc(t(`control_${c.control}`))} ${controlValue(c)}`).join("<br>")
      : unknown();
  };
  const rows = zoning.zones.map((z) => `<tr><td>${zoneLabel(z)}</td>` +
    `<td class="num">${num(z.area_m2)}</td><td class="num">${z.share == null ? "" : num(z.share * 100, 1) + "%"}</td>` +
    `<td class="small">${limits(z)}</td></tr>`).join("");
  const more = zoning.count > zoning.zones.length ? `<p class="muted small">${esc(t("moreZones", { n: num(zoning.count - zoning.zones.length) }))}</p>` : "";
  return `<table class="grid zones"><tr><th>${esc(t("zoning"))}</th><th>${esc(t("area"))} (${esc(unitText("m²"))})</th>` +
    `<th>${esc(t("share_"))}</th><th>${esc(t("keyLimits"))}</th></tr>${rows}</table>${more}`;
}

/** Statistics of a drawn polygon (POST /cities/{city}/stats). */
export function statsCard(stats, meta) {
  const lu = stats.landuse;
  const classes = lu && lu.classes.length
    ? `<table class="grid"><tr><th>${esc(t("class"))}</th><th>${esc(t("area"))} (${esc(unitText("m²"))})</th>` +
      `<th>${esc(t("share_"))}</th><th>${esc(t("parcels"))}</th></tr>` +
      lu.classes.map((c) => `<tr><td>${swatch(c.colour)}${esc(c.code ?? t("other"))} ${esc(c.name || "")}</td>` +
        `<td class="num">${num(c.area_m2)}</td><td class="num">${c.share == null ? "" : num(c.share * 100, 1) + "%"}</td>` +
        `<td class="num">${num(c.parcels)}</td></tr>`).join("") + "</table>"
    : `<p>${esc(t("none"))}</p>`;
  const facilities = Object.entries(stats.facilities);
  const facilityRows = facilities.length
    ? `<table class="grid">${facilities.map(([kind, f]) => `<tr><td>${esc(facilityTitle(kind, meta))}</td>` +
      `<td class="num">${num(f.count)}</td><td>${f.items.map((i) => esc(i.name || i.fid)).join(", ")}</td></tr>`).join("")}</table>`
    : `<p>${esc(t("none"))}</p>`;
  return `<h2 class="card-title">${esc(t("stats"))}</h2>` +
    table([
      row(t("area"), `${num(stats.area_m2)} ${esc(unitText("m²"))} (${num(stats.area_m2 / 10000, 2)} ${esc(unitText("ha"))})`),
      row(t("perimeter"), `${num(stats.perimeter_m)} ${esc(unitText("m"))}`),
      row(t("residents"), stats.residents ? `${num(stats.residents.residents)} ${esc(t("persons"))}` : unknown()),
    ]) +
    `<h3>${esc(t("landuseByClass"))}</h3>${classes}` +
    (stats.zoning ? `<h3>${esc(t("zoningInside"))}</h3>${zonesTable(stats.zoning)}` : "") +
    `<h3>${esc(t("facilitiesInside"))}</h3>${facilityRows}` +
    `<p class="muted small">${esc(stats.units.crs_measure)}</p>`;
}
