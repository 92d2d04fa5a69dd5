// The smaller panels: status bar, layers (with geology opacity, vertical exaggeration and
// a section plane), search, headcounts by area, and camera tools (orbit/fly, saved views,
// measure).
import { age, language, LANGUAGES, setLanguage, t } from "../strings.js";
import { el, fill, panel } from "./dom.js";

export class StatusBar {
  constructor({ conn, onLanguage, softwareNote = false }) {
    this.conn = conn;
    this.onLanguage = onLanguage;
    this.softwareNote = softwareNote;
    // The parts that change are updated in place every second; the button stays the same
    // element, so a click is never lost to a re-render.
    this.info = el("span.info");
    this.lang = el("button.lang", {
      onclick: () => {
        const next = LANGUAGES[(LANGUAGES.indexOf(language()) + 1) % LANGUAGES.length];
        setLanguage(next);
        localStorage.setItem("minetwin.lang", next);
        this.onLanguage?.();
      },
    }, t("lang.switch"));
    this.root = el("header#status", {}, el("span.title", {}, t("title")), this.info, this.lang);
    this.uplink = null;       // GET api/uplink, every 10 s: the provincial uplink's outbox
    conn.addEventListener("state", () => this.render());
    setInterval(() => this.render(), 1000);
    setInterval(() => this.pollUplink(), 10000);
    this.pollUplink();
    this.render();
  }

  async pollUplink() {
    try {
      const r = await fetch("api/uplink");
      this.uplink = r.ok ? await r.json() : null;
    } catch { this.uplink = null; }
    this.render();
  }

  uplinkBadge() {
    const u = this.uplink;
    if (!u?.enabled) return null;
    const dests = Object.entries(u.destinations ?? {});
    const backlog = dests.reduce((s, [, d]) => s + d.backlog, 0);
    const failures = dests.reduce((s, [, d]) => s + d.failed_attempts, 0);
    const oldest = Math.max(0, ...dests.map(([, d]) => d.oldest_undelivered_s ?? 0));
    const state = dests.some(([, d]) => d.stale) ? "stale"
      : dests.some(([, d]) => d.last_error) || u.held ? "failing" : "ok";
    const title = [
      ...dests.map(([n, d]) => t("status.uplink.dest", { name: n, backlog: d.backlog, failures: d.failed_attempts })
        + (d.last_error ? ` — ${d.last_error}` : "")),
      u.held ? t("status.uplink.held", { n: u.held }) : null].filter(Boolean).join("\n");
    return el(`span.uplink.${state}`, { "data-state": state, "data-backlog": String(backlog), title },
      t("status.uplink", { backlog, oldest: oldest ? age(oldest * 1000) : "—", failures }));
  }

  render() {
    const c = this.conn;
    const state = c.replay ? "replay" : c.state;
    // How long since the scene last changed here (wall time): a drill's clock runs ahead of
    // this PC's, so the data's own time stamp says nothing about the link.
    const ageMs = c.lastFrameAt == null ? null : performance.now() - c.lastFrameAt;
    fill(this.info,
      el(`span.conn.${state}`, { "data-state": state }, t(`conn.${state}`)),
      c.state === "live" && !c.replay && ageMs !== null ? el("span.age", {}, t("status.age", { age: age(ageMs) })) : null,
      c.replica.revision !== null ? el("span.rev", {}, t("status.revision", { rev: c.replica.revision })) : null,
      c.role ? el("span.role", {}, t("status.role", { role: t(`role.${c.role}`) })) : null,
      this.uplinkBadge(),
      this.softwareNote ? el("span.note", { title: t("status.software.hint") }, t("status.software")) : null);
  }
}

/** Layer keys by the tags nodes carry, in display order. */
const LAYERS = ["roadway", "face", "seam", "contour", "stratum", "fault", "prediction", "hazard", "sensor", "tube_bundle", "outstation", "reader", "area", "person", "equipment"];

export function layersOf(replica) {
  const counts = new Map();
  const split = ["seam", "contour", "stratum", "hazard"];   // one layer per seam, stratum, hazard kind
  for (const n of replica.nodes.values()) {
    if (n.tags.includes("hazard-fill")) continue;     // a zone's fill: one switch for all
    const keys = new Set();
    for (const tag of n.tags) {
      const main = tag.split(":")[0];
      if (!LAYERS.includes(main)) continue;
      if (split.includes(main) && tag === main && n.tags.some((x) => x.startsWith(`${main}:`))) continue;
      keys.add(split.includes(main) ? tag : main);
    }
    for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => {
    const ia = LAYERS.indexOf(a.split(":")[0]), ib = LAYERS.indexOf(b.split(":")[0]);
    return ia - ib || (a < b ? -1 : 1);
  });
}

