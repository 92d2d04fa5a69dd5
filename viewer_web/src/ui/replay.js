// Replay: a timeline with alarm markers, play/pause/speed/seek for the instructor, and
// joining an instructor's session for trainees (docs/protocol.md "replay_*").
import { fmtTime } from "../clock.js";
import { t } from "../strings.js";
import { el, fill, panel } from "./dom.js";

/** Time ticks for a span: about `n` round times (1, 2, 5, 10, 15, 30 min, 1, 2, 6, 12 h, 1 d). */
export function timeTicks(first, last, n = 5) {
  const steps = [60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 21600e3, 43200e3, 86400e3];
  const span = Math.max(1, last - first);
  const step = steps.find((s) => span / s <= n) ?? steps[steps.length - 1];
  const out = [];
  for (let x = Math.ceil(first / step) * step; x <= last; x += step) out.push(x);
  return out;
}

const SPEEDS = [1, 2, 5, 10, 30, 60, 300];
const STEERS = new Set(["instructor", "admin"]);

function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}

export class ReplayPanel {
  constructor({ conn }) {
    this.conn = conn;
    this.p = panel("replay", t("panel.replay"));
    this.message = el("div.message");
    conn.addEventListener("replay", () => this.render());
    conn.addEventListener("auth", () => this.render());
    this.render();
  }

  get root() { return this.p.root; }

  async run(name, args) {
    const r = await this.conn.command(name, args);
    this.message.textContent = r.ok ? "" : t("replay.refused", { reason: r.message });
    return r;
  }

  control(action, value) {
    return this.run("replay_control", { replay: this.conn.replay.id, action, ...(value === undefined ? {} : { value }) });
  }

  render() {
    const c = this.conn;
    const steer = STEERS.has(c.role);
    const r = c.replay;
    document.body.classList.toggle("in-replay", !!r);
    if (!r) {
      const start = el("input.replay-start", { type: "datetime-local", step: 1, value: localInput((c.replica.time ?? Date.now()) - 600000) });
      const id = el("input.replay-id", { type: "number", min: 1, placeholder: t("replay.id") });
      fill(this.p.body, 
        steer ? el("div.row", {}, t("replay.start"), start,
          el("button.replay-open", { onclick: () => this.run("replay_open", { start_ms: new Date(start.value).getTime(), speed: 1 }) }, t("replay.open"))) : null,
        el("div.row", {}, id, el("button.replay-join", { onclick: () => id.value && this.run("replay_join", { replay: Number(id.value) }) }, t("replay.join"))),
        this.message);
      return;
    }
    const [first, last] = r.span ?? [r.time_ms, r.time_ms];
    const seek = el("input.replay-seek", {
      type: "range", min: first, max: Math.max(last, first + 1), step: 1000, value: r.time_ms, disabled: !steer,
      onchange: (e) => this.control("seek", Number(e.target.value)),
    });
    const at = (m) => `${((m - first) / Math.max(1, last - first)) * 100}%`;
    // Alarm markers: a click seeks to the alarm (an instructor's replay), a moment before it.
    // one marker per time (several alarms often rise in the same tick)
    const times = [...new Set(r.markers ?? [])].sort((a, b) => a - b);
    const markers = el("div.markers", {}, ...times.map((m) => el("button.marker", {
      style: { left: at(m) }, title: t("replay.marker", { time: fmtTime(m) }), disabled: !steer,
      "data-time": String(m), onclick: () => this.control("seek", Math.max(first, m - 5000)),
    })));
    const ticks = el("div.ticks", {}, ...timeTicks(first, last).map((x) => el("span.tick", { style: { left: at(x) } },
      fmtTime(x, { date: false, seconds: false }))));
    fill(this.p.body,
      el("div.replay-time", {}, t("replay.at", { id: r.id, time: fmtTime(r.time_ms) })),
      el("div.timeline", {}, seek, markers, ticks),
      steer ? el("div.row", {},
        el("button.replay-play", { onclick: () => this.control(r.playing ? "pause" : "play") }, r.playing ? t("replay.pause") : t("replay.play")),
        t("replay.speed"),
        el("select.replay-speed", { onchange: (e) => this.control("speed", Number(e.target.value)) },
          ...SPEEDS.map((s) => el("option", { value: s, selected: s === r.speed }, `×${s}`))),
        el("button.replay-close", { onclick: () => this.run("replay_close", { replay: r.id }) }, t("replay.close"))) : null,
      el("button.replay-leave", { onclick: () => this.run("replay_leave", { replay: r.id }) }, t("replay.leave")),
      this.message);
  }
}
