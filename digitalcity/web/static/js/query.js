// Query by attributes (属性查询) on the planner map: a layer, conditions on its fields (typed
// from its queryables; coded fields offer their codes, text fields their commonest values),
// the matches counted, listed, drawn on the map and exported whole. The conditions become a
// CQL2 text filter on the layer's items (OGC API – Features Part 3): the server checks it and
// applies the caller's access, as for any client.
import { api, apiResponse, download, esc, lonLatBox, num, revertChangeset, showsPast, withAsOf } from "./common.js";
import { fieldInput, fieldValue } from "./editmode.js";
import { lang, pick, t, unitText } from "./i18n.js";
import {
  InputError, NO_VALUE, OPS, SCOPES, blank, filterText, kindOf,
} from "./query_filter.js";
import { fitBeside, sheets } from "./ui.js";

const SOURCE = "dc-query";
const EMPTY = { type: "FeatureCollection", features: [] };
export const PAGE = 500; // matches drawn and listed per request ("Load more" adds as many)
const BREAKDOWN = 12; // values listed in a breakdown of the matches (the rest summed)
// every match, whatever the page size (CSV: the items' maximum page, 10,000 by default, so it
// is offered only below that)
// the file formats a query's matches export to; "txt": boundary points (界址点坐标), polygons only
const EXPORTS = [["gpkg", "GeoPackage"], ["shp", "Shapefile"], ["fgb", "FlatGeobuf"], ["csv", "CSV"], ["txt", null]];
const CSV_MAX = 10000;
const BULK_MAX = 10000; // matches one change to many may set (the API's limit)

let drawn = EMPTY;

/** (Re-)add the matches' source and layers on top of the style; call after every style load. */
export function installQuery(map) {
  if (map.getSource(SOURCE)) return;
  map.addSource(SOURCE, { type: "geojson", data: drawn });
  map.addLayer({ id: "dc-query-fill", type: "fill", source: SOURCE,
    filter: ["match", ["geometry-type"], ["Polygon", "MultiPolygon"], true, false],
    paint: { "fill-color": "#1f6fd6", "fill-opacity": 0.3 } });
  map.addLayer({ id: "dc-query-line", type: "line", source: SOURCE,
    filter: ["match", ["geometry-type"], ["Point", "MultiPoint"], false, true],
    paint: { "line-color": "#0b4fa8", "line-width": 2.5 } });
  map.addLayer({ id: "dc-query-point", type: "circle", source: SOURCE,
    filter: ["match", ["geometry-type"], ["Point", "MultiPoint"], true, false],
    paint: { "circle-radius": 6, "circle-color": "#1f6fd6", "circle-stroke-width": 2,
      "circle-stroke-color": "#ffffff" } });
}

function draw(map, features) {
  drawn = { type: "FeatureCollection", features };
  const source = map.getSource(SOURCE);
  if (source) source.setData(drawn);
}

/**
 * The query tool. ``ctx``: {map, meta() (the city's layer meta), bbox() (the view's lon/lat
 * box), showCard(html, again) (the planner's card), openFeature(layerId, fid) (a match's
 * card; render() shows the results again), onChange(query) (the query run, or null once
 * cleared: the share link keeps it), drawArea(done) (the user draws a polygon: done(ring)),
 * showArea(area) (draws an area, a GeoJSON polygon, or clears it for null)}.
 */
export class QueryTool {
  constructor(ctx) {
    this.ctx = ctx;
    this.query = null; // {layer, conditions: [{field, op, value, value2}], any, scope, area, sort}
    this.schema = null; // the layer's queryables
    this.values = {}; // field -> its values (the datalist), once read
    this.result = null; // {features, matched, next, filter, bbox, breakdown}
    this.breakdownField = null; // the field the matches are counted by (null: the first coded)
    this.totalField = null; // the number summed over the matches (null: none)
    this.error = "";
  }

  /** Layers the caller may query: those of the city's meta, in its order. */
  layers() {
    return Object.entries(this.ctx.meta().layers).map(([id, info]) => ({ id, info }));
  }

