// Recent changes (最近变更) on the public and planner maps: what the land bureau changed in
// the map's layers, newest first, in plain words (GET /cities/{city}/changes). An entry opens
// its features with their values before and after and draws them on the map: added in green,
// changed in orange (the shape before as a grey dashed line), removed in red dashed.
import { Latest, api, esc, lonLatBox, num, revertChangeset, viewBox } from "./common.js";
import { lang, t, unitText } from "./i18n.js";

const SOURCE = "dc-changes";
const EMPTY = { type: "FeatureCollection", features: [] };
const COLOURS = { added: "#1a9850", modified: "#f28e2b", deleted: "#d62728", before: "#777777" };
const PERIODS = [7, 30, 90, 365]; // days the list covers
const PAGE = 20; // change sets a page lists
const DETAIL = 50; // features an opened change set lists
let drawn = EMPTY;

/** (Re-)add the changes' source and layers on top of the style; call after every style load. */
export function installChanges(map) {
  if (map.getSource(SOURCE)) return;
  map.addSource(SOURCE, { type: "geojson", data: drawn });
  const colour = ["get", "colour"];
  const dashed = ["==", ["get", "dashed"], true];
  map.addLayer({ id: "dc-changes-fill", type: "fill", source: SOURCE,
    filter: ["all", ["==", ["geometry-type"], "Polygon"], ["!", dashed]],
    paint: { "fill-color": colour, "fill-opacity": 0.25 } });
  map.addLayer({ id: "dc-changes-line", type: "line", source: SOURCE,
    filter: ["all", ["!=", ["geometry-type"], "Point"], ["!", dashed]],
    paint: { "line-color": colour, "line-width": 3 } });
  map.addLayer({ id: "dc-changes-dashed", type: "line", source: SOURCE,
    filter: ["all", ["!=", ["geometry-type"], "Point"], dashed],
    paint: { "line-color": colour, "line-width": 2.5, "line-dasharray": [2, 1.5] } });
  map.addLayer({ id: "dc-changes-point", type: "circle", source: SOURCE,
    filter: ["==", ["geometry-type"], "Point"],
    paint: { "circle-radius": 8, "circle-color": "rgba(0,0,0,0)", "circle-stroke-width": 3,
      "circle-stroke-color": colour } });
}

function draw(map, features) {
  drawn = { type: "FeatureCollection", features };
  const source = map.getSource(SOURCE);
  if (source) source.setData(drawn);
}

/** The map features of an opened change set: each feature, and a changed shape's old one. */
function mapFeatures(entry) {
  const out = [];
  for (const f of entry.features) {
    if (f.previous_geometry) {
      out.push({ type: "Feature", geometry: f.previous_geometry,
        properties: { colour: COLOURS.before, dashed: true } });
    }
    if (f.geometry) {
      out.push({ type: "Feature", geometry: f.geometry,
        properties: { colour: COLOURS[f.change], dashed: f.change === "deleted", fid: f.id } });
    }
  }
  return out;
}

const locale = () => (lang() === "zh" ? "zh-CN" : "en-GB");
const clock = (at) => new Date(at).toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });

function when(at, withTime) {
  const day = new Date(at).toLocaleDateString(locale(), { year: "numeric", month: "short", day: "numeric" });
  return withTime ? `${day} ${clock(at)}` : day;
}

/** The reader's day of ``at`` in words: today, yesterday, or its date. */
function dayOf(at) {
  const local = (d) => d.toLocaleDateString("sv-SE");
  const day = local(new Date(at));
  if (day === local(new Date())) return t("today");
  if (day === local(new Date(Date.now() - 86400000))) return t("yesterday");
  return when(at);
}

/** A change set in words: "New data release · 12 added, 30 changed" / "1 changed". */
export function summary(entry) {
  const counts = ["added", "modified", "deleted"]
    .filter((k) => entry[k])
    .map((k) => t(`changes_${k}`, { n: num(entry[k]) }));
  const kind = entry.kind === "load" || entry.kind === "revert" ? [t(`changes_kind_${entry.kind}`)] : [];
  if (entry.reshape) kind.push(t(`changes_kind_${entry.reshape}`)); // a split or merge
  return [...kind, counts.join(t("listSep"))].filter(Boolean).join(" · ");
}

