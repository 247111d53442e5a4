// Data quality check (数据质检) on the planner map: a layer's faults (overlaps, gaps, duplicates,
// invalid shapes, lines that stop short, unknown codes) from POST
// /cities/{city}/analysis/data_quality, counted by kind, listed, and drawn on the map in red.
import { Latest, api, boxPolygon, esc, lonLatBox, num, saveBlob, viewBox } from "./common.js";
import { pick, t, unitText } from "./i18n.js";

const SOURCE = "dc-quality";
const EMPTY = { type: "FeatureCollection", features: [] };
const COLOUR = "#d62728";
const SHOWN = 50; // faults listed per kind before "show all"
let drawn = EMPTY;

/** (Re-)add the faults' source and layers on top of the style; call after every style load. */
export function installQuality(map) {
  if (map.getSource(SOURCE)) return;
  map.addSource(SOURCE, { type: "geojson", data: drawn });
  map.addLayer({ id: "dc-quality-fill", type: "fill", source: SOURCE,
    filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "fill-color": COLOUR, "fill-opacity": 0.45 } });
  map.addLayer({ id: "dc-quality-line", type: "line", source: SOURCE,
    filter: ["!=", ["geometry-type"], "Point"],
    paint: { "line-color": COLOUR, "line-width": ["case", ["==", ["geometry-type"], "LineString"], 4, 2] } });
  map.addLayer({ id: "dc-quality-point", type: "circle", source: SOURCE,
    filter: ["==", ["geometry-type"], "Point"],
    paint: { "circle-radius": 9, "circle-color": "rgba(214,39,40,0.15)", "circle-stroke-width": 3,
      "circle-stroke-color": COLOUR } });
}

function draw(map, features) {
  drawn = { type: "FeatureCollection", features };
  const source = map.getSource(SOURCE);
  if (source) source.setData(drawn);
}

const isPolygon = (geometryType) => /Polygon$/.test(geometryType);

/** A fault's measure in words: "12.4 m²" / "12.4 平方米", "0.6 m" / "0.6 米". */
function measure(p) {
  if (p.measure == null) return "";
  return `${num(p.measure, p.measure < 10 ? 2 : 1)} ${unitText(p.unit)}`;
}

/**
 * The tool. ``ctx``: {map, city() (its id), meta() (the city's layers as the caller sees them),
 * showCard(html, again), fit(box [w, s, e, n]), openFeature(layerId, fid) (its card, with a
 * way back to the faults)}.
 */
export class QualityTool {
  constructor(ctx) {
    this.ctx = ctx;
    this.layer = null;
    this.settings = { min_area_m2: 0.1, max_gap_m2: 100, tolerance_m: 1 };
    this.checks = new Latest(); // a check on its way is dropped when another is asked for
    this.result = null;
    this.all = new Set(); // kinds listed in full
    this.error = "";
    this.running = false;
    this.settingsOpen = false;
    this.inView = false; // only the faults in the map's view (as it is when the check runs)
  }

  /** The layers that can be checked: every layer with geometry the caller may see. */
  layers() {
    const meta = this.ctx.meta();
    return Object.entries(meta.layers).filter(([, l]) => l.geometry)
      .map(([id, l]) => ({ id, title: pick(l.title) || id, geometry: l.geometry }));
  }

  open() {
    const layers = this.layers();
    if (!layers.some((l) => l.id === this.layer)) {
      this.layer = this.ctx.meta().roles?.parcels || layers[0]?.id || null;
      this.result = null;
    }
    this.redraw();
    this.render();
  }

  async run() {
    this.running = true;
    this.error = "";
    this.render();
    try {
      const body = { layer: this.layer, ...this.settings };
      if (this.inView) body.polygon = boxPolygon(viewBox(this.ctx.map)); // the map's view only
      const result = await this.checks.ask(api(`/cities/${this.ctx.city()}/analysis/data_quality`, {
        method: "POST", body,
      }));
      this.result = result;
      this.all = new Set();
      draw(this.ctx.map, result.data.features.filter((f) => f.geometry));
    } catch (err) {
      this.result = null;
      this.error = t("error", { msg: err.message });
      draw(this.ctx.map, []);
    }
    this.running = false;
    this.render();
  }

