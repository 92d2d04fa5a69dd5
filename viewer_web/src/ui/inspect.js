// Details of the selected node: its properties with units and live values, and a chart of
// its last hours from GET /api/history (uPlot).
import uPlot from "uplot";
import { t } from "../strings.js";
import { hex } from "../view3d.js";
import { el, fill, fmt, panel } from "./dom.js";

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
  constructor({ conn, view, baseUrl = "" }) {
    this.conn = conn;
    this.view = view;
    this.baseUrl = baseUrl;
    this.selected = null;
    this.p = panel("inspect", t("panel.inspect"));
    this.props = el("table.props");
    this.chartBox = el("div.chart");
    this.seriesSelect = el("select.series", { onchange: () => this.chart() });
    this.seriesSelect.style.display = "none";
    this.p.body.append(this.props, this.seriesSelect, this.chartBox);
    this.render();
    conn.addEventListener("frame", (e) => {
      const n = this.selected && conn.replica.node(this.selected);
      if (!n) return;
      if (e.detail.changes.reset || e.detail.changes.changed.has(n.handle)) this.render();
      if (Date.now() - (this.chartAt ?? 0) > 30000) this.chart();
    });
  }

  get root() { return this.p.root; }

  select(id) {
    this.selected = id;
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
      fill(this.props, el("tr", {}, el("td.none", {}, t("inspect.none"))));
      return;
    }
    const schema = this.conn.replica.schema;
    const pos = this.view.nodePosition(n.id);
    const rows = [
      el("tr.name", {}, el("th", { colspan: 2 }, n.name || n.id,
        el("button.focus", { onclick: () => this.view.focus(n.id) }, t("inspect.focus")))),
      el("tr", {}, el("td", {}, t("inspect.id")), el("td.id", {}, n.id)),
      el("tr", {}, el("td", {}, t("inspect.tags")), el("td", {}, n.tags.join(" "))),
      pos ? el("tr", {}, el("td", {}, t("inspect.position")), el("td", {}, pos.map((v) => v.toFixed(1)).join(", ") + " m")) : null,
      n.label ? el("tr.live", {}, el("td", {}, "●"), el("td", { style: { color: n.color === 0xffffff ? "" : hex(n.color) } }, n.label)) : null,
      ...[...n.props].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => {
        const unit = schema.get(k)?.unit;
        const shown = typeof v === "boolean" ? (v ? "✔" : "✘") : fmt(v, 3);
        return el(`tr.prop${k.startsWith("live_") ? ".live" : ""}`, { "data-prop": k },
          el("td", {}, k), el("td", {}, unit ? `${shown} ${unit}` : shown));
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
    this.chartBox.replaceChildren(el("div.chart-title", {}, `${series} · ${t("inspect.chart", { h: HOURS })}`));
    if (!points.length) { this.chartBox.append(el("div.none", {}, t("inspect.nodata"))); return; }
    const xs = points.map((p) => p.t / 1000);
    const data = points[0].mean !== undefined
      ? [xs, points.map((p) => p.mean), points.map((p) => p.min), points.map((p) => p.max)]
      : [xs, points.map((p) => p.value)];
    const width = Math.max(200, this.chartBox.clientWidth || 300);
    const opts = {
      width, height: 160,
      series: [{}, { label: series, stroke: "#4fc3f7", width: 1.5 },
        ...(data.length > 2 ? [{ label: "min", stroke: "#4fc3f755" }, { label: "max", stroke: "#4fc3f755" }] : [])],
      axes: [{ stroke: "#aab" }, { stroke: "#aab" }],
      legend: { show: false },
    };
    this.plot = new uPlot(opts, data, this.chartBox);
    this.chartBox.dataset.points = String(points.length);
  }
}
