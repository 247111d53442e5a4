// Walking catchments (步行服务范围) on the planner map: how far people walk from a kind of
// facility along the city's streets in 5, 10 or 15 minutes, and the residents within reach
// (POST /cities/{city}/analysis/service_areas); or the 15-minute life circle (15分钟生活圈):
// the residents within that walk of each kind of the city's life-circle facilities, and of all
// of them at once (analysis/life_circle). The catchments are drawn on the map, coloured by
// minutes or by kind, with a table of areas, residents and shares; the result downloads as
// GeoJSON. Offered where the city names its street network and has facilities.
import { Latest, api, esc, lonLatBox, num, saveBlob, showsPast, swatch } from "./common.js";
import { lang, phrases, pick, unitText } from "./i18n.js";

const TEXT = {
  zh: {
    title: "步行服务范围", help: "沿街道从设施步行若干分钟可以到达的范围，以及范围内的常住人口（按人口普查单元面积分摊）。",
    oneKind: "一类设施", lifeCircle: "生活圈（多类设施）", facility: "设施", minutes: "步行时间（分钟）",
    minutesHelp: "1–120 分钟，最多 6 个，用逗号隔开", run: "计算", running: "正在计算…",
    badMinutes: "请输入 1–120 之间的分钟数，最多 6 个，例如 5, 10, 15。",
    badMinute: "请输入一个 1–120 之间的分钟数，例如 15。", minuteHelp: "1–120 分钟",
    walk: "步行 {m} 分钟", area: "面积", residents: "常住人口", share: "占全市",
    facilities: "{n} 处{what}，步行速度 {speed} 千米/小时。", allKinds: "各类设施都能到达",
    lifeCircleNote: "{kinds}：每类设施步行 {m} 分钟可达的人口，以及各类都能到达的人口。",
    download: "下载服务范围（GeoJSON）", city: "全市常住人口 {n} 人。",
    today: "地图显示的是过去某一天，服务范围按今天的街道、设施和人口计算。",
  },
  en: {
    title: "Walking catchments", help: "How far people walk from facilities along the streets in a given time, and the residents within reach (census units shared by area).",
    oneKind: "One kind of facility", lifeCircle: "Life circle (several kinds)", facility: "Facilities", minutes: "Walking time (minutes)",
    minutesHelp: "1–120 minutes, up to 6, separated by commas", run: "Calculate", running: "Calculating…",
    badMinutes: "Enter walking times of 1–120 minutes, up to 6, such as 5, 10, 15.",
    badMinute: "Enter one walking time of 1–120 minutes, such as 15.", minuteHelp: "1–120 minutes",
    walk: "{m} min walk", area: "Area", residents: "Residents", share: "Share of the city",
    facilities: "{n} {what}, walking at {speed} km/h.", allKinds: "Within reach of every kind",
    lifeCircleNote: "{kinds}: the residents within a {m}-minute walk of each kind, and of every kind at once.",
    download: "Download the catchments (GeoJSON)", city: "The city's residents: {n}.",
    today: "The map shows a past day: catchments are worked out from today's streets, facilities and residents.",
  },
};
const say = phrases(TEXT);

const SOURCE = "dc-catchments";
const EMPTY = { type: "FeatureCollection", features: [] };
// shortest walk darkest (drawn on top); one colour per kind in a life circle
const BY_MINUTES = ["#08519c", "#3182bd", "#6baed6", "#9ecae1", "#c6dbef", "#deebf7"];
const BY_KIND = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"];
const ALL_KINDS = "#222222";
let drawn = EMPTY;
let colour = "#3182bd"; // a MapLibre expression once a result is drawn

/** (Re-)add the catchments' source and layers on top of the style; after every style load. */
export function installCatchments(map) {
  if (map.getSource(SOURCE)) return;
  map.addSource(SOURCE, { type: "geojson", data: drawn });
  // a kind's catchment in a life circle is outlined; the area every kind reaches is shaded
  map.addLayer({ id: "dc-catchments-fill", type: "fill", source: SOURCE,
    filter: ["!=", ["get", "kind"], "kind"],
    layout: { "fill-sort-key": ["-", 0, ["get", "minutes"]] }, // shortest walks on top
    paint: { "fill-color": colour, "fill-opacity": 0.3 } });
  map.addLayer({ id: "dc-catchments-line", type: "line", source: SOURCE,
    paint: { "line-color": colour,
      "line-width": ["match", ["get", "kind"], "all", 3, "kind", 2.5, 1.2] } });
}

function draw(map, features, paint) {
  drawn = { type: "FeatureCollection", features };
  colour = paint;
  const source = map.getSource(SOURCE);
  if (!source) return;
  source.setData(drawn);
  map.setPaintProperty("dc-catchments-fill", "fill-color", paint);
  map.setPaintProperty("dc-catchments-line", "line-color", paint);
}

/** "5, 10 15" (any commas, 、 or spaces) as minutes: 1-6 numbers of 1-120; null otherwise. */
export function readMinutes(text) {
  const parts = String(text).split(/[\s,，、;；]+/).filter(Boolean);
  const minutes = parts.map(Number);
  if (!minutes.length || minutes.length > 6) return null;
  if (minutes.some((m) => !Number.isFinite(m) || m < 1 || m > 120)) return null;
  return [...new Set(minutes)].sort((a, b) => a - b);
}

