// Replay: a timeline with alarm markers, play/pause/speed/seek for the instructor, and
// joining an instructor's session for trainees (docs/protocol.md "replay_*").
import { t } from "../strings.js";
import { el, fill, panel } from "./dom.js";

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
    const markers = el("div.markers", {}, ...(r.markers ?? []).map((m) => el("span.marker", {
      style: { left: `${((m - first) / Math.max(1, last - first)) * 100}%` }, title: new Date(m).toLocaleString(),
    })));
    fill(this.p.body, 
      el("div.replay-time", {}, t("replay.at", { id: r.id, time: new Date(r.time_ms).toLocaleString() })),
      el("div.timeline", {}, seek, markers),
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