function layerName(key) {
  const [main, sub] = key.split(":");
  const exact = t(`layer.${key}`);
  if (exact !== `layer.${key}`) return exact;
  return sub ? `${t(`layer.${main}`)} ${sub}` : t(`layer.${main}`);
}

export class LayerPanel {
  constructor({ conn, view }) {
    this.conn = conn;
    this.view = view;
    this.p = panel("layers", t("panel.layers"));
    this.known = "";
    conn.addEventListener("frame", (e) => { if (e.detail.changes.reset || e.detail.changes.added.size) this.render(); });
    this.render(true);
  }

  get root() { return this.p.root; }

  render(force = false) {
    const layers = layersOf(this.conn.replica);
    const key = layers.map(([k]) => k).join(",");
    if (key === this.known && !force) return;
    this.known = key;
    const v = this.view;
    const hidden = (k) => v.hiddenLayers.has(k) || v.hiddenLayers.has(k.split(":")[0]);
    const toggle = (k, on) => {
      const main = k.split(":")[0];
      if (on && main !== k && v.hiddenLayers.has(main)) {   // ?hide=seam, then one seam shown
        v.setLayer(main, true);
        for (const [other] of layers) if (other !== k && other.split(":")[0] === main) v.setLayer(other, false);
      }
      v.setLayer(k, on);
    };
    const rows = layers.map(([k, count]) => el("label.layer", { "data-layer": k },
      el("input", { type: "checkbox", checked: !hidden(k), onchange: (e) => toggle(k, e.target.checked) }),
      ` ${layerName(k)} (${count})`));
    const exLabel = el("span", {}, t("layer.exaggeration", { k: v.exaggeration }));
    const clipAt = el("span", {}, "");
    const clipSlider = el("input.clip-at", { type: "range", min: -3000, max: 3000, step: 1, value: v.clip.at });
    const clipAxis = el("select.clip-axis", {},
      ...["off", "x", "y", "z"].map((a) => el("option", { value: a, selected: (v.clip.axis ?? "off") === a }, t(`layer.clip.${a}`))));
    const applyClip = () => {
      const axis = clipAxis.value === "off" ? null : clipAxis.value;
      v.setClip(axis, Number(clipSlider.value));
      clipAt.textContent = axis ? t("layer.clip.at", { v: clipSlider.value }) : "";
    };
    clipAxis.onchange = applyClip;
    clipSlider.oninput = applyClip;
    fill(this.p.body, 
      ...rows,
      el("label.layer", { "data-layer": "hazard-fill" }, el("input", { type: "checkbox", checked: !v.hiddenLayers.has("hazard-fill"),
        onchange: (e) => v.setLayer("hazard-fill", e.target.checked) }), ` ${t("layer.hazard-fill")}`),
      el("label.layer", {}, el("input", { type: "checkbox", checked: v.showLabels, onchange: (e) => v.setLabels(e.target.checked) }),
        ` ${t("layer.labels")}`),
      el("div.slider", {}, t("layer.roadwayOpacity"),
        el("input.roadway-opacity", { type: "range", min: 0.1, max: 1, step: 0.05, value: v.roadwayOpacity, oninput: (e) => v.setRoadwayOpacity(Number(e.target.value)) })),
      el("div.slider", {}, t("layer.opacity"),
        el("input.opacity", { type: "range", min: 0, max: 1, step: 0.05, value: v.geologyOpacity, oninput: (e) => v.setGeologyOpacity(Number(e.target.value)) })),
      el("div.slider", {}, exLabel,
        el("input.exaggeration", {
          type: "range", min: 1, max: 10, step: 0.5, value: v.exaggeration,
          oninput: (e) => { v.setExaggeration(Number(e.target.value)); exLabel.textContent = t("layer.exaggeration", { k: e.target.value }); },
        })),
      el("div.slider", {}, t("layer.clip"), clipAxis, clipSlider, clipAt));
  }
}

const SEARCH_PROPS = ["point_code", "location", "card", "reader_code", "area"];