function valueText(change, side) {
  const value = change[side];
  if (value == null || value === "") return `<span class="unknown">${esc(t("changes_empty"))}</span>`;
  const named = change[`${side}_name`];
  if (named) return `<b class="data">${esc(value)}</b> ${esc(named)}`;
  if (typeof value === "number") {
    const text = change.unit === "ratio" ? `${num(value * 100, 1)}%` : num(value, 2);
    return change.unit && change.unit !== "ratio" ? `${text} ${esc(unitText(change.unit))}` : text;
  }
  return `<span class="data">${esc(value)}</span>`;
}

function fieldTable(feature) {
  if (feature.change !== "modified") {
    const shown = feature.fields.filter((c) => (feature.change === "added" ? c.after : c.before) != null);
    if (!shown.length) return "";
    const side = feature.change === "added" ? "after" : "before";
    return `<table class="kv">${shown.map((c) =>
      `<tr><th>${esc(c.title)}</th><td>${valueText(c, side)}</td></tr>`).join("")}</table>`;
  }
  const rows = feature.fields.map((c) =>
    `<tr><th>${esc(c.title)}</th><td>${valueText(c, "before")}</td><td aria-hidden="true">→</td><td>${valueText(c, "after")}</td></tr>`);
  if (feature.geometry_changed) {
    rows.push(`<tr><th>${esc(t("changes_shape"))}</th><td colspan="3">${esc(t("changes_shapeMoved"))}</td></tr>`);
  }
  return `<table class="kv changes-fields">${rows.join("")}</table>`;
}

/**
 * The tool. ``ctx``: {map, city() (its id), showCard(html, again), fit(box [w, s, e, n]),
 * select(geometry), opened(id) (the change set shown, null for none: the page's link carries
 * it), compareDay(day) (optional: the planner's swipe comparison with a day), canRevert(entry)
 * and reverted() (optional: whether the caller may undo a change set — an admin any, an editor
 * their own — and what the page does after one), mayEdit(layerId) and history(layerId, fid,
 * panel) (optional: a deleted feature's versions shown in ``panel`` for its layer's editors,
 * who may restore one)}.
 */
export class ChangesTool {
  constructor(ctx) {
    this.ctx = ctx;
    this.days = 30;
    this.inView = false; // only the changes that meet the map's view
    ctx.map.on("moveend", () => { // the list follows the view it is bound to
      if (this.inView && !this.opened && document.querySelector("#card .changes-list")) this.load(false);
    });
    this.entries = [];
    this.next = null;
    this.opened = null; // the change set shown with its features
    this.openings = new Latest(); // change sets asked for: only the last one's is shown
    this.error = "";
  }

  async open() {
    this.shown(null);
    draw(this.ctx.map, []);
    await this.load(false);
  }

  shown(entry) {
    if (!entry) this.openings.drop(); // back to the list, or closed: one on its way is not wanted
    this.opened = entry;
    this.ctx.opened(entry ? entry.id : null);
  }

  /** Open change set ``id`` (a link's): its features marked and the map at them. */
  async openById(id) {
    await this.openEntry({ id, at: "2000-01-02T00:00:00Z" });
    if (this.opened) return;
    const error = this.error; // gone, or hidden from this caller: the list, saying so
    await this.load(false);
    this.error = error;
    this.render();
  }

  query(extra) {
    const since = new Date(Date.now() - this.days * 86400000).toISOString();
    const p = new URLSearchParams({ since, lang: lang(), ...extra });
    if (this.inView) p.set("bbox", this.view());
    return p;
  }

  /** The map's view as a lon/lat box (w,s,e,n), within the Earth's. */
  view() {
    return viewBox(this.ctx.map).map((v) => v.toFixed(6)).join(",");
  }

  async load(more) {
    if (!more) {
      this.entries = [];
      this.next = null;
    }
    // a later load (the map moved again, another period) makes this one's answer stale
    const generation = (this.generation = (this.generation || 0) + 1);
    this.loading = true;
    this.render();
    try {
      const extra = { limit: String(PAGE), features: "0" };
      if (more && this.next) extra.before = String(this.next);
      const page = await api(`/cities/${this.ctx.city()}/changes?${this.query(extra)}`);
      if (generation !== this.generation) return;
      this.entries.push(...page.changesets);
      this.next = page.next_before;
      this.error = "";
    } catch (err) {
      if (generation !== this.generation) return;
      this.error = t("error", { msg: err.message });
    }
    this.loading = false;
    if (!this.opened) this.render(); // not over a change set opened meanwhile
  }

