// The risk map (风险四色图, issue #22): every area's level in four colours — blue 低风险,
// yellow 一般风险, orange 较大风险, red 重大风险 — with the facts behind it, and the roadways of
// the 3D view's plan lines and the 2D plan coloured by their area's level when switched on
// (the panel's button, or ?risk=1 for a wall). The colours come from the area nodes'
// `risk_level` in the replica, so a replay shows the levels of its time; the reasons and the
// forecasts ahead of the workings come from GET /api/risk (live only).
import { CSS2DObject } from "three/addons/renderers/CSS2DRenderer.js";
import { fmtTime } from "../clock.js";
import { language, t } from "../strings.js";
import { el, fill, panel } from "./dom.js";

export const RISK_COLORS = [0x2f80ed, 0xf2c94c, 0xf2994a, 0xeb5757];   // blue yellow orange red
const LEVELS = ["blue", "yellow", "orange", "red"];
const NO_AREA = 0x59636e;
const KIND_NAMED = { thickness: 1, undulation: 1 };     // named by their kind, not the seam
const MARK_WITHIN_M = 200;       // what lies this near ahead of a working is marked in the views
const MARKS_PER_WORKING = 3;
const HISTORY_H = 24;            // an opened area shows its level over this many hours
const css = (c) => `#${c.toString(16).padStart(6, "0")}`;

export class RiskPanel {
  constructor({ conn, view, planView, furniture, onSelect, on = false }) {
    this.conn = conn;
    this.furniture = furniture;
    this.view = view;
    this.planView = planView;
    this.onSelect = onSelect;
    this.on = on;
    this.data = null;            // the last /api/risk
    this.open = new Set();       // areas whose reasons are shown
    this.hist = new Map();       // area -> {at, points}: its level over the last HISTORY_H hours
    this.p = panel("risk", t("panel.risk"));
    this.toggle = el("button.risk-toggle", { onclick: () => this.setOn(!this.on) }, t("risk.toggle"));
    this.legend = el("div.risk-legend", {}, LEVELS.map((c, i) =>
      el("span.chip", {}, el("i", { style: { background: css(RISK_COLORS[i]) } }), t(`risk.${c}`))));
    this.list = el("div.risk-list");
    this.p.body.append(this.toggle, this.legend, this.list);
    this.signature = "";
    setInterval(() => this.load(), 5000);
    setInterval(() => this.render(), 2000);
    this.load();
  }

  get root() { return this.p.root; }

  setPlan(plan) {
    this.plan = plan;
    this.areaOfRoad = new Map();
    for (const a of plan.areas ?? []) for (const r of a.roadways ?? []) this.areaOfRoad.set(r, a.code);
    this.signature = "";
    this.render();
  }

  setOn(on) {
    this.on = on;
    this.toggle.classList.toggle("on", on);
    this.signature = "";
    this.render();
  }

  async load() {
    if (this.conn.replay) return;            // the reasons are live; a replay keeps its colours
    try {
      const r = await fetch("api/risk");
      if (r.ok) { this.data = await r.json(); this.marks(); this.render(); }
    } catch (e) { console.warn("risk:", e.message); }
  }

  /** What lies ahead of each working, marked where it will be met — in the 3D view (labels
   * that take part in the view's decluttering) and on the 2D plan: "断层 F1 96 m · 12 天",
   * framed in the colour of the warning line it has crossed. */
  marks() {
    const v = this.view;
    for (const o of v.aheadMarks ?? []) { o.removeFromParent(); o.element.remove(); }
    const lines = this.data?.lines ?? [];
    const out = [], flat = [];
    for (const f of this.data?.forecasts ?? []) {
      const near = f.ahead.filter((a) => a.distance_m > 0 && a.distance_m <= MARK_WITHIN_M)
        .slice(0, MARKS_PER_WORKING);
      for (const a of near) {
        const crossed = lines.filter((w) => w.hazard === a.kind && a.distance_m <= w.distance_m)
          .map((w) => LEVELS.indexOf(w.level));
        const lv = crossed.length ? Math.max(...crossed) : 0;
        const what = a.kind === "fault" ? `${t("risk.kind.fault")} ${a.name}`
          : a.kind in KIND_NAMED ? t(`risk.kind.${a.kind}`) : a.name;
        const text = `${what} ${Math.round(a.distance_m)} m` + (a.days != null ? ` · ${t("risk.days", { n: Math.round(a.days) })}` : "");
        const el = document.createElement("div");
        el.className = `label ahead level-${LEVELS[lv]}`;
        el.textContent = text;
        el.dataset.working = f.working;
        const obj = new CSS2DObject(el);
        obj.position.set(a.position[0], a.position[1], a.position[2] + 4);
        v.world.add(obj);
        out.push(obj);
        flat.push({ position: a.position, text, color: css(RISK_COLORS[lv]) });
      }
    }
    v.aheadMarks = out;
    v.dirty = true;
    if (this.planView) { this.planView.ahead = flat; this.planView.request(); }
  }

  /** An area's level over the last hours (the twin keeps each change as risk/<area>). */
  async loadHistory(code) {
    const to = this.conn.replica.time ?? Date.now();
    this.hist.set(code, { at: Date.now(), points: this.hist.get(code)?.points ?? null, to });
    try {
      const r = await fetch(`api/history/risk/${encodeURIComponent(code)}?from=${Math.round(to - HISTORY_H * 3600e3)}&to=${Math.round(to)}&max_points=100000`);
      const points = r.ok ? (await r.json()).points ?? [] : [];
      this.hist.set(code, { at: Date.now(), points, to });
      this.render();
    } catch (e) { console.warn("risk history:", e.message); }
  }