  /** Show the panel; with ``query`` (a share link's), run it. */
  async open(query = null) {
    const layers = this.layers();
    if (!layers.length) return;
    const roles = this.ctx.meta().roles;
    const first = layers.find((l) => l.id === roles.parcels) || layers[0];
    const given = query && layers.some((l) => l.id === query.layer);
    if (given) {
      this.query = query;
      this.ctx.showArea(query.scope === "area" ? query.area : null);
    }
    else if (!this.query || !layers.some((l) => l.id === this.query.layer)) {
      this.query = blank(first.id);
    }
    if (!(await this.loadSchema())) return;
    this.render();
    if (given) await this.run(false);
  }

  /** Read the query's layer's queryables; false when another layer was chosen meanwhile
   * (its answer is then left to the later read, whichever comes first). */
  async loadSchema() {
    const layer = this.query.layer;
    const info = this.ctx.meta().layers[layer];
    const schema = await api(`/collections/${info.collection}/queryables?lang=${lang()}`);
    if (layer !== this.query.layer) return false;
    this.schema = schema;
    this.values = {};
    const known = this.schema.properties;
    this.query.conditions = this.query.conditions.filter((c) => known[c.field] && c.field !== "geometry");
    if (this.query.sort && !known[this.query.sort.field]) this.query.sort = null;
    return true;
  }

  /** Fields a condition may use: the queryables, without the geometry and the id. */
  fields() {
    return Object.entries(this.schema.properties)
      .filter(([name, s]) => name !== "geometry" && s["x-ogc-role"] !== "id");
  }

  render() {
    const q = this.query;
    const options = this.layers().map(({ id, info }) =>
      `<option value="${esc(id)}"${id === q.layer ? " selected" : ""}>${esc(pick(info.title) || id)}</option>`).join("");
    const rows = q.conditions.map((c, i) => this.conditionRow(c, i)).join("");
    const html = `<h3>${esc(t("query"))}</h3>
<form class="query-form" novalidate>
  <label>${esc(t("queryLayer"))} <select name="layer">${options}</select></label>
  <div class="query-conditions">${rows}</div>
  <p class="query-add"><button type="button" data-query="add">${esc(t("addCondition"))}</button>
    <select name="any" aria-label="${esc(t("queryCombine"))}"${q.conditions.length > 1 ? "" : " hidden"}>
      <option value="all"${q.any ? "" : " selected"}>${esc(t("queryAll"))}</option>
      <option value="any"${q.any ? " selected" : ""}>${esc(t("queryAny"))}</option></select></p>
  <label>${esc(t("queryWhere"))} <select name="scope">${SCOPES.map((scope) =>
    `<option value="${scope}"${scope === q.scope ? " selected" : ""}>${esc(t(`queryScope_${scope}`))}</option>`).join("")}</select></label>
  ${q.scope === "area" ? `<p class="query-area"><button type="button" data-query="draw">${esc(t(q.area ? "queryRedraw" : "queryDraw"))}</button>
    <span class="muted small">${esc(q.area ? t("queryAreaDrawn") : t("queryDrawHint"))}</span></p>` : ""}
  <p class="error query-error"${this.error ? "" : " hidden"}>${esc(this.error)}</p>
  <p><button type="submit" class="primary">${esc(t("runQuery"))}</button>
    <button type="button" data-query="reset">${esc(t("clearQuery"))}</button></p>
</form>
<div class="query-results">${this.resultsHtml()}</div>`;
    this.ctx.showCard(html, () => this.open());
    this.wire();
  }

