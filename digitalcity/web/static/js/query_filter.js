// The query by attributes as data: its conditions' kinds and operators, the CQL2 text filter
// they make (values as CQL2 literals: quotes doubled, LIKE's own characters escaped, so no
// value is ever syntax) and the compact form share links keep (checked when read back).
import { t } from "./i18n.js";

export const OPS = {
  coded: ["eq", "ne", "null", "notnull"],
  text: ["eq", "ne", "contains", "starts", "null", "notnull"],
  number: ["eq", "ne", "lt", "le", "gt", "ge", "between", "null", "notnull"],
  boolean: ["true", "false", "null", "notnull"],
};
OPS.date = OPS.number;
const SQL_OP = { eq: "=", ne: "<>", lt: "<", le: "<=", gt: ">", ge: ">=" };
export const NO_VALUE = new Set(["null", "notnull", "true", "false"]);

/** The kind of input a queryable takes: coded, text, number, date, datetime or boolean. */
export function kindOf(schema) {
  if (schema.enum) return "coded";
  if (schema.type === "integer" || schema.type === "number") return "number";
  if (schema.type === "boolean") return "boolean";
  if (schema.format === "date") return "date";
  if (schema.format === "date-time") return "datetime";
  return "text";
}

export class InputError extends Error {}

/** A query of ``layer`` with no conditions, over the whole city. */
export function blank(layer) {
  return { layer, conditions: [], any: false, scope: "city", area: null, sort: null };
}

const quoted = (text) => `'${String(text).replace(/'/g, "''")}'`;
const likeEscaped = (text) => text.replace(/[\\%_]/g, (ch) => `\\${ch}`);

/** A value of ``kind`` as a CQL2 literal; throws InputError naming ``title`` when unusable. */
function literal(kind, raw, title) {
  const text = String(raw ?? "").trim();
  if (!text) throw new InputError(t("queryNeedsValue", { field: title }));
  if (kind === "number") {
    const n = Number(text.replace(/,/g, ""));
    if (!Number.isFinite(n)) throw new InputError(t("queryBadNumber", { field: title }));
    return String(n);
  }
  if (kind === "date" || kind === "datetime") {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(text))) {
      throw new InputError(t("queryBadDate", { field: title }));
    }
    return kind === "date" ? `DATE(${quoted(text)})` : `TIMESTAMP(${quoted(`${text}T00:00:00Z`)})`;
  }
  return quoted(text);
}

/** One condition ({field, op, value, value2}) as CQL2 text. */
function conditionText(cond, schema) {
  const kind = kindOf(schema);
  const name = `"${cond.field.replace(/"/g, '""')}"`;
  const title = schema.title || cond.field;
  switch (cond.op) {
    case "null": return `${name} IS NULL`;
    case "notnull": return `${name} IS NOT NULL`;
    case "true": return `${name} = TRUE`;
    case "false": return `${name} = FALSE`;
    case "contains":
    case "starts": {
      const text = String(cond.value ?? "").trim();
      if (!text) throw new InputError(t("queryNeedsValue", { field: title }));
      const pattern = `${cond.op === "contains" ? "%" : ""}${likeEscaped(text)}%`;
      return `CASEI(${name}) LIKE CASEI(${quoted(pattern)})`;
    }
    case "between":
      return `${name} BETWEEN ${literal(kind, cond.value, title)} AND ${literal(kind, cond.value2, title)}`;
    default:
      return `${name} ${SQL_OP[cond.op]} ${literal(kind, cond.value, title)}`;
  }
}

/** An area (a GeoJSON Polygon or MultiPolygon, lon/lat) as CQL2: the features it meets. */
function areaText(area) {
  const ring = (r) => `(${r.map(([x, y]) => `${Number(x).toFixed(7)} ${Number(y).toFixed(7)}`).join(", ")})`;
  const polygon = (rings) => `(${rings.map(ring).join(", ")})`;
  const wkt = area.type === "Polygon"
    ? `POLYGON${polygon(area.coordinates)}`
    : `MULTIPOLYGON(${area.coordinates.map(polygon).join(", ")})`;
  return `S_INTERSECTS("geometry", ${wkt})`;
}