/** A MapLibre colour expression: ``values`` of property ``name`` to ``colours`` in order. */
function matched(name, values, colours, otherwise) {
  if (!values.length) return otherwise;
  return ["match", ["get", name], ...values.flatMap((v, i) => [v, colours[i % colours.length]]), otherwise];
}

const km2 = (m2) => `${num(m2 / 1e6, 2)} ${esc(unitText("km²"))}`;
const percent = (share) => `${num(share * 100, 1)}%`;

/**
 * The tool. ``ctx``: {map, city() (its id), meta() (the city's layers and roles as the caller
 * sees them), showCard(html, again), fit(box [w, s, e, n])}.
 */
export class CatchmentsTool {
  constructor(ctx) {
    this.ctx = ctx;
    this.mode = "one"; // "one" | "circle"
    this.layer = null;
    this.minutes = "5, 10, 15";
    this.asked = new Latest(); // a result on its way is dropped when another is asked for
    this.result = null;
    this.error = "";
    this.running = false;
    this.shown = false; // a result drawn on the map
  }

  /** Whether the city can answer: a street network and facilities the caller may see. */
  static offered(meta) {
    return Boolean(meta?.roles?.streets && meta.roles.facilities?.length);
  }

  title(id) {
    return pick(this.ctx.meta().layers[id]?.title) || id;
  }

  open() {
    const { facilities } = this.ctx.meta().roles;
    if (!facilities.includes(this.layer)) {
      this.layer = facilities[0] || null;
      this.result = null;
    }
    this.redraw();
    this.render();
  }

  render() {
    const meta = this.ctx.meta();
    const circle = this.mode === "circle";
    const options = meta.roles.facilities.map((id) =>
      `<option value="${esc(id)}"${id === this.layer ? " selected" : ""}>${esc(this.title(id))}</option>`).join("");
    const radio = (value, key) => `<label class="check"><input type="radio" name="mode" value="${value}"` +
      `${this.mode === value ? " checked" : ""}> ${esc(say(key))}</label>`;
    const offersCircle = meta.roles.life_circle?.length > 1;
    const html = `<h2 class="card-title">${esc(say("title"))}</h2>
<p class="muted small">${esc(say("help"))}</p>
${showsPast() ? `<p class="catchments-today small">${esc(say("today"))}</p>` : ""}
<form class="catchments-form" novalidate>
${offersCircle ? `<p>${radio("one", "oneKind")} ${radio("circle", "lifeCircle")}</p>` : ""}
${circle ? "" : `<p><label>${esc(say("facility"))} <select name="layer">${options}</select></label></p>`}
<p><label>${esc(say("minutes"))} <input name="minutes" inputmode="decimal" value="${esc(this.minutes)}"></label>
<br><span class="muted small">${esc(say(circle ? "minuteHelp" : "minutesHelp"))}</span></p>
<p><button type="submit"${this.running ? " disabled" : ""}>${esc(say(this.running ? "running" : "run"))}</button></p>
</form>
${this.error ? `<p class="error">${esc(this.error)}</p>` : ""}
${this.result && !this.running ? this.report() : ""}`;
    this.ctx.showCard(html, () => this.render());
    const card = document.getElementById("card");
    const form = card.querySelector(".catchments-form");
    for (const input of form.querySelectorAll("input[name=mode]")) {
      input.onchange = () => {
        this.forgetRunning();
        this.mode = input.value;
        this.minutes = this.mode === "circle" ? "15" : "5, 10, 15";
        this.result = null;
        draw(this.ctx.map, [], colour);
        this.render();
      };
    }
    if (form.elements.layer) {
      form.elements.layer.onchange = (event) => {
        this.forgetRunning();
        this.layer = event.target.value;
        this.result = null;
        draw(this.ctx.map, [], colour);
        this.render();
      };
    }
    form.onsubmit = (event) => {
      event.preventDefault();
      this.minutes = form.elements.minutes.value;
      const minutes = readMinutes(this.minutes);
      const circle = this.mode === "circle"; // one walking time: the life circle's
      if (!minutes || (circle && minutes.length !== 1)) {
        this.error = say(circle ? "badMinute" : "badMinutes");
        this.render();
        return;
      }
      this.run(minutes);
    };
    const save = card.querySelector(".catchments-download");
    if (save) save.onclick = () => this.download();
  }

  async run(minutes) {
    this.running = true;
    this.error = "";
    this.render();
    const circle = this.mode === "circle";
    const name = circle ? "life_circle" : "service_areas";
    const body = circle ? { minutes: minutes[0] } : { facility_layer: this.layer, minutes };
    try {
      const result = await this.asked.ask(api(`/cities/${this.ctx.city()}/analysis/${name}`, {
        method: "POST", body,
      }));
      this.result = { ...result, mode: this.mode };
      this.redraw();
      const shapes = result.data.features.filter((f) => f.geometry);
      if (shapes.length) this.ctx.fit(lonLatBox(shapes.map((f) => f.geometry)));
    } catch (err) {
      this.result = null;
      this.error = err.message;
      draw(this.ctx.map, [], colour);
    }
    this.running = false;
    this.render();
  }

