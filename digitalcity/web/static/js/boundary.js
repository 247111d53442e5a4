// Site boundary check (红线核查) on the planner map: a planner opens the file of a site's
// boundary (a CAD drawing, a zipped shapefile, GeoPackage, GeoJSON, KML, FlatGeobuf); the
// server reads its areas (POST /cities/{city}/boundary), the map draws it as a red line and
// the card gives the site's statistics (POST /cities/{city}/stats): land use by class,
// residents, facilities inside. A signed-in planner shares a check by link: the boundary is kept
// on the server under a token (?save=true) that the link carries (#site=), for colleagues.
import { Latest, api, apiKey, apiResponse, config, esc, num } from "./common.js";
import { lang, t, unitText } from "./i18n.js";

const SOURCE = "dc-boundary";
const EMPTY = { type: "FeatureCollection", features: [] };
const ACCEPT = ".dxf,.zip,.gpkg,.geojson,.json,.kml,.kmz,.fgb,.txt";
const RED = "#e0001b";
let drawn = EMPTY;

/** (Re-)add the boundary's source and layer; call after every style load. */
export function installBoundary(map) {
  if (map.getSource(SOURCE)) return;
  map.addSource(SOURCE, { type: "geojson", data: drawn });
  map.addLayer({ id: "dc-boundary-line", type: "line", source: SOURCE,
    paint: { "line-color": RED, "line-width": 3, "line-dasharray": [3, 1.5] } });
}

function draw(map, feature) {
  drawn = feature ? { type: "FeatureCollection", features: [feature] } : EMPTY;
  const source = map.getSource(SOURCE);
  if (source) source.setData(drawn);
}

/**
 * The tool. ``ctx``: {map, city() (its id), showCard(html, again), stats(geometry) (the
 * statistics card's HTML for an area), fit(geometry), queryInside(geometry) (the query tool
 * over the area), linked(token) (the saved site the page's link carries; null: none)}.
 */
export class BoundaryTool {
  constructor(ctx) {
    this.ctx = ctx;
    this.feature = null; // the boundary read, as the API answered it
    this.file = null; // the file it was read from (to save it for a link)
    this.link = ""; // the link to the saved check, once shared
    this.statsHtml = "";
    this.error = "";
    this.saved = []; // the caller's saved checks (signed in)
    this.savedLoading = false; // while they are asked for: the list is marked busy
    this.asked = new Latest(); // a boundary and its statistics: only the last asked is drawn
  }

  open() {
    this.render();
    this.loadSaved();
  }

  /** The checks this caller saved (signed in), newest first, to open again or forget. Only
   * the list is drawn again when it arrives: the form keeps the file and CRS being chosen. */
  async loadSaved() {
    this.saved = [];
    if (!apiKey()) return;
    this.savedLoading = true;
    this.renderSaved();
    try {
      this.saved = (await api(`/cities/${this.ctx.city()}/sites`)).sites;
    } catch {
      this.saved = []; // a list to come back to, not the check itself: say nothing
    }
    this.savedLoading = false;
    this.renderSaved();
  }

  savedHtml() {
    if (!this.saved?.length) return "";
    const when = (at) => new Date(at).toLocaleDateString(lang() === "zh" ? "zh-CN" : "en-GB");
    const rows = this.saved.map((s, i) => `<tr><td class="data">${esc(s.name)}</td>
<td class="num">${num(s.area_m2 / 10000, 2)} ${esc(unitText("ha"))}</td><td>${esc(when(s.saved_at))}</td>
<td><button type="button" data-saved-open="${i}">${esc(t("boundaryOpen"))}</button>
<button type="button" data-saved-delete="${i}">${esc(t("boundaryForget"))}</button></td></tr>`).join("");
    return `<h3>${esc(t("boundarySaved"))}</h3><table class="kv saved-sites">${rows}</table>`;
  }