  conditionRow(c, i) {
    const schema = this.schema.properties[c.field];
    const kind = kindOf(schema);
    const fields = this.fields().map(([name, s]) =>
      `<option value="${esc(name)}"${name === c.field ? " selected" : ""}>${esc(s.title || name)}${s["x-ogc-unit"] ? ` (${esc(unitText(s["x-ogc-unit"]))})` : ""}</option>`).join("");
    const ops = OPS[kind === "datetime" ? "date" : kind].map((op) =>
      `<option value="${op}"${op === c.op ? " selected" : ""}>${esc(t(`op_${op}`))}</option>`).join("");
    return `<fieldset class="query-condition" data-index="${i}">
  <select name="field" aria-label="${esc(t("queryField"))}">${fields}</select>
  <select name="op" aria-label="${esc(t("queryOp"))}">${ops}</select>
  ${NO_VALUE.has(c.op) ? "" : this.valueInputs(c, i, schema, kind)}
  <button type="button" class="icon" data-query="remove" data-index="${i}" title="${esc(t("removeCondition"))}" aria-label="${esc(t("removeCondition"))}">×</button>
</fieldset>`;
  }

  valueInputs(c, i, schema, kind) {
    const label = esc(t("queryValue"));
    if (kind === "coded" && (c.op === "eq" || c.op === "ne")) {
      const named = schema.oneOf || schema.enum.map((code) => ({ const: code, title: "" }));
      const options = named.map((o) => `<option value="${esc(o.const)}"${o.const === c.value ? " selected" : ""}>` +
        `${esc(o.const)}${o.title ? ` ${esc(o.title)}` : ""}</option>`).join("");
      return `<select name="value" aria-label="${label}">${options}</select>`;
    }
    const type = kind === "number" ? "text\" inputmode=\"decimal" : kind === "text" ? "text" : "date";
    const list = kind === "text" ? ` list="query-values-${i}"` : "";
    const one = (name, value) =>
      `<input name="${name}" type="${type}"${list} value="${esc(value ?? "")}" aria-label="${label}" autocomplete="off">`;
    const datalist = kind === "text" ? `<datalist id="query-values-${i}">${this.options(c.field)}</datalist>` : "";
    const hint = `<span class="muted small query-hint">${esc(this.range(c.field, kind, schema))}</span>`;
    const second = c.op === "between" ? ` ${esc(t("and"))} ${one("value2", c.value2)}` : "";
    return `${one("value", c.value)}${second}${datalist}${hint}`;
  }

  /** A text field's commonest values as datalist options ("" until read). */
  options(field) {
    return (this.values[field]?.values || []).map((v) =>
      `<option value="${esc(v.value)}">${esc(num(v.count))}</option>`).join("");
  }

  /** A number's or date's range as a hint ("" until read, and for other kinds). */
  range(field, kind, schema) {
    const known = this.values[field];
    if (!known || known.min == null || !["number", "date", "datetime"].includes(kind)) return "";
    const shown = (v) => (kind === "number" ? num(v, 2) : v);
    const unit = schema["x-ogc-unit"] ? ` ${unitText(schema["x-ogc-unit"])}` : "";
    return t("queryRange", { min: shown(known.min), max: shown(known.max) }) + unit;
  }

  /** Read the form into ``this.query`` (the values as typed). */
  readForm(form) {
    this.query.scope = form.elements.scope.value;
    this.query.any = form.elements.any.value === "any";
    for (const set of form.querySelectorAll(".query-condition")) {
      const c = this.query.conditions[Number(set.dataset.index)];
      c.field = set.querySelector("[name=field]").value;
      c.op = set.querySelector("[name=op]").value;
      c.value = set.querySelector("[name=value]")?.value ?? c.value;
      c.value2 = set.querySelector("[name=value2]")?.value ?? c.value2;
    }
  }

  /** A new condition on ``field`` (the first field by default), with its type's first operator. */
  condition(field = this.fields()[0][0]) {
    const kind = kindOf(this.schema.properties[field]);
    const schema = this.schema.properties[field];
    return { field, op: OPS[kind === "datetime" ? "date" : kind][0], value: schema.enum ? schema.enum[0] : "", value2: "" };
  }

