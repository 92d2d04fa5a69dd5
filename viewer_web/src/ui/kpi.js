// The KPI strip (一张图's headline numbers), read at a glance from across the room: people
// underground, the highest CH4 of each district (area) with its point, and the active alarms by
// level. From the replica (live or replayed) and the alarm list; updated every second.
import { t } from "../strings.js";
import { el, fill, fmtReading } from "./dom.js";

/** {area code: {value, node, name, level}} — the highest CH4 reading per area (of the air in
 * its roadways: not the tube-bundle samples drawn from a goaf or behind seals). */
export function maxCh4ByArea(replica, plan) {
  const areaOf = new Map();             // roadway id → area code
  for (const a of plan?.areas ?? []) for (const r of a.roadways) areaOf.set(r, a.code);
  // a point with no roadway (at a face) is in the area of the nearest reader
  const readers = [...replica.nodes.values()].filter((n) => n.tags.includes("reader") && n.props.get("area"));
  const nearest = (n) => {
    let best = null, d = Infinity;
    for (const r of readers) {
      const e = Math.hypot(r.t[0] - n.t[0], r.t[1] - n.t[1], r.t[2] - n.t[2]);
      if (e < d) { d = e; best = r; }
    }
    return best?.props.get("area");
  };
  const out = new Map();
  for (const n of replica.nodes.values()) {
    if (!n.tags.includes("sensor") || n.props.get("quantity") !== "ch4") continue;
    // a tube-bundle sample is the goaf's or a sealed area's air, not the district's
    if (n.props.get("tube_bundle") != null) continue;
    const v = n.props.get("ch4");
    if (typeof v !== "number") continue;
    const code = areaOf.get(n.props.get("roadway")) ?? nearest(n);
    if (!code) continue;
    const best = out.get(code);
    if (!best || v > best.value) {
      const alarm = n.props.get("ch4_alarm_upper");
      out.set(code, { value: v, node: n.id, name: n.name,
        level: (n.props.get("alarm_level") ?? 0) > 0 || (alarm != null && v >= alarm) ? "alarm"
          : alarm != null && v >= 0.8 * alarm ? "warning" : "ok" });
    }
  }
  return out;
}

export class KpiStrip {
  constructor({ conn, alarms, onSelect }) {
    this.conn = conn;
    this.alarms = alarms;
    this.onSelect = onSelect;
    this.plan = null;
    this.root = el("div#kpi");
    document.body.append(this.root);
    setInterval(() => this.render(), 1000);
    this.render();
  }

  setPlan(plan) { this.plan = plan; this.render(); }

  render() {
    const r = this.conn.replica;
    let under = 0;
    for (const n of r.nodes.values()) if (n.tags.includes("person") && n.props.get("underground")) under++;
    const active = this.alarms.shown().filter((a) => a.cleared_ms == null);
    const by = [3, 2, 1].map((l) => active.filter((a) => a.level === l).length);
    const names = new Map((this.plan?.areas ?? []).map((a) => [a.code, a.name]));
    // the three highest districts: one row between the panels, under the status bar
    const gas = [...maxCh4ByArea(r, this.plan)].sort(([, a], [, b]) => b.value - a.value).slice(0, 3);
    fill(this.root,
      el("div.kpi.people", { "data-kpi": "people", "data-value": String(under) },
        el("span.k", {}, t("kpi.people")), el("span.v", {}, String(under)), el("span.u", {}, t("kpi.people.unit"))),
      ...gas.map(([code, g]) => el(`div.kpi.gas.${g.level}`, {
        "data-kpi": "ch4", "data-area": code, "data-value": String(g.value), title: g.name,
        onclick: () => this.onSelect?.(g.node),
      }, el("span.k", {}, `${names.get(code) ?? code} ${t("kpi.ch4")}`), el("span.v", {}, fmtReading(g.value)), el("span.u", {}, "%"))),
      el("div.kpi.alarms", { "data-kpi": "alarms", "data-value": by.join(",") },
        el("span.k", {}, t("kpi.alarms")),
        ...by.map((n, i) => el(`span.lv.level${3 - i}${n ? "" : ".zero"}`, { title: t(`alarm.level${3 - i}`) }, String(n)))));
  }
}