  render() {
    const layers = this.layers();
    const chosen = layers.find((l) => l.id === this.layer);
    const options = layers.map((l) =>
      `<option value="${esc(l.id)}"${l.id === this.layer ? " selected" : ""}>${esc(l.title)}</option>`).join("");
    const polygons = chosen && isPolygon(chosen.geometry);
    const field = (name, label) => `<label>${esc(t(label))} <input type="number" name="${name}"
 min="0" step="any" inputmode="decimal" value="${esc(String(this.settings[name]))}"></label>`;
    const html = `<h2 class="card-title">${esc(t("quality"))}</h2>
<p class="muted small">${esc(t("quality_help"))}</p>
<form class="quality-form" novalidate>
<p><label>${esc(t("quality_layer"))} <select name="layer">${options}</select></label></p>
<p><label class="check"><input type="checkbox" name="in-view"${this.inView ? " checked" : ""}> ${esc(t("changes_inView"))}</label></p>
<details class="quality-settings"${this.settingsOpen ? " open" : ""}><summary>${esc(t("quality_settings"))}</summary>
${polygons ? field("min_area_m2", "quality_minArea") + field("max_gap_m2", "quality_maxGap") : field("tolerance_m", "quality_tolerance")}
</details>
<p><button type="submit"${this.running || !chosen ? " disabled" : ""}>${esc(t(this.running ? "quality_running" : "quality_run"))}</button></p>
</form>
${this.error ? `<p class="error">${esc(this.error)}</p>` : ""}
${this.result && !this.running ? this.report() : ""}`;
    this.ctx.showCard(html, () => this.render());
    const card = document.getElementById("card");
    const form = card.querySelector(".quality-form");
    const settings = card.querySelector(".quality-settings");
    settings.ontoggle = () => {
      this.settingsOpen = settings.open; // kept open across a new rendering
    };
    form.elements.layer.onchange = (event) => {
      this.forgetRunning(); // a check of the layer chosen before is no longer wanted
      this.layer = event.target.value;
      this.result = null;
      draw(this.ctx.map, []);
      this.render();
    };
    form.elements["in-view"].onchange = (event) => {
      this.inView = event.target.checked;
    };
    form.onsubmit = (event) => {
      event.preventDefault();
      for (const input of form.querySelectorAll("input[type=number]")) {
        const value = Number(input.value);
        if (input.value === "" || !Number.isFinite(value) || value < 0) {
          this.error = t("quality_badNumber", { what: input.parentElement.textContent.trim() });
          this.settingsOpen = true; // the field at fault stays in view
          this.render();
          return;
        }
        this.settings[input.name] = value;
      }
      this.run();
    };
    for (const button of card.querySelectorAll("[data-fault]")) {
      const fault = this.result.data.features[Number(button.dataset.fault)];
      button.onclick = () => this.show(fault);
    }
    for (const button of card.querySelectorAll("[data-open]")) {
      button.onclick = () => this.ctx.openFeature(this.result.summary.layer, Number(button.dataset.open));
    }
    for (const button of card.querySelectorAll("[data-all]")) {
      button.onclick = () => {
        this.all.add(button.dataset.all);
        this.render();
      };
    }
    const save = card.querySelector(".quality-download");
    if (save) save.onclick = () => this.download();
  }

  /** The result: faults counted by kind, each kind's faults listed. */
  report() {
    const { summary, data } = this.result;
    const faults = data.features;
    const kinds = summary.checks.map((check) => {
      const indexed = faults.map((f, i) => [f, i]).filter(([f]) => f.properties.check === check);
      const shown = this.all.has(check) ? indexed : indexed.slice(0, SHOWN);
      const items = shown.map(([f, i]) => this.item(f, i)).join("");
      const count = summary.by_check[check];
      const cut = count > indexed.length // more found than the answer lists
        ? `<p class="muted small">${esc(t("quality_listed", { n: num(indexed.length) }))}</p>` : "";
      const more = indexed.length > shown.length
        ? `<p><button type="button" class="link" data-all="${esc(check)}">${esc(t("quality_showAll", { n: num(indexed.length) }))}</button></p>` : "";
      const total = check === "overlap" || check === "gap"
        ? ` · ${num(summary[`${check}_m2`], 1)} ${unitText("m²")}` : "";
      return `<section class="quality-kind" data-check="${esc(check)}">
<h3>${esc(t(`quality_${check}`))} <span class="quality-count${count ? " bad" : ""}">${num(count)}</span>${esc(total)}</h3>
<p class="muted small">${esc(t(`quality_${check}_help`))}</p>${cut}
${items ? `<ol class="quality-list">${items}</ol>` : ""}${more}</section>`;
    }).join("");
    const where = this.result.provenance.parameters.polygon ? t("quality_inView") : "";
    return `<p class="quality-summary"><b>${esc(where + t(summary.faults ? "quality_found" : "quality_clean", { n: num(summary.faults), features: num(summary.features) }))}</b></p>
${summary.faults ? `<p><button type="button" class="quality-download">${esc(t("quality_download"))}</button></p>` : ""}
${kinds}`;
  }

  /** One fault: what and where, a button to see it on the map and one to open its feature. */
  item(fault, index) {
    const p = fault.properties;
    const name = (fid, label) => (label ? `<span class="data">${esc(label)}</span>` : esc(t("changes_feature", { id: fid })));
    const who = p.other_fid != null
      ? t("quality_pair", { a: name(p.fid, p.label), b: name(p.other_fid, p.other_label) })
      : p.fid != null ? name(p.fid, p.label) : "";
    const what = [measure(p), p.detail ? `<span class="data">${esc(p.detail)}</span>` : ""].filter(Boolean).join(" · ");
    const where = fault.geometry
      ? `<button type="button" class="link" data-fault="${index}">${esc(t("quality_show"))}</button>` : "";
    const open = p.fid != null
      ? `<button type="button" class="link" data-open="${esc(String(p.fid))}">${esc(t("quality_open"))}</button>` : "";
    return `<li>${who}${what ? ` <span class="small">${what}</span>` : ""} ${where} ${open}</li>`;
  }