  wire() {
    const form = document.querySelector("#card .query-form");
    if (!form) return;
    form.elements.layer.onchange = async () => {
      this.query = { ...blank(form.elements.layer.value), scope: this.query.scope, area: this.query.area };
      this.breakdownField = null;
      this.totalField = null;
      this.result = null;
      this.error = "";
      draw(this.ctx.map, []);
      if (await this.loadSchema()) this.render();
    };
    form.onchange = (event) => {
      if (event.target.name === "scope") {
        this.readForm(form);
        this.ctx.showArea(this.query.scope === "area" ? this.query.area : null);
        this.render();
        return;
      }
      const set = event.target.closest(".query-condition");
      if (!set || !["field", "op"].includes(event.target.name)) return;
      this.readForm(form);
      const c = this.query.conditions[Number(set.dataset.index)];
      if (event.target.name === "field") Object.assign(c, this.condition(c.field));
      this.render();
      this.fetchValues(c.field);
    };
    form.onclick = (event) => {
      const button = event.target.closest("[data-query]");
      if (!button) return;
      this.readForm(form);
      if (button.dataset.query === "add") {
        const c = this.condition();
        this.query.conditions.push(c);
        this.render();
        this.fetchValues(c.field);
      } else if (button.dataset.query === "draw") {
        this.ctx.drawArea((ring) => {
          this.query.area = { type: "Polygon", coordinates: [ring] };
          this.render();
        });
        this.render();
      } else if (button.dataset.query === "remove") {
        this.query.conditions.splice(Number(button.dataset.index), 1);
        this.render();
      } else if (button.dataset.query === "reset") {
        this.clear();
        this.query = blank(this.query.layer);
        this.render();
      }
    };
    form.onsubmit = (event) => {
      event.preventDefault();
      this.readForm(form);
      this.run();
    };
    const results = document.querySelector("#card .query-results");
    results.onclick = (event) => this.onResultsClick(event);
    results.onchange = (event) => this.onResultsChange(event);
    for (const c of this.query.conditions) this.fetchValues(c.field);
  }

  /** Read a field's commonest values and range once (datalist, hint), then show them. */
  async fetchValues(field) {
    if (this.values[field] || !this.schema.properties[field] || this.schema.properties[field].enum) return;
    const schema = this.schema;
    let values;
    try {
      values = await api(withAsOf(
        `${this.collectionPath()}/queryables/${encodeURIComponent(field)}/values?limit=100&lang=${lang()}`));
    } catch {
      return; // the list is a help, not a need
    }
    if (schema !== this.schema) return; // another layer's field of the same name
    this.values[field] = values;
    // filled in place: rendering the form again could swallow a click on it
    for (const set of document.querySelectorAll("#card .query-condition")) {
      const c = this.query.conditions[Number(set.dataset.index)];
      if (!c || c.field !== field) continue;
      const list = set.querySelector("datalist");
      if (list) list.innerHTML = this.options(field);
      const hint = set.querySelector(".query-hint");
      if (hint) hint.textContent = this.range(field, kindOf(this.schema.properties[field]), this.schema.properties[field]);
    }
  }

  /** The items path of the query (``extra``: more parameters, e.g. limit or f). */
  itemsPath(extra) {
    const p = this.selecting(extra);
    const sort = this.query.sort;
    if (sort) p.set("sortby", `${sort.desc ? "-" : ""}${sort.field}`);
    return withAsOf(`${this.collectionPath()}/items?${p}`);
  }

  /** The values of ``field`` among the matches, commonest first (the breakdown). */
  valuesPath(field, extra) {
    return withAsOf(`${this.collectionPath()}/queryables/${encodeURIComponent(field)}/values?${this.selecting(extra)}`);
  }

  collectionPath() {
    return `/collections/${this.ctx.meta().layers[this.query.layer].collection}`;
  }

  /** ``extra`` with the parameters that choose the matches (filter, bbox). */
  selecting(extra) {
    const p = new URLSearchParams(extra);
    if (this.result.filter) {
      p.set("filter", this.result.filter);
      p.set("filter-lang", "cql2-text");
    }
    if (this.result.bbox) p.set("bbox", this.result.bbox.map((v) => v.toFixed(6)).join(","));
    return p;
  }