  /** The level's history as one bar: a block per level held, as long as it was held. */
  historyBar(code) {
    const h = this.hist.get(code);
    if (!h?.points?.length) return null;
    const from = h.to - HISTORY_H * 3600e3;
    const pts = h.points.map((p) => ({ t: p.t, v: Math.round(p.value ?? p.max ?? 0) }));
    const blocks = pts.map((p, i) => {
      const end = i + 1 < pts.length ? pts[i + 1].t : h.to;
      const w = Math.max(0, end - Math.max(p.t, from)) / (h.to - from) * 100;
      return el("span", { style: { width: `${w}%`, background: css(RISK_COLORS[Math.min(3, Math.max(0, p.v))]) },
        title: `${fmtTime(p.t, { seconds: false })} ${t(`risk.${LEVELS[Math.min(3, Math.max(0, p.v))]}`)}` });
    });
    const lead = Math.max(0, pts[0].t - from) / (h.to - from) * 100;   // before the first record
    return el("div.risk-history", { title: t("risk.history", { h: HISTORY_H }) },
      el("div.bar", {}, lead > 0 ? el("span.unknown", { style: { width: `${lead}%` } }) : null, blocks),
      el("div.axis", {}, el("span", {}, `−${HISTORY_H} h`), el("span", {}, fmtTime(h.to, { date: false, seconds: false }))));
  }

  /** Each area's level now: from the replica (live or replayed), else the last /api/risk. */
  levels() {
    const out = new Map();
    for (const n of this.conn.replica.nodes.values()) {
      if (!n.tags.includes("area")) continue;
      const code = n.props.get("area") ?? n.id.replace(/^area\//, "");
      const lv = n.props.get("risk_level");
      out.set(code, { node: n.id, name: n.name, level: typeof lv === "number" ? lv : null });
    }
    for (const a of this.data?.levels ?? []) {
      const o = out.get(a.area) ?? { node: `area/${a.area}`, name: a.name, level: null };
      if (o.level === null) o.level = LEVELS.indexOf(a.level);
      o.reasons = a.reasons;
      o.assessed = a.assessed;
      out.set(a.area, o);
    }
    return out;
  }

  render() {
    const shown = !this.view.hiddenLayers.has("prediction");   // with the prediction ahead
    for (const o of this.view.aheadMarks ?? []) o.visible = shown;
    if (this.planView) this.planView.aheadShown = shown;
    const levels = this.levels();
    const sig = `${this.on}|${[...levels].map(([k, v]) => `${k}:${v.level}`).join(",")}`;
    if (sig !== this.signature && this.plan) {
      this.signature = sig;
      const colorOf = this.on ? (r) => {
        const a = this.areaOfRoad.get(r.id);
        const lv = a !== undefined ? levels.get(a)?.level : null;
        return lv === null || lv === undefined ? NO_AREA : RISK_COLORS[lv];
      } : null;
      this.view.planLines?.recolor(colorOf);
      this.planView?.recolor(colorOf);
      this.furniture?.setRisk(this.on ? LEVELS.map((c, i) => [RISK_COLORS[i], t(`risk.${c}`)]) : null);
    }
    const lang = language().startsWith("en") ? "en" : "zh";
    const rows = [...levels.entries()].sort((a, b) => (b[1].level ?? -1) - (a[1].level ?? -1)
      || a[1].name.localeCompare(b[1].name));
    const ahead = new Map();
    for (const f of this.data?.forecasts ?? []) {
      const near = f.ahead.filter((a) => a.distance_m > 0).slice(0, 3);
      if (near.length) ahead.set(f.node, { name: f.name, area: f.area, near });
    }
    fill(this.list, rows.map(([code, a]) => {
      const lv = a.level ?? 0;
      const shown = this.open.has(code);
      const head = el(`div.risk-row.level-${LEVELS[lv]}`, {
        "data-area": code,
        onclick: () => {
          if (shown) this.open.delete(code); else { this.open.add(code); this.loadHistory(code); }
          // an area has no place of its own: frame its working, else its first roadway
          const work = (this.data?.forecasts ?? []).find((f) => f.area === code)?.node;
          const road = (this.plan?.areas ?? []).find((x) => x.code === code)?.roadways?.[0];
          const target = work ?? (road ? `roadway/${road}` : a.node);
          this.view.focus(target, 200);
          this.onSelect?.(a.node);
          this.render();
        } },
      el("i.swatch", { style: { background: css(RISK_COLORS[lv]) } }),
      el("span.name", {}, a.name), el("span.level", {}, t(`risk.${LEVELS[lv]}`)));
      if (!shown) return head;
      const why = (a.reasons ?? []).map((r) => el(`li.level-${r.level}`, {}, r[lang] ?? r.zh));
      const works = [...ahead.values()].filter((w) => w.area === code);
      if (Date.now() - (this.hist.get(code)?.at ?? 0) > 60000) this.loadHistory(code);
      return el("div.risk-area", {}, head, this.historyBar(code),
        el("ul.reasons", {}, why.length ? why : el("li.none", {}, this.conn.replay ? t("risk.replay") : t("risk.none"))),
        works.map((w) => el("div.ahead", {}, `${w.name} · ${t("risk.ahead")}: `,
          w.near.map((n) => `${["fault", "thickness", "undulation"].includes(n.kind) ? t(`risk.kind.${n.kind}`) : ""}`
            + `${n.kind === "fault" ? " " + n.name : n.kind in KIND_NAMED ? "" : n.name} ${Math.round(n.distance_m)} m`).join(" · "))));
    }));
  }
}