export function search(replica, query, limit = 20) {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const out = [];
  for (const n of replica.nodes.values()) {
    if (n.tags.includes("group")) continue;
    const hay = [n.id, n.name, ...SEARCH_PROPS.map((p) => n.props.get(p))].filter((s) => typeof s === "string");
    if (hay.some((s) => s.toLowerCase().includes(q))) {
      out.push(n);
      if (out.length >= limit) break;
    }
  }
  return out;
}

export class SearchPanel {
  constructor({ conn, view, onSelect }) {
    this.conn = conn;
    this.p = panel("search", t("panel.search"));
    const input = el("input.query", { type: "search", placeholder: t("search.placeholder") });
    const results = el("ul.results");
    input.addEventListener("input", () => {
      const found = search(conn.replica, input.value);
      results.replaceChildren(...(input.value.trim() && !found.length ? [el("li.none", {}, t("search.none"))] : []),
        ...found.map((n) => el("li", {
          "data-node": n.id,
          onclick: () => { view.focus(n.id); onSelect(n.id); },
        }, `${n.name || n.id}`, el("small", {}, ` ${n.id}`))));
    });
    this.p.body.append(input, results);
  }

  get root() { return this.p.root; }
}

/** People underground by area code (a person's `area` property), from the replica. */
export function headcounts(replica) {
  const by = new Map();
  for (const n of replica.nodes.values()) {
    if (!n.tags.includes("person") || !n.props.get("underground")) continue;
    const a = n.props.get("area") ?? "";
    by.set(a, (by.get(a) ?? 0) + 1);
  }
  return by;
}

export class HeadcountPanel {
  constructor({ conn, view, onSelect }) {
    this.conn = conn;
    this.view = view;
    this.onSelect = onSelect;
    this.p = panel("headcount", t("panel.headcount"));
    setInterval(() => this.render(), 2000);
    this.render();
  }

  get root() { return this.p.root; }

  render() {
    const r = this.conn.replica;
    const by = headcounts(r);
    let total = 0;
    for (const v of by.values()) total += v;
    const rows = [];
    for (const n of r.nodes.values()) {
      if (!n.tags.includes("area")) continue;
      const code = n.props.get("area") ?? n.id.replace(/^area\//, "");
      const count = by.get(code) ?? 0;
      const rated = n.props.get("rated_headcount");
      rows.push(el(`tr${rated && count > rated ? ".over" : ""}`, { "data-area": code, onclick: () => { this.view.focus(n.id, 200); this.onSelect(n.id); } },
        el("td", {}, n.name), el("td.count", {}, rated ? t("headcount.rated", { n: count, rated }) : String(count))));
    }
    fill(this.p.body, el("div.total", {}, t("headcount.total", { n: total })), el("table", {}, ...rows));
  }
}

export class CameraPanel {
  constructor({ view }) {
    this.view = view;
    this.p = panel("camera", t("panel.camera"));
    this.views = JSON.parse(localStorage.getItem("minetwin.views") ?? "[]");
    this.result = el("div.measure-result");
    view.addEventListener("measure", (e) => {
      const [a, b] = e.detail.points;
      this.result.textContent = b ? t("camera.distance", { d: Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]).toFixed(2) })
        : t("camera.measure.hint");
    });
    this.render();
  }

  get root() { return this.p.root; }

  save(name) {
    this.views = this.views.filter((v) => v.name !== name).concat([{ name, ...this.view.cameraState() }]);
    localStorage.setItem("minetwin.views", JSON.stringify(this.views));
    this.render();
  }

  render() {
    const v = this.view;
    const name = el("input.view-name", { placeholder: t("camera.name") });
    fill(this.p.body, 
      el("div.buttons", {},
        el("button.home", { onclick: () => v.home() }, t("camera.home")),
        el("button.orbit", { onclick: () => v.setMode("orbit") }, t("camera.orbit")),
        el("button.fly", { onclick: () => v.setMode("fly") }, t("camera.fly")),
        el("button.measure", { onclick: () => { v.startMeasure(); this.result.textContent = t("camera.measure.hint"); } }, t("camera.measure"))),
      this.result,
      el("div.save", {}, name, el("button.save", { onclick: () => name.value && this.save(name.value) }, t("camera.save"))),
      el("ul.views", {}, ...this.views.map((sv) => el("li", {},
        el("a", { href: "#", onclick: (e) => { e.preventDefault(); v.setCamera(sv); v.emitCamera(); } }, sv.name),
        el("button.del", {
          onclick: () => {
            this.views = this.views.filter((x) => x !== sv);
            localStorage.setItem("minetwin.views", JSON.stringify(this.views));
            this.render();
          },
        }, "×")))));
  }
}