  /** Run the query: count, list and draw its first page (``zoom``: fit the map to it). */
  async run(zoom = true) {
    let filter;
    try {
      filter = filterText(this.query, this.schema);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      this.error = err.message;
      this.render();
      return;
    }
    this.error = "";
    this.notice = "";
    this.undoable = null;
    this.result = { features: [], matched: null, next: null, filter, bbox: this.query.scope === "view" ? this.ctx.bbox() : null, breakdown: null };
    this.resultsLoading();
    try {
      await this.more(true);
    } catch (err) {
      this.result = null;
      this.error = t("error", { msg: err.message });
      draw(this.ctx.map, []);
    }
    this.ctx.onChange(this.result ? this.query : null);
    if (this.result) await this.breakDown(this.breakdownField ?? this.shortestCoded());
    if (this.result && this.totalField) await this.sumUp(this.totalField);
    this.render();
    if (zoom) this.zoomTo();
    // on a phone the card is a low sheet with the form on top: bring the answer into it
    if (sheets()) {
      const answer = document.querySelector("#card .query-count") ||
        document.querySelector("#card .error:not([hidden])");
      answer?.scrollIntoView({ block: "start" });
    }
  }

  /** The coded field with the fewest codes (the broadest classes) that no condition fixes
   * to one value, or "" for none. */
  shortestCoded() {
    const fixed = new Set(this.query.conditions.filter((c) => c.op === "eq").map((c) => c.field));
    const coded = this.fields().filter(([name, s]) => s.enum && !fixed.has(name))
      .sort((a, b) => a[1].enum.length - b[1].enum.length);
    return coded.length ? coded[0][0] : "";
  }

  /** Count the matches by ``field``'s values ("" for none): the BREAKDOWN commonest. */
  async breakDown(field) {
    this.breakdownField = field;
    this.result.breakdown = null;
    if (!field) return;
    try {
      this.result.breakdown = await api(this.valuesPath(field, { limit: BREAKDOWN, lang: lang() }));
    } catch (err) {
      this.error = t("error", { msg: err.message });
    }
  }

  /** Sum ``field`` ("" for none) over the matches: its sum, mean and how many have a value. */
  async sumUp(field) {
    this.totalField = field;
    this.result.total = null;
    if (!field) return;
    try {
      this.result.total = await api(this.valuesPath(field, { limit: 1, lang: lang() }));
    } catch (err) {
      this.error = t("error", { msg: err.message });
    }
  }

  totalHtml() {
    const numbers = this.fields().filter(([, s]) => kindOf(s) === "number");
    if (!numbers.length) return "";
    const options = [["", "—"], ...numbers.map(([name, s]) => [name, s.title || name])].map(([name, title]) =>
      `<option value="${esc(name)}"${name === (this.totalField || "") ? " selected" : ""}>${esc(title)}</option>`).join("");
    const select = `<label class="query-total">${esc(t("totalOf"))} <select name="total">${options}</select></label>`;
    const b = this.result.total;
    if (!b) return select;
    const unit = b.unit ? ` ${esc(unitText(b.unit))}` : "";
    return `${select}<p class="query-total-figures">${esc(t("totalSum"))} <b>${num(b.sum, 2)}</b>${unit} · ` +
      `${esc(t("totalMean"))} ${num(b.mean, 2)}${unit} · ${esc(t("totalCounted", { n: num(b.count), nulls: num(b.nulls) }))}</p>`;
  }

