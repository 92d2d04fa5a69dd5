// Details of the selected node: its properties with units and live values, and a chart of
// its last hours from GET /api/history (uPlot).
import uPlot from "uplot";
import { fmtTime, timeZone } from "../clock.js";
import { propName, propValue } from "../props.js";
import { t } from "../strings.js";
import { hex } from "../view3d.js";
import { el, fill, fmt, fmtReading, panel } from "./dom.js";

/** The limits a sensor's chart draws: [property suffix, colour, dashed]. */
const LIMIT_LINES = [["_alarm_upper", "#e67e22"], ["_alarm_lower", "#e67e22"], ["_power_off_upper", "#e74c3c"]];

/** The alarm limits of a node (its own properties), for the chart: [{label, value, color}]. */
export function limitsOf(n) {
  if (!n?.tags.includes("sensor")) return [];
  const out = [];
  for (const [k, v] of n.props) {
    const line = LIMIT_LINES.find(([suffix]) => k.endsWith(suffix));
    if (line && typeof v === "number") out.push({ label: propName(k) ?? k, value: v, color: line[1] });
  }
  return out;
}

const HOURS = 4;

/** The history series of a node (docs/protocol.md): a point's code, `<equipment>/<param>`. */
export function seriesOf(n) {
  if (!n) return [];
  if (n.tags.includes("sensor") && n.props.has("point_code")) return [[n.props.get("point_code"), n.props.get("quantity_name") ?? ""]];
  if (n.tags.includes("equipment")) {
    const id = n.id.replace(/^equipment\//, "");
    return [...n.props.keys()].filter((k) => k.startsWith("live_") && typeof n.props.get(k) === "number")
      .sort().map((k) => [`${id}/${k.slice(5)}`, k.slice(5)]);
  }
  return [];
}

export class Inspector {
  constructor({ conn, view, baseUrl = "", onReport = null }) {
    this.conn = conn;
    this.onReport = onReport;          // report a hidden danger here (ui/dangers.js)
    this.view = view;
    this.baseUrl = baseUrl;
    this.selected = null;
    this.p = panel("inspect", t("panel.inspect"));
    this.props = el("table.props");
    this.chartBox = el("div.chart");
    this.seriesSelect = el("select.series", { onchange: () => this.chart() });
    this.seriesSelect.style.display = "none";
    // The chart right under the name and live value: visible without scrolling.
    this.title = el("table.props.title");
    this.p.body.append(this.title, this.seriesSelect, this.chartBox, this.props);
    this.render();
    conn.addEventListener("frame", (e) => {
      const n = this.selected && conn.replica.node(this.selected);
      if (!n) return;
      if (e.detail.changes.reset || e.detail.changes.changed.has(n.handle)) this.render();
      if (Date.now() - (this.chartAt ?? 0) > 30000) this.chart();
    });
  }

  get root() { return this.p.root; }

  select(id, point = null) {
    this.selected = id;
    this.point = point ? [point.x ?? point[0], point.y ?? point[1], point.z ?? point[2]] : null;
    this.p.root.classList.remove("collapsed");
    this.render();
    const series = seriesOf(this.conn.replica.node(id));
    this.seriesSelect.replaceChildren(...series.map(([s, label]) => el("option", { value: s }, `${label} (${s})`)));
    this.seriesSelect.hidden = series.length < 2;
    this.seriesSelect.style.display = series.length < 2 ? "none" : "";
    this.chart();
  }

  render() {
    const n = this.selected && this.conn.replica.node(this.selected);
    if (!n) {
      fill(this.title);
      fill(this.props, el("tr", {}, el("td.none", {}, t("inspect.none"))));
      return;
    }
    const replica = this.conn.replica;
    const schema = replica.schema;
    const pos = this.view.nodePosition(n.id);
    // Live values and states first, then what the node is; names in the UI's language, codes
    // shown as what they stand for (an area code as the area's name).
    const live = (k) => k.startsWith("live_") || ["alarm_level", "power_off", "data_state", "headcount", "underground", "sos", "online"].includes(k);
    const props = [...n.props].sort(([a], [b]) => (live(b) - live(a)) || (a < b ? -1 : 1));
    fill(this.title,
      el("tr.name", {}, el("th", { colspan: 2 }, n.name || n.id,
        el("button.focus", { onclick: () => this.view.focus(n.id) }, t("inspect.focus")),
        this.onReport ? el("button.report-danger", {
          onclick: () => this.onReport({ node: n.id, position: this.point ?? pos,
            label: `${n.name || n.id}${this.point ? ` (${this.point.map((v) => v.toFixed(0)).join(", ")})` : ""}` }),
        }, t("danger.report")) : null)),
      n.label ? el("tr.live.big", {}, el("td", { colspan: 2, style: { color: n.color === 0xffffff ? "" : hex(n.color) } }, n.label)) : null);
    const rows = [
      el("tr", {}, el("td", {}, t("inspect.id")), el("td.id", {}, n.id)),
      pos ? el("tr", {}, el("td", {}, t("inspect.position")), el("td", {}, pos.map((v) => v.toFixed(1)).join(", ") + " m")) : null,
      ...props.map(([k, v]) => {
        const unit = schema.get(k)?.unit;
        const words = propValue(k, v, replica);
        const shown = words ?? (k.endsWith("_ms") && typeof v === "number" ? fmtTime(v) : unit ? fmtReading(v) : fmt(v));
        // a state that is not normal reads red (power cut, in alarm, no data, SOS)
        const bad = (k === "power_off" || k === "sos") && v === true || k === "alarm_level" && v > 0
          || k === "data_state" && v !== "ok" || k === "online" && v === false;
        return el(`tr.prop${live(k) ? ".live" : ""}${bad ? ".bad" : ""}`, { "data-prop": k, title: k },
          el("td", {}, propName(k) ?? k), el("td", {}, unit && words === null ? `${shown} ${unit}` : shown));
      }),
    ];
    fill(this.props, ...rows.filter(Boolean));
  }

  async chart() {
    this.chartAt = Date.now();
    const series = this.seriesSelect.value || seriesOf(this.conn.replica.node(this.selected))[0]?.[0];
    this.plot?.destroy();
    this.plot = null;
    this.chartBox.replaceChildren();
    if (!series) return;
    const to = this.conn.replica.time ?? Date.now();
    const from = to - HOURS * 3600e3;
    let points = [];
    try {
      const r = await fetch(`${this.baseUrl}api/history/${encodeURIComponent(series).replace("%2F", "/")}?from=${from}&to=${to}&max_points=400`);
      points = (await r.json()).points ?? [];
    } catch (e) { console.warn("history:", e.message); }
    const node = this.conn.replica.node(this.selected);
    const limits = limitsOf(node);
    this.chartBox.replaceChildren(el("div.chart-title", {}, `${series} · ${t("inspect.chart", { h: HOURS })}`,
      ...limits.map((l) => el("span.limit", { style: { color: l.color } }, ` — ${l.label} ${fmt(l.value)}`))));
    if (!points.length) { this.chartBox.append(el("div.none", {}, t("inspect.nodata"))); return; }
    const xs = points.map((p) => p.t / 1000);
    const data = points[0].mean !== undefined
      ? [xs, points.map((p) => p.mean), points.map((p) => p.min), points.map((p) => p.max)]
      : [xs, points.map((p) => p.value)];
    const bands = data.length;
    for (const l of limits) data.push(xs.map(() => l.value));    // the limits as level lines
    const width = Math.max(200, this.chartBox.clientWidth || 300);
    const tick = { stroke: "#aab", grid: { stroke: "#30363d" }, ticks: { stroke: "#30363d" } };
    const opts = {
      width, height: 170,
      // the mine's clock and zone on the time axis, 24-hour (never this PC's zone, never US dates)
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), timeZone()),
      series: [{ value: (u, v) => (v == null ? "—" : fmtTime(v * 1000)) },
        { label: series, stroke: "#4fc3f7", width: 1.5 },
        ...(bands > 2 ? [{ label: "min", stroke: "#4fc3f755" }, { label: "max", stroke: "#4fc3f755" }] : []),
        ...limits.map((l) => ({ label: l.label, stroke: l.color, width: 1.5, dash: [6, 4], points: { show: false } }))],
      axes: [{ ...tick, space: 60, values: (u, splits) => splits.map((v) => fmtTime(v * 1000, { date: false, seconds: false })) },
        { ...tick, space: 24, size: 44 }],
      scales: { y: { range: (u, lo, hi) => {
        const top = Math.max(hi, ...limits.map((l) => l.value)), bottom = Math.min(lo, 0);
        return [bottom, top + (top - bottom) * 0.08 || 1];
      } } },
      legend: { show: false },
    };
    this.plot = new uPlot(opts, data, this.chartBox);
    this.chartBox.dataset.points = String(points.length);
    this.chartBox.dataset.limits = String(limits.length);
  }
}