  render() {
    if (this.opened) return this.renderOpened();
    const city = this.ctx.city();
    const feed = `/cities/${encodeURIComponent(city)}/changes.atom?lang=${lang()}` +
      (this.inView ? `&bbox=${this.view()}` : "");
    const periods = PERIODS.map((d) =>
      `<option value="${d}"${d === this.days ? " selected" : ""}>${esc(t("changes_days", { n: d }))}</option>`).join("");
    const items = this.entries.map((e, i) => {
      // the entries under their day's heading (today, yesterday, a date), each at its time
      const day = dayOf(e.at);
      const heading = i === 0 || dayOf(this.entries[i - 1].at) !== day
        ? `<li class="changes-day"><h3>${esc(day)}</h3></li>` : "";
      return heading + `<li><button type="button" class="change-entry" data-entry="${i}">
<time datetime="${esc(e.at)}">${esc(clock(e.at))}</time> <b>${esc(e.layer_title)}</b><br>
<span>${esc(summary(e))}</span>${e.reason ? `<br><span class="muted small">${esc(t("changes_reason", { reason: e.reason }))}</span>` : ""}</button></li>`;
    }).join("");
    const empty = !this.loading && !this.error && !this.entries.length
      ? `<p class="muted">${esc(t(this.inView ? "changes_noneInView" : "changes_none"))}</p>` : "";
    const html = `<h2 class="card-title">${esc(t("changes"))}</h2>
<p class="muted small">${esc(t("changes_help"))}</p>
<p><label>${esc(t("changes_period"))} <select class="changes-period">${periods}</select></label>
 <label class="check changes-view"><input type="checkbox" class="changes-in-view"${this.inView ? " checked" : ""}> ${esc(t("changes_inView"))}</label>
 <a class="small changes-feed" href="${esc(feed)}" target="_blank" rel="noopener">${esc(t(this.inView ? "changes_subscribeView" : "changes_subscribe"))}</a></p>
${this.error ? `<p class="error">${esc(this.error)}</p>` : ""}${empty}
<ol class="changes-list">${items}</ol>
${this.loading ? `<p class="muted">${esc(t("loading"))}</p>` : ""}
${this.next && !this.loading ? `<p><button type="button" class="changes-more">${esc(t("changes_more"))}</button></p>` : ""}`;
    this.ctx.showCard(html, () => this.relang());
    const card = document.getElementById("card");
    card.querySelector(".changes-period").onchange = (event) => {
      this.days = Number(event.target.value);
      this.load(false);
    };
    card.querySelector(".changes-in-view").onchange = (event) => {
      this.inView = event.target.checked;
      this.load(false);
    };
    for (const button of card.querySelectorAll("[data-entry]")) {
      button.onclick = () => this.openEntry(this.entries[Number(button.dataset.entry)]);
    }
    const more = card.querySelector(".changes-more");
    if (more) more.onclick = () => this.load(true);
  }

  /** Read again what is shown (in the page's language, after a new style or sign-in). */
  relang() {
    if (this.opened) this.openEntry(this.opened, false);
    else this.load(false);
  }

  /** Read change set ``entry`` with its features, draw them and (``fit``) fit the map to them. */
  async openEntry(entry, fit = true) {
    this.error = "";
    try {
      const p = new URLSearchParams({ before: String(entry.id + 1), limit: "1", lang: lang(),
        features: String(DETAIL),
        since: new Date(new Date(entry.at).getTime() - 86400000).toISOString() });
      if (entry.layer) p.set("layers", entry.layer);
      // another entry clicked before this one came: that one wins
      const [full] = (await this.openings.ask(api(`/cities/${this.ctx.city()}/changes?${p}`))).changesets;
      if (!full || full.id !== entry.id) throw new Error(t("changes_gone"));
      this.shown(full);
    } catch (err) {
      this.error = t("error", { msg: err.message });
      this.render();
      return;
    }
    draw(this.ctx.map, mapFeatures(this.opened));
    this.renderOpened();
    if (fit && this.opened.bbox) this.ctx.fit(this.opened.bbox);
  }