  breakdownHtml() {
    const r = this.result;
    const choices = this.fields().filter(([, s]) => kindOf(s) === "coded" || kindOf(s) === "text");
    const options = [["", "—"], ...choices.map(([name, s]) => [name, s.title || name])].map(([name, title]) =>
      `<option value="${esc(name)}"${name === (this.breakdownField || "") ? " selected" : ""}>${esc(title)}</option>`).join("");
    const select = `<label class="query-breakdown">${esc(t("breakdownBy"))} <select name="breakdown">${options}</select></label>`;
    const b = r.breakdown;
    if (!b) return select;
    const total = b.count + b.nulls;
    const share = (n) => (total ? `${num((100 * n) / total, 1)}%` : "");
    const rows = b.values.map((v) => `<tr><td class="data">${esc(v.value)}${v.title ? ` ${esc(v.title)}` : ""}</td>` +
      `<td class="num">${esc(num(v.count))}</td><td class="num">${esc(share(v.count))}</td></tr>`);
    const listed = b.values.reduce((sum, v) => sum + v.count, 0);
    if (!b.complete) rows.push(`<tr><td>${esc(t("otherValues"))}</td><td class="num">${esc(num(b.count - listed))}</td><td class="num">${esc(share(b.count - listed))}</td></tr>`);
    if (b.nulls) rows.push(`<tr><td>${esc(t("noValue"))}</td><td class="num">${esc(num(b.nulls))}</td><td class="num">${esc(share(b.nulls))}</td></tr>`);
    return `${select}<table class="grid query-breakdown-table"><thead><tr><th>${esc(b.title)}</th>` +
      `<th class="num">${esc(t("count"))}</th><th class="num">${esc(t("share_"))}</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
  }

  resultsLoading() {
    const box = document.querySelector("#card .query-results");
    if (box) box.innerHTML = `<p class="muted">${esc(t("loading"))}</p>`;
  }

  /** Fetch the next page of matches (the first when ``first``) and draw all fetched. */
  async more(first = false) {
    const page = first
      ? await api(this.itemsPath({ limit: PAGE, lang: lang() }))
      : await api(this.result.next);
    this.result.features.push(...page.features);
    if (first) this.result.matched = page.numberMatched ?? null;
    const next = (page.links || []).find((l) => l.rel === "next");
    this.result.next = next ? new URL(next.href, location.href).pathname + new URL(next.href, location.href).search : null;
    draw(this.ctx.map, this.result.features.filter((f) => f.geometry));
  }

  /** Fit the map to the matches drawn, clear of the card beside it (on a wide screen). */
  zoomTo() {
    const box = lonLatBox((this.result?.features || []).map((f) => f.geometry));
    if (box) fitBeside(this.ctx.map, box);
  }

  /** The columns of the results table: the layer's name field, then the conditions' fields. */
  columns() {
    const info = this.ctx.meta().layers[this.query.layer];
    const name = info.names?.[lang()] || info.label;
    const used = this.query.conditions.map((c) => c.field).filter((f) => f !== name);
    return [...new Set([name, ...used].filter(Boolean))].slice(0, 4);
  }

  resultsHtml() {
    const r = this.result;
    if (!r) return "";
    if (!r.features.length) return `<p class="query-count">${esc(t("queryNone"))}</p>`;
    const count = r.matched != null
      ? t("queryMatched", { n: num(r.matched) })
      : t("queryMatchedMore", { n: num(r.features.length) });
    const shown = r.next ? ` ${t("queryShown", { n: num(r.features.length) })}` : "";
    const columns = this.columns();
    const props = this.schema.properties;
    const cell = (f, name) => {
      const v = f.properties?.[name];
      const coded = props[name]?.oneOf?.find((o) => o.const === v);
      return v == null ? "" : coded ? `${v} ${coded.title}` : typeof v === "number" ? num(v, 2) : String(v);
    };
    const sort = this.query.sort;
    const head = columns.map((name) => {
      const on = sort?.field === name;
      const order = on ? (sort.desc ? "descending" : "ascending") : "none";
      return `<th aria-sort="${order}"><button type="button" class="link" data-sort="${esc(name)}" title="${esc(t("sortBy"))}">` +
        `${esc(props[name]?.title || name)}${on ? (sort.desc ? " ▼" : " ▲") : ""}</button></th>`;
    }).join("");
    const rows = r.features.map((f, i) => `<tr><td><button type="button" class="link data" data-row="${i}">` +
      `${esc(cell(f, columns[0]) || `#${f.id}`)}</button></td>` +
      columns.slice(1).map((name) => `<td class="data">${esc(cell(f, name))}</td>`).join("") + "</tr>").join("");
    const polygons = /Polygon/.test(this.ctx.meta().layers[this.query.layer]?.geometry || "");
    const exports = EXPORTS.filter(([f]) => (f !== "csv" || (r.matched != null && r.matched <= CSV_MAX)) &&
      (f !== "txt" || polygons)).map(([f, label]) =>
      `<button type="button" data-export-query="${f}">${esc(label || t("boundaryPoints"))}</button>`).join(" ");
    const undo = this.undoable ? ` <button type="button" class="link" data-query-act="bulk-undo">${esc(t("undoEdit"))}</button>` : "";
    const notice = this.notice ? `<p class="saved bulk-done">${esc(this.notice)}${undo}</p>` : "";
    return `${notice}<p class="query-count">${esc(count + shown)}</p>
${this.breakdownHtml()}
${this.totalHtml()}
<p><button type="button" data-query-act="zoom">${esc(t("zoomToResults"))}</button>
  ${r.next ? `<button type="button" data-query-act="more">${esc(t("loadMore", { n: num(PAGE) }))}</button>` : ""}</p>
<p class="query-exports"><span class="muted">${esc(t("exportAll"))}</span> ${exports}</p>
${this.bulkHtml()}
<div class="query-table"><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
  }

