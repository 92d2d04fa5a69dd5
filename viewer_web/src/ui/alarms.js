// The live alarm list: level, place, value and age; new alarms draw the eye (banner, flash,
// optional sound); a click focuses the camera; an operator acknowledges with a comment.
import { age, language, t } from "../strings.js";
import { el, fmt, panel } from "./dom.js";

const CAN_ACK = new Set(["operator", "instructor", "admin"]);

export class AlarmPanel {
  constructor({ conn, view, onSelect, kiosk = false, onReport = null }) {
    this.conn = conn;
    this.onReport = onReport;          // report a hidden danger about an alarm (ui/dangers.js)
    this.view = view;
    this.onSelect = onSelect;
    this.kiosk = kiosk;
    this.sound = false;
    this.p = panel("alarms", t("panel.alarms"));
    this.list = el("ul.alarm-list");
    this.message = el("div.message");
    const sound = el("label.sound", {}, el("input", {
      type: "checkbox", checked: localStorage.getItem("minetwin.sound") === "1",
      onchange: (e) => { this.sound = e.target.checked; localStorage.setItem("minetwin.sound", this.sound ? "1" : "0"); },
    }), ` ${t("alarm.sound")}`);
    this.sound = localStorage.getItem("minetwin.sound") === "1";
    this.p.body.append(kiosk ? "" : sound, this.message, this.list);
    this.banner = el("div#banner.hidden", { onclick: () => this.focus(this.bannerAlarm) });
    document.body.append(this.banner);
    conn.addEventListener("alarm", (e) => this.onAlarm(e.detail));
    conn.addEventListener("replay", () => this.onReplay());
    setInterval(() => this.render(), 1000);
  }

  /** In a replay the list shows the alarms as they stood at the replay's time (from the alarm
   * history: raised by then, not yet cleared or acknowledged by then), not today's. */
  async onReplay() {
    const r = this.conn.replay;
    if (!r) { this.replayAlarms = null; this.replayId = null; this.render(); return; }
    if (this.replayId === r.id) return;
    this.replayId = r.id;
    this.replayAlarms = [];
    const since = Math.max(0, (r.span?.[0] ?? r.time_ms) - 86400e3);
    try {
      const res = await fetch(`api/alarms/history?since=${Math.floor(since)}`);
      if (this.replayId === r.id) this.replayAlarms = (await res.json()).alarms ?? [];
    } catch (e) { console.warn("alarm history:", e.message); }
    this.render();
  }

  /** Alarm records as they were at time `at`: what happened later is not known yet. */
  static asAt(alarms, at) {
    const out = [];
    for (const a of alarms) {
      if (a.raised_ms > at) continue;
      const b = { ...a };
      if (b.cleared_ms != null && b.cleared_ms > at) b.cleared_ms = null;
      if (b.acked_ms != null && b.acked_ms > at) { b.acked_ms = null; b.acked_by = null; b.comment = null; }
      out.push(b);
    }
    return out;
  }

  get root() { return this.p.root; }

  /** The alarm list a client starts from (GET /api/alarms), before live alarm messages. */
  async load(baseUrl = "") {
    try {
      const r = await fetch(`${baseUrl}api/alarms`);
      const { alarms } = await r.json();
      for (const a of alarms) if (!this.conn.alarms.has(a.id)) this.conn.alarms.set(a.id, a);
    } catch (e) { console.warn("alarm list:", e.message); }
    this.render();
  }

  onAlarm({ alarm, isNew }) {
    if (isNew && alarm.cleared_ms == null && !this.conn.replay) this.announce(alarm);
    this.render();
  }

  place(a) {
    if (a.place) return a.place;             // the mine's name for it, from the server
    const n = a.node ? this.conn.replica.node(a.node) : null;
    return n?.name || a.point || a.node || a.rule;
  }

  /** The alarm in words, as the server wrote it from its rule: "甲烷 1.60 % ≥ 1.00 %（断电）". */
  what(a) {
    const words = a.text?.[language().startsWith("en") ? "en" : "zh"];
    return words ?? `${t(`alarm.kind.${a.kind}`)} ${t("alarm.value", { value: fmt(a.value), threshold: fmt(a.threshold) })}`;
  }

  announce(a) {
    this.bannerAlarm = a;
    this.banner.textContent = t("alarm.banner", { place: this.place(a), what: this.what(a) });
    // what the banner said lately (a newer alarm replaces it within seconds on a busy mine)
    (this.announced ??= []).push({ id: a.id, text: this.banner.textContent, at: Date.now() });
    this.announced.splice(0, this.announced.length - 20);
    this.banner.className = `level${a.level}`;
    document.body.classList.remove("flash");
    void document.body.offsetWidth;          // restart the CSS animation
    document.body.classList.add("flash");
    clearTimeout(this.bannerTimer);
    this.bannerTimer = setTimeout(() => this.banner.classList.add("hidden"), this.kiosk ? 60000 : 15000);
    if (this.sound) this.beep();
  }