  /** The minutes asked for, and the kinds of a life circle, in the order they are coloured. */
  classes() {
    const { parameters } = this.result.provenance;
    return {
      minutes: parameters.minutes.map(Number),
      kinds: this.result.mode === "circle" ? parameters.facility_layers : [],
    };
  }

  redraw() {
    if (!this.result) return;
    const { minutes, kinds } = this.classes();
    const features = this.result.data.features.filter((f) => f.geometry).map((f) => ({
      ...f, properties: { ...f.properties, kind: this.result.mode !== "circle" ? "minutes"
        : f.properties.layer === null ? "all" : "kind" },
    }));
    const paint = this.result.mode === "circle"
      ? matched("layer", kinds, BY_KIND, ALL_KINDS)
      : matched("minutes", minutes, BY_MINUTES, BY_MINUTES[0]);
    draw(this.ctx.map, features, paint);
    this.shown = true;
  }

  /** The legend of what is drawn (for the printed sheet): none when nothing is. */
  legendGroups() {
    if (!this.result || !this.shown) return [];
    const { minutes, kinds } = this.classes();
    const walk = minutes.map((m) => say("walk", { m: num(m) })).join(" / ");
    if (this.result.mode === "circle") {
      return [{
        title: `${say("title")} · ${say("lifeCircle")} · ${walk}`,
        entries: [
          ...kinds.map((id, i) => ({ colour: BY_KIND[i % BY_KIND.length], label: this.title(id) })),
          { colour: ALL_KINDS, label: say("allKinds") },
        ],
      }];
    }
    const what = this.title(this.result.provenance.parameters.facility_layer);
    return [{
      title: `${say("title")} · ${what}`,
      entries: minutes.map((m, i) => ({ colour: BY_MINUTES[i % BY_MINUTES.length], label: say("walk", { m: num(m) }) })),
    }];
  }

  report() {
    const { summary } = this.result;
    const { minutes, kinds } = this.classes();
    const head = `<tr><th></th><th>${esc(say("area"))}</th><th>${esc(say("residents"))}</th><th>${esc(say("share"))}</th></tr>`;
    const row = (colourOf, label, r) => `<tr><td>${swatch(colourOf)} ${esc(label)}</td>` +
      `<td class="num">${km2(r.area_m2)}</td><td class="num">${num(r.population)}</td>` +
      `<td class="num">${percent(r.share)}</td></tr>`;
    let lead;
    let rows;
    if (this.result.mode === "circle") {
      const features = this.result.data.features.map((f) => f.properties);
      lead = say("lifeCircleNote", { kinds: kinds.map((id) => this.title(id)).join(lang() === "zh" ? "、" : ", "),
        m: minutes.map((m) => num(m)).join("/") });
      rows = minutes.flatMap((m) => [
        ...kinds.map((id, i) => {
          const r = features.find((p) => p.layer === id && Number(p.minutes) === m);
          return r ? row(BY_KIND[i % BY_KIND.length], `${this.title(id)} · ${say("walk", { m: num(m) })}`, r) : "";
        }),
        ...features.filter((p) => p.layer === null && Number(p.minutes) === m)
          .map((r) => row(ALL_KINDS, `${say("allKinds")} · ${say("walk", { m: num(m) })}`, r)),
      ]).join("");
    } else {
      const { parameters } = this.result.provenance;
      const count = new Set(this.result.data.features.map((f) => f.properties.fid)).size;
      lead = say("facilities", { n: num(count), what: this.title(parameters.facility_layer),
        speed: num(parameters.walk_speed_kmh, 1) });
      rows = summary.coverage.map((r) => {
        const i = minutes.indexOf(Number(r.minutes));
        return row(BY_MINUTES[Math.max(i, 0)], say("walk", { m: num(r.minutes) }), r);
      }).join("");
    }
    return `<p class="catchments-lead">${esc(lead)}</p>
<table class="catchments-table">${head}${rows}</table>
<p class="muted small">${esc(say("city", { n: num(summary.city_population) }))}</p>
<p><button type="button" class="catchments-download">${esc(say("download"))}</button></p>`;
  }

  /** The catchments as a GeoJSON file (lon/lat), for desktop GIS. */
  download() {
    const what = this.result.mode === "circle" ? "life-circle" : this.result.provenance.parameters.facility_layer;
    saveBlob(new Blob([JSON.stringify(this.result.data)], { type: "application/geo+json" }),
      `${this.ctx.city()}-${what}-catchments.geojson`);
  }

  /** Drop what the tool drew (the card was closed); with ``forget``, its result too (another
   * city). */
  clear(forget = false) {
    this.forgetRunning();
    draw(this.ctx.map, [], colour);
    this.shown = false;
    if (forget) this.result = null;
  }

  forgetRunning() {
    this.asked.drop();
    this.running = false;
  }
}