  /** One change to every match (editors, the map showing today, at most BULK_MAX matches):
   * a button, then a field, its value and the reason (the API's PATCH of the items). */
  bulkHtml() {
    const r = this.result;
    const info = this.ctx.meta().layers[this.query.layer];
    const fields = info?.editing?.fields || [];
    if (!fields.length || r.matched == null || r.matched > BULK_MAX || showsPast()) return "";
    const n = num(r.matched);
    if (!this.bulk) {
      return `<p class="query-bulk"><button type="button" data-query-act="bulk-open">${esc(t("bulkOpen", { n }))}</button></p>`;
    }
    const field = fields.find((f) => f.name === this.bulk.field) || fields[0];
    const options = fields.map((f) => `<option value="${esc(f.name)}"${f === field ? " selected" : ""}>` +
      `${esc(pick(info.fields[f.name]?.title) || f.name)}</option>`).join("");
    return `<form class="query-bulk edit-form"><h4>${esc(t("bulkTitle", { n }))}</h4>
<label class="edit-field" for="bulk-field"><span>${esc(t("bulkField"))}</span><select id="bulk-field" name="bulk-field">${options}</select></label>
${fieldInput(field, this.bulk.value ?? null, info, info.editing.codes || {})}
<label class="edit-field" for="bulk-reason"><span>${esc(t("reason"))}</span><input id="bulk-reason" name="bulk-reason" type="text" maxlength="500" value="${esc(this.bulk.reason || "")}"></label>
<p class="error bulk-faults"${this.bulk.error ? "" : " hidden"}>${esc(this.bulk.error || "")}</p>
<p><button type="button" class="primary" data-query-act="bulk-send">${esc(t("bulkSend", { n }))}</button>
<button type="button" data-query-act="bulk-cancel">${esc(t("cancel"))}</button></p></form>`;
  }

  /** Send the change to every match (PATCH with the matches' own parameters and their count),
   * then run the query again. */
  async sendBulk() {
    const form = document.querySelector("#card .query-bulk");
    const info = this.ctx.meta().layers[this.query.layer];
    const field = info.editing.fields.find((f) => f.name === form.elements["bulk-field"].value);
    const reason = form.elements["bulk-reason"].value.trim();
    const value = fieldValue(form.elements[field.name], field);
    const clearing = value === null && !(this.bulk.clearing && this.bulk.field === field.name);
    Object.assign(this.bulk, { field: field.name, reason, value, clearing: value === null });
    if (!reason) {
      this.bulk.error = t("reasonNeeded");
      return;
    }
    if (clearing) { // an empty value clears the field on every match: asked again
      this.bulk.error = t("bulkClears", { n: num(this.result.matched) });
      return;
    }
    try {
      const { data } = await apiResponse(`${this.collectionPath()}/items?${this.selecting({ expected: this.result.matched })}`, {
        method: "PATCH", body: { properties: { [field.name]: value } },
        headers: { "X-Change-Reason": encodeURIComponent(reason), "Accept-Language": lang() },
      });
      this.bulk = null;
      this.ctx.onEdited?.();
      await this.run(false);
      this.notice = t("bulkDone", { n: num(data.changed), m: num(data.matched) });
      this.undoable = data.changed && data.changeset ? { collection: info.collection, changeset: data.changeset } : null;
    } catch (err) {
      this.bulk.error = err.status === 412 ? t("bulkMoved")
        : (err.faults?.length ? err.faults.join("; ") : err.message);
    }
  }