  renderOpened() {
    const e = this.opened;
    const features = e.features.map((f, i) => `<li class="change-${esc(f.change)}">
<button type="button" class="link" data-feature="${i}"><span class="change-mark" aria-hidden="true"></span>${
  f.name ? `<b class="data">${esc(f.name)}</b>` : esc(t("changes_feature", { id: f.id }))}</button>
<span class="muted small">${esc(t(`changes_one_${f.change}`))}</span>${fieldTable(f)}${
  f.change === "deleted" && this.ctx.mayEdit?.(e.layer)
    ? `<p><button type="button" class="link" data-feature-history="${i}">${esc(t("history"))}</button></p>` +
      "<div class=\"change-history\"></div>"
    : ""}</li>`).join("");
    const day = new Date(new Date(e.at).getTime() - 86400000).toLocaleDateString("sv-SE");
    const html = `<p class="back"><button type="button" class="link changes-back">${esc(t("changes_back"))}</button></p>
<h2 class="card-title">${esc(e.layer_title)}</h2>
<p><time datetime="${esc(e.at)}">${esc(when(e.at, true))}</time> · ${esc(summary(e))}</p>
${e.reason ? `<p class="small">${esc(t("changes_reason", { reason: e.reason }))}${e.role ? ` <span class="muted">(${esc(t(`role_${e.role}`))})</span>` : ""}</p>` : ""}
<p class="changes-key small"><span class="change-added"><span class="change-mark"></span>${esc(t("changes_one_added"))}</span>
<span class="change-modified"><span class="change-mark"></span>${esc(t("changes_one_modified"))}</span>
<span class="change-deleted"><span class="change-mark"></span>${esc(t("changes_one_deleted"))}</span></p>
${this.ctx.compareDay ? `<p><button type="button" class="changes-compare">${esc(t("changes_compare", { day }))}</button></p>` : ""}
${this.ctx.canRevert?.(e) ? `<form class="changes-revert" novalidate>
  <label>${esc(t("changes_revertReason"))} <input type="text" name="reason" autocomplete="off"></label>
  <button type="submit" class="danger">${esc(t("changes_revert"))}</button>
  <p class="error" hidden></p></form>` : ""}
<ul class="changes-features">${features}</ul>
${e.more ? `<p class="muted">${esc(t("changes_andMore", { n: num(e.more) }))}</p>` : ""}`;
    this.ctx.showCard(html, () => this.relang());
    const card = document.getElementById("card");
    card.querySelector(".changes-back").onclick = () => {
      this.shown(null);
      draw(this.ctx.map, []);
      this.render();
    };
    const compare = card.querySelector(".changes-compare");
    if (compare) compare.onclick = () => this.ctx.compareDay(day);
    const revert = card.querySelector(".changes-revert");
    if (revert) revert.onsubmit = (event) => {
      event.preventDefault();
      this.revert(e, revert);
    };
    // a deleted feature's versions, which its editors may restore (editmode.js openHistory)
    for (const button of card.querySelectorAll("[data-feature-history]")) {
      const f = e.features[Number(button.dataset.featureHistory)];
      button.onclick = () => this.ctx.history(e.layer, f.id, button.closest("li").querySelector(".change-history"))
        .catch((err) => console.warn("history", err.message));
    }
    for (const button of card.querySelectorAll("[data-feature]")) {
      const f = e.features[Number(button.dataset.feature)];
      button.onclick = () => {
        if (!f.geometry) return;
        this.ctx.select(f.geometry);
        this.ctx.fit(lonLatBox([f.geometry]));
      };
    }
  }

  /** Undo change set ``entry`` (an admin, or its author), with the reason given in ``form``;
   * then the list, the undoing first. A change set whose features changed again since is refused (409). */
  async revert(entry, form) {
    const reason = form.elements.reason.value.trim();
    const error = form.querySelector(".error");
    if (!reason) {
      error.textContent = t("changes_reasonNeeded");
      error.hidden = false;
      return;
    }
    try {
      await revertChangeset(entry.collection, entry.id, reason);
    } catch (err) {
      error.textContent = err.status === 409 ? t("changes_revertConflict") : t("error", { msg: err.message });
      error.hidden = false;
      return;
    }
    this.shown(null);
    draw(this.ctx.map, []);
    this.ctx.reverted?.();
    await this.load(false);
  }

  /** Drop what the tool drew (the card was closed). */
  clear() {
    this.shown(null);
    draw(this.ctx.map, []);
  }
}