/** The vertices of an area (what a link may hold at most MAX_VERTICES of). */
function vertices(area) {
  return area.type === "Polygon"
    ? area.coordinates.flat().length
    : area.coordinates.flat(2).length;
}

/** The query's CQL2 text filter (null without conditions or area: every feature). */
export function filterText(query, schema) {
  const parts = query.conditions.map((c) => conditionText(c, schema.properties[c.field]));
  let text = parts.length <= 1 ? parts[0] || null
    : parts.map((p) => `(${p})`).join(query.any ? " OR " : " AND ");
  if (query.scope === "area") {
    if (!query.area) throw new InputError(t("queryNeedsArea"));
    text = text ? `(${text}) AND ${areaText(query.area)}` : areaText(query.area);
  }
  return text;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
export const SCOPES = ["city", "view", "area"]; // where the query looks: its index in links
const MAX_VERTICES = 500; // of an area in a link (a larger one is not linked)
const ALL_OPS = new Set(Object.values(OPS).flat());

/** A query as a share link writes it (``qry=``: compact JSON); null for one whose area is
 * too large for a link (a site boundary's, say). */
export function queryToLink(query) {
  const area = query.scope === "area" ? query.area : null;
  if (area && vertices(area) > MAX_VERTICES) return null;
  const rounded = (c) => (typeof c[0] === "number" ? [+c[0].toFixed(6), +c[1].toFixed(6)] : c.map(rounded));
  return JSON.stringify({
    l: query.layer,
    c: query.conditions.map((c) => [c.field, c.op, c.value ?? "", c.value2 ?? ""]),
    a: query.any ? 1 : 0,
    v: SCOPES.indexOf(query.scope),
    ...(area ? { g: { type: area.type, coordinates: rounded(area.coordinates) } } : {}),
    ...(query.sort ? { s: [query.sort.field, query.sort.desc ? 1 : 0] } : {}),
  });
}

/** A link's area if it is a Polygon or MultiPolygon of lon/lat rings (else null). */
function linkedArea(g) {
  const lonLat = (p) => Array.isArray(p) && p.length === 2 && p.every(Number.isFinite)
    && Math.abs(p[0]) <= 180 && Math.abs(p[1]) <= 90;
  const ring = (r) => Array.isArray(r) && r.length >= 4 && r.every(lonLat);
  const polygon = (rings) => Array.isArray(rings) && rings.length >= 1 && rings.every(ring);
  if (!g || typeof g !== "object" || !Array.isArray(g.coordinates)) return null;
  const fits = g.type === "Polygon" ? polygon(g.coordinates)
    : g.type === "MultiPolygon" && g.coordinates.length >= 1 && g.coordinates.every(polygon);
  return fits && vertices(g) <= MAX_VERTICES ? { type: g.type, coordinates: g.coordinates } : null;
}

/** The query of a share link's ``qry``, or null when it is not one (cut, hand-edited). */
export function queryFromLink(text) {
  let raw;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const str = (v) => typeof v === "string" && v.length <= 200;
  if (!raw || typeof raw !== "object" || !NAME.test(raw.l) || !Array.isArray(raw.c) || raw.c.length > 20) return null;
  const conditions = [];
  for (const c of raw.c) {
    if (!Array.isArray(c) || !NAME.test(c[0]) || !ALL_OPS.has(c[1]) || !str(c[2] ?? "") || !str(c[3] ?? "")) return null;
    conditions.push({ field: c[0], op: c[1], value: c[2] ?? "", value2: c[3] ?? "" });
  }
  const sort = Array.isArray(raw.s) && NAME.test(raw.s[0]) ? { field: raw.s[0], desc: raw.s[1] === 1 } : null;
  const scope = SCOPES[raw.v] || "city";
  const area = scope === "area" ? linkedArea(raw.g) : null;
  if (scope === "area" && !area) return null;
  return { layer: raw.l, conditions, any: raw.a === 1, scope, area, sort };
}