  /** Undo the change just sent to every match (the editor's own change set), then run the
   * query again, saying whether it was undone. */
  async undoBulk() {
    const { collection, changeset } = this.undoable;
    let notice = t("editUndone");
    try {
      await revertChangeset(collection, changeset, t("undoReason"));
    } catch (err) {
      notice = err.status === 409 ? t("changes_revertConflict") : t("error", { msg: err.message });
    }
    this.ctx.onEdited?.();
    await this.run(false);
    this.notice = notice;
  }

  async onResultsChange(event) {
    if (event.target.name === "bulk-field") { // another field: its own control
      this.bulk = { field: event.target.value, reason: document.querySelector("#bulk-reason")?.value };
      this.render();
      return;
    }
    if (!["breakdown", "total"].includes(event.target.name)) return;
    if (event.target.name === "total") await this.sumUp(event.target.value);
    else await this.breakDown(event.target.value);
    const form = document.querySelector("#card .query-form");
    if (form) this.readForm(form);
    this.render();
  }

  async onResultsClick(event) {
    const row = event.target.closest("[data-row]");
    if (row) {
      const f = this.result.features[Number(row.dataset.row)];
      await this.ctx.openFeature(this.query.layer, f.id);
      return;
    }
    const sortBy = event.target.closest("[data-sort]")?.dataset.sort;
    if (sortBy) { // by this column; again: the other way
      const sort = this.query.sort;
      this.query.sort = { field: sortBy, desc: sort?.field === sortBy ? !sort.desc : false };
      const form = document.querySelector("#card .query-form");
      if (form) this.readForm(form);
      await this.run(false);
      return;
    }
    const act = event.target.closest("[data-query-act]")?.dataset.queryAct;
    if (act === "zoom") this.zoomTo();
    if (["bulk-open", "bulk-cancel", "bulk-send", "bulk-undo"].includes(act)) {
      if (act === "bulk-send") await this.sendBulk();
      else if (act === "bulk-undo") await this.undoBulk();
      else this.bulk = act === "bulk-open" ? {} : null;
      const form = document.querySelector("#card .query-form");
      if (form) this.readForm(form);
      this.render();
      return;
    }
    if (act === "more") {
      try {
        await this.more();
      } catch (err) {
        this.error = t("error", { msg: err.message });
      }
      const form = document.querySelector("#card .query-form");
      if (form) this.readForm(form);
      this.render();
    }
    const format = event.target.closest("[data-export-query]")?.dataset.exportQuery;
    if (format) {
      const info = this.ctx.meta().layers[this.query.layer];
      const ext = { csv: "csv", fgb: "fgb", gpkg: "gpkg", shp: "zip", txt: "txt" }[format];
      const extra = format === "csv" ? { f: format, limit: CSV_MAX } : { f: format };
      try {
        await download(this.itemsPath(extra), `${info.collection}-query.${ext}`);
      } catch (err) {
        this.error = t("error", { msg: err.message });
        this.render();
      }
    }
  }

  /** Drop the matches from the map. */
  clear() {
    this.result = null;
    this.error = "";
    draw(this.ctx.map, []);
    this.ctx.showArea(null);
    this.ctx.onChange(null);
  }
}