  beep() {
    try {
      const ctx = (this.audio ??= new AudioContext());
      const o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.2, ctx.currentTime);
      g.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.6);
      o.connect(g).connect(ctx.destination);
      o.start();
      o.stop(ctx.currentTime + 0.6);
    } catch (e) { /* no audio device: the banner still shows */ }
  }

  focus(a) {
    if (!a) return;
    if (a.node && this.view.focus(a.node)) this.onSelect?.(a.node);
  }

  /** Active or unacknowledged alarms, the worst and newest first. */
  shown() {
    const all = this.conn.replay && this.replayAlarms
      ? AlarmPanel.asAt(this.replayAlarms, this.conn.dataNow()) : [...this.conn.alarms.values()];
    return all
      .filter((a) => a.cleared_ms == null || a.acked_ms == null)
      .sort((a, b) => (b.cleared_ms == null) - (a.cleared_ms == null) || b.level - a.level || b.raised_ms - a.raised_ms);
  }

  /** Rows are kept per alarm and updated in place (ages tick every second): a button is
   * never re-created under an operator's click. */
  render() {
    const canAck = CAN_ACK.has(this.conn.role) && !this.conn.replay;   // a replay shows the past
    const now = this.conn.dataNow();
    this.rows ??= new Map();
    this.none ??= el("li.none", {}, t("alarm.none"));
    const shown = this.shown();
    const ids = new Set(shown.map((a) => a.id));
    for (const [id, row] of this.rows) if (!ids.has(id)) { row.li.remove(); this.rows.delete(id); }
    const lis = shown.map((a) => {
      let row = this.rows.get(a.id);
      if (!row) this.rows.set(a.id, (row = this.row(a)));
      this.update(row, a, now, canAck);
      return row.li;
    });
    if (!lis.length) this.list.replaceChildren(this.none);
    else {
      this.none.remove();
      lis.forEach((li, i) => { if (this.list.children[i] !== li) this.list.insertBefore(li, this.list.children[i] ?? null); });
    }
    this.p.head.textContent = `${t("panel.alarms")} (${lis.length})`;
  }

  row(a) {
    const row = { alarm: a };
    const span = (cls) => (row[cls] = el(`span.${cls}`));
    row.ack = el("button.ack", { onclick: (e) => { e.stopPropagation(); this.askAck(row.alarm); } }, t("alarm.ack"));
    // One layout that holds with a picture: level and place, then what happened (the widest
    // line, in words), then age and state, then the picture across the whole row.
    row.li = el("li.alarm", { "data-alarm": a.id, onclick: () => this.focus(row.alarm) },
      span("level"), span("place"), this.kiosk ? null : row.ack, span("what"),
      el("div.info", {}, span("age"), span("state")));
    return row;
  }

  update(row, a, now, canAck) {
    row.alarm = a;
    const cls = `alarm level${a.level}${a.cleared_ms != null ? " cleared" : ""}${a.acked_ms != null ? " acked" : ""}`;
    if (row.li.className !== cls) row.li.className = cls;
    const text = (k, v) => { if (row[k].textContent !== v) row[k].textContent = v; };
    text("level", t(`alarm.level${a.level}`));
    text("place", this.place(a));
    text("what", this.what(a));
    text("age", t("alarm.age", { age: age(Math.max(0, now - a.raised_ms)) }));
    text("state", a.cleared_ms != null ? t("alarm.cleared")
      : a.acked_ms != null ? t("alarm.acked", { by: a.acked_by }) : "");
    if (a.snapshot && !row.pic && !this.kiosk) {
      // The picture the server rendered when the alarm rose (framed on its node).
      const src = `api/alarms/${a.id}/snapshot`;
      row.pic = el("a.snapshot", { href: src, target: "_blank", title: t("alarm.snapshot"),
        onclick: (e) => e.stopPropagation() }, el("img.snapshot", { src, alt: t("alarm.snapshot") }));
      row.li.append(row.pic);
    }
    if (a.acked_ms != null) row.ack.remove();
    row.ack.disabled = !canAck;
    row.ack.title = canAck ? "" : t("alarm.ack.role");
  }

  askAck(a) {
    const comment = el("textarea.comment", { placeholder: t("alarm.ack.comment"), rows: 2 });
    const close = () => dialog.remove();
    const dialog = el("div.dialog#ack-dialog", {},
      el("h3", {}, `${this.place(a)} · ${this.what(a)}`),
      comment,
      el("div.buttons", {},
        el("button.send", {
          onclick: async () => {
            const r = await this.conn.command("ack_alarm", { alarm: a.id, comment: comment.value });
            close();
            this.message.textContent = r.ok ? "" : t("alarm.ack.refused", { reason: r.message });
          },
        }, t("alarm.ack.send")),
        this.onReport ? el("button.report-danger", {
          onclick: () => { close(); this.onReport({ alarm: a.id, label: `${this.place(a)} · ${this.what(a)}` }); },
        }, t("danger.report")) : null,
        el("button.cancel", { onclick: close }, t("alarm.ack.cancel"))));
    document.body.append(dialog);
    comment.focus();
  }
}