  render() {
    const city = config.cities.find((c) => c.id === this.ctx.city());
    const suggestions = [city?.local_crs, "EPSG:4326", "CGCS2000-GK3", "GCJ-02"].filter(Boolean);
    const f = this.feature?.properties;
    const summary = f ? `<table class="kv"><tr><th>${esc(t("boundaryFile"))}</th><td class="data">${esc(f.name)}</td></tr>` +
      `<tr><th>${esc(t("area"))}</th><td>${num(f.area_m2)} ${esc(unitText("m²"))} (${num(f.area_m2 / 10000, 2)} ${esc(unitText("ha"))})</td></tr>` +
      `<tr><th>${esc(t("boundaryParts"))}</th><td>${num(f.parts)}</td></tr>` +
      `<tr><th>${esc(t("boundaryCrs"))}</th><td class="data">${esc(f.crs)}</td></tr>` +
      (f.rejected_count ? `<tr><th>${esc(t("boundaryLeftOut"))}</th><td>${num(f.rejected_count)}: ` +
        `<span class="data">${f.rejected.map((r) => esc(`#${r.feature} ${r.reason}`)).join("; ")}</span></td></tr>` : "") +
      "</table>" : "";
    const html = `<h3>${esc(t("boundary"))}</h3>
<p class="muted small">${esc(t("boundaryHelp"))}</p>
<form class="boundary-form" novalidate>
  <label>${esc(t("boundaryFile"))} <input type="file" name="file" accept="${ACCEPT}"></label>
  <label>${esc(t("boundaryCrsInput"))} <input type="text" name="crs" list="boundary-crs" autocomplete="off"
    value="${esc(this.crs || "")}" placeholder="${esc(city?.local_crs || "EPSG:…")}"></label>
  <datalist id="boundary-crs">${suggestions.map((s) => `<option value="${esc(s)}">`).join("")}</datalist>
  <p class="error boundary-error"${this.error ? "" : " hidden"}>${esc(this.error)}</p>
  <p><button type="submit" class="primary">${esc(t("boundaryCheck"))}</button>
    ${this.feature ? `<button type="button" data-boundary="query">${esc(t("boundaryQuery"))}</button>
    ${apiKey() && (this.file || this.link) ? `<button type="button" data-boundary="share">${esc(t("boundaryShare"))}</button>` : ""}
    <button type="button" data-boundary="clear">${esc(t("clear"))}</button>` : ""}</p>
  ${this.link ? `<p class="small">${esc(t("boundaryShared"))}</p>
  <input class="share-url boundary-link" readonly value="${esc(this.link)}" aria-label="${esc(t("boundaryShared"))}">` : ""}
</form>
${summary}${this.statsHtml}<div class="boundary-saved"></div>`;
    this.ctx.showCard(html, () => this.render());
    this.renderSaved();
    const form = document.querySelector("#card .boundary-form");
    form.onsubmit = (event) => {
      event.preventDefault();
      this.check(form);
    };
    const clear = form.querySelector("[data-boundary=clear]");
    if (clear) clear.onclick = () => this.clear(true);
    const query = form.querySelector("[data-boundary=query]");
    if (query) query.onclick = () => this.ctx.queryInside(this.feature.geometry);
    const share = form.querySelector("[data-boundary=share]");
    if (share) share.onclick = () => this.share(form);
  }

  /** The saved checks' list in the card (busy while it loads), its buttons wired. */
  renderSaved() {
    const box = document.querySelector("#card .boundary-saved");
    if (!box) return; // the card shows something else now
    if (this.savedLoading) box.setAttribute("aria-busy", "true");
    else box.removeAttribute("aria-busy");
    box.innerHTML = this.savedHtml();
    for (const button of box.querySelectorAll("[data-saved-open]")) {
      const site = this.saved[Number(button.dataset.savedOpen)].site;
      button.onclick = async () => {
        this.ctx.linked(site);
        await this.openSite(site);
      };
    }
    for (const button of box.querySelectorAll("[data-saved-delete]")) {
      const site = this.saved[Number(button.dataset.savedDelete)].site;
      button.onclick = async () => {
        if (!window.confirm(t("boundaryForgetAsk"))) return;
        try {
          await apiResponse(`/cities/${this.ctx.city()}/sites/${encodeURIComponent(site)}`, { method: "DELETE" });
        } catch (err) {
          this.error = t("error", { msg: err.message });
        }
        if (this.link.includes(`site=${site}`)) this.clear(false);
        await this.loadSaved();
        this.render();
      };
    }
  }

  /** Keep the boundary on the server (signed-in callers) and give the link to this check. */
  async share(form) {
    if (!this.link) {
      const p = new URLSearchParams({ name: this.file.name, lang: lang(), save: "true" });
      if (this.crs) p.set("crs", this.crs);
      try {
        const saved = await api(`/cities/${this.ctx.city()}/boundary?${p}`, { method: "POST", body: this.file });
        this.ctx.linked(saved.properties.site);
        this.link = location.href;
        this.loadSaved();
      } catch (err) {
        this.say(form, t("error", { msg: err.message }));
        return;
      }
    }
    this.render();
    const field = document.querySelector("#card .boundary-link");
    field.select();
    try {
      await navigator.clipboard.writeText(this.link);
    } catch {
      /* the field shows the link to copy by hand */
    }
  }

  /** Open a saved site (a link's ``token``): drawn, with its statistics. */
  async openSite(token) {
    let feature;
    try {
      feature = await this.asked.ask(api(`/cities/${this.ctx.city()}/sites/${encodeURIComponent(token)}`));
    } catch (err) {
      this.clear(false);
      this.ctx.linked(null); // the link's site is not there: out of the link
      this.error = err.status === 404 ? t("boundarySiteGone") : t("error", { msg: err.message });
      this.render();
      return;
    }
    this.feature = feature;
    this.file = null;
    this.link = location.href;
    await this.shown();
  }

  async check(form) {
    const file = form.elements.file.files[0];
    this.crs = form.elements.crs.value.trim();
    if (!file) {
      this.say(form, t("boundaryNoFile"));
      return;
    }
    const p = new URLSearchParams({ name: file.name, lang: lang() });
    if (this.crs) p.set("crs", this.crs);
    this.error = "";
    const submit = form.querySelector("button[type=submit]");
    submit.textContent = t("loading");
    let feature;
    try {
      feature = await this.asked.ask(api(`/cities/${this.ctx.city()}/boundary?${p}`, { method: "POST", body: file }));
    } catch (err) {
      this.clear(false);
      submit.textContent = t("boundaryCheck");
      this.say(form, t("error", { msg: err.message })); // the form keeps the file chosen
      return;
    }
    this.feature = feature;
    if (this.link) this.ctx.linked(null); // a new check: the link was the last one's
    this.link = "";
    this.file = file;
    await this.shown();
  }

  /** Draw the boundary read, fit the map to it and give its statistics, unless another
   * boundary was asked for before they came. */
  async shown() {
    draw(this.ctx.map, this.feature);
    this.ctx.fit(this.feature.geometry);
    this.statsHtml = `<p class="muted">${esc(t("loading"))}</p>`;
    this.render();
    try {
      this.statsHtml = await this.asked.ask(this.ctx.stats(this.feature.geometry));
    } catch (err) { // e.g. a site larger than the city: the boundary stays drawn
      this.statsHtml = "";
      this.error = t("error", { msg: err.message });
    }
    this.render();
  }

  /** Show ``message`` under the form, leaving the form (and the file chosen) as it is. */
  say(form, message) {
    const box = form.querySelector(".boundary-error");
    box.textContent = message;
    box.hidden = false;
  }

  /** Draw ``area`` (a GeoJSON polygon: a linked query's) as the boundary line. */
  showArea(area) {
    draw(this.ctx.map, { type: "Feature", properties: {}, geometry: area });
  }

  /** The legend of the site drawn (for the printed sheet): the red line and the file it
   * was read from; none when no site is drawn. */
  legendGroups() {
    if (!this.feature || !drawn.features.length) return [];
    return [{ title: t("boundary"), entries: [{ colour: RED, label: this.file?.name || t("boundaryLine") }] }];
  }

  /** Drop the boundary from the map (and, with ``show``, show the empty form). */
  clear(show) {
    this.asked.drop(); // a boundary or its statistics on their way are no longer wanted
    if (this.link) this.ctx.linked(null);
    this.link = "";
    this.file = null;
    this.feature = null;
    this.statsHtml = "";
    draw(this.ctx.map, null);
    if (show) this.render();
  }
}