  /** The map at one fault, drawn alone in red. */
  show(fault) {
    draw(this.ctx.map, [fault]);
    const box = lonLatBox([fault.geometry]);
    const pad = 0.0004; // a point or a sliver: the map around it (about 40 m)
    this.ctx.fit([box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad]);
  }

  /** Every fault as a GeoJSON file (lon/lat), for desktop GIS. */
  download() {
    const text = JSON.stringify(this.result.data);
    saveBlob(new Blob([text], { type: "application/geo+json" }),
      `${this.ctx.city()}-${this.result.summary.layer}-quality.geojson`);
  }

  /**
   * After feature ``fid`` of ``layerId`` was drawn anew (``geometry``, lon/lat): the faults it
   * is now part of (overlaps, gaps, duplicates, a line stopping short), checked around it and
   * said at the top of the card, with a button that marks them on the map. Nothing for points.
   */
  async afterEdit(layerId, fid, geometry) {
    this.notice = null;
    const info = this.ctx.meta().layers[layerId];
    if (!info || !geometry || /Point$/.test(info.geometry)) return;
    const checks = isPolygon(info.geometry) ? ["invalid", "duplicate", "overlap", "gap"]
      : ["invalid", "duplicate", "undershoot"];
    const [w, s, e, n] = lonLatBox([geometry]);
    const pad = 0.0005; // about 50 m around it: the neighbours it may now overlap or miss
    const polygon = boxPolygon([w - pad, s - pad, e + pad, n + pad]);
    let result;
    try {
      result = await api(`/cities/${this.ctx.city()}/analysis/data_quality`, {
        method: "POST", body: { layer: layerId, checks, polygon, ...this.settings },
      });
    } catch (err) {
      console.warn("quality", err.message);
      return;
    }
    const own = Number(fid);
    const mine = result.data.features.filter((f) =>
      f.properties.fid === own || f.properties.other_fid === own);
    if (!mine.length) return;
    const counts = checks.map((check) => [check, mine.filter((f) => f.properties.check === check).length])
      .filter(([, count]) => count)
      .map(([check, count]) => `${t(`quality_${check}`)} ${num(count)}`).join(t("listSep"));
    this.notice = { layerId, fid: String(fid), counts, faults: mine.filter((f) => f.geometry) };
    this.decorate(document.getElementById("card"));
  }

  /** Say the last edit's faults at the top of ``card`` when it is that feature's card (the
   * card is rendered again when the map's style is: the notice is put back each time). */
  decorate(card) {
    const notice = this.notice;
    if (!card || !notice) return;
    const edit = [...card.querySelectorAll("[data-edit]")].find((b) =>
      b.dataset.edit === notice.layerId && b.dataset.fid === notice.fid);
    if (!edit) return;
    card.querySelector(".quality-notice")?.remove();
    const box = document.createElement("div");
    box.className = "quality-notice";
    box.setAttribute("role", "status");
    box.innerHTML = `<p>${esc(t("quality_afterEdit", { list: notice.counts }))}</p>
<p><button type="button" class="link">${esc(t("quality_showThese"))}</button></p>`;
    const title = card.querySelector(".card-title, h2, h3");
    if (title) title.after(box);
    else card.prepend(box);
    box.querySelector("button").onclick = () => {
      draw(this.ctx.map, notice.faults);
      this.ctx.fit(lonLatBox(notice.faults.map((f) => f.geometry)));
    };
  }

  /** The legend of the faults drawn (for the printed sheet); none when none are. */
  legendGroups() {
    if (!this.result || !drawn.features.length) return [];
    const layer = pick(this.ctx.meta().layers[this.result.summary.layer]?.title) || this.result.summary.layer;
    return [{ title: `${t("quality")} · ${layer}`,
      entries: [{ colour: COLOUR, label: t("quality_legend", { n: num(drawn.features.length) }) }] }];
  }

  /** Drop what the tool drew (the card was closed); with ``forget``, its result too (another
   * city). */
  clear(forget = false) {
    this.forgetRunning();
    draw(this.ctx.map, []);
    this.notice = null;
    if (forget) this.result = null;
  }

  /** A check on its way is dropped when it comes (its layer changed, or the card closed). */
  forgetRunning() {
    this.checks.drop();
    this.running = false;
  }

  /** Draw every fault again (back from a feature's card). */
  redraw() {
    if (this.result) draw(this.ctx.map, this.result.data.features.filter((f) => f.geometry));
  }
}
