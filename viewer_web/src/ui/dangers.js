// Hidden dangers (隐患排查治理, issue #22): the open items with their grade, place, state and
// deadline (overdue ones in red, first), each one's steps and photos, and the next steps as
// buttons — report from the details panel (a node, where it is) or from an alarm; assess,
// assign, rectify, verify, close, reject, comment. The server decides who may take a step
// (docs/dangers.md): a button this token's role cannot use is disabled and says why, and a
// refusal (another person's duty, one's own rectification) is shown as the server wrote it.
import { fmtTime } from "../clock.js";
import { language, t } from "../strings.js";
import { el, fill, panel } from "./dom.js";
import { RISK_COLORS } from "./risk.js";

const LEVEL_INDEX = { blue: 0, yellow: 1, orange: 2, red: 3 };
const css = (c) => `#${c.toString(16).padStart(6, "0")}`;
/** Photos are shrunk to this many pixels on their long side before they are sent. */
const PHOTO_PX = 1600;
/** The next steps of an item in each state. */
const NEXT = {
  reported: ["assess", "reject"], assessed: ["assign", "reject"], assigned: ["rectify"],
  rectified: ["verify"], verified: ["close"], closed: [], rejected: [],
};

export class DangerPanel {
  constructor({ conn, view, onSelect }) {
    this.conn = conn;
    this.view = view;
    this.onSelect = onSelect;
    this.items = new Map();          // id -> record
    this.catalog = null;             // grades, teams, steps' roles, hazards (GET /api/dangers)
    this.openId = null;              // the item whose details are shown
    this.details = null;             // its record with steps
    this.filter = "open";
    this.p = panel("dangers", t("panel.dangers"));
    this.summary = el("div.danger-summary");
    this.filterSel = el("select.danger-filter", { onchange: () => { this.filter = this.filterSel.value; this.load(); } },
      ["open", "overdue", "closed", "all"].map((f) => el("option", { value: f }, t(`danger.filter.${f}`))));
    this.exports = el("span.danger-export", {},
      el("a", { href: "api/dangers/export.csv", download: "dangers.csv" }, "CSV"), " · ",
      el("a", { href: "api/dangers/export.xlsx", download: "dangers.xlsx" }, "XLSX"));
    this.list = el("ul.danger-list");
    this.message = el("div.danger-message");
    this.p.body.append(el("div.danger-head", {}, this.filterSel, this.exports), this.summary,
      this.message, this.list);
    conn.addEventListener("danger", (e) => this.changed(e.detail));
    conn.addEventListener("auth", () => this.load());
    setInterval(() => this.render(), 30000);          // deadlines pass on their own
    this.load();
  }

  get root() { return this.p.root; }

  query() {
    const lang = language() === "en" ? "&lang=en" : "";
    return { open: "?open=1", overdue: "?overdue=true", closed: "?state=closed,rejected", all: "?" }[this.filter] + lang;
  }

  async load() {
    try {
      const r = await fetch(`api/dangers${this.query()}`);
      if (!r.ok) return;
      const body = await r.json();
      this.catalog = body;
      this.items = new Map(body.dangers.map((d) => [d.id, d]));
      const q = this.query().replace(/^\?/, "");
      for (const a of this.exports.querySelectorAll("a")) a.href = `${a.href.split("?")[0]}?${q}`;
      this.render();
    } catch (e) { console.warn("dangers:", e.message); }
  }

  changed(d) {
    const keep = { open: d.closed_ms == null, overdue: d.overdue, closed: d.closed_ms != null, all: true }[this.filter];
    if (keep) this.items.set(d.id, d); else this.items.delete(d.id);
    if (this.openId === d.id) this.loadDetails(d.id);
    this.render();
  }

  name(o) { return o ? (language() === "en" ? o.en : o.zh) : ""; }

  grade(d) {
    const lv = this.catalog?.levels.find((l) => l.id === d.level);
    return lv ? { name: this.name(lv), color: RISK_COLORS[LEVEL_INDEX[lv.risk]] } : null;
  }

  render() {
    const items = [...this.items.values()].sort((a, b) => (b.overdue - a.overdue) || (b.id - a.id));
    const open = items.filter((d) => d.closed_ms == null);
    const late = items.filter((d) => d.overdue);
    fill(this.summary, t("danger.summary", { open: open.length, late: late.length }));
    this.summary.classList.toggle("late", late.length > 0);
    fill(this.list, items.length ? items.map((d) => this.row(d)) : el("li.none", {}, t("danger.none")));
  }

  row(d) {
    const g = this.grade(d);
    const deadline = d.deadline_ms != null && d.closed_ms == null && d.state === "assigned"
      ? el("span.deadline", {}, t(d.overdue ? "danger.overdue" : "danger.deadline", { at: fmtTime(d.deadline_ms, { seconds: false }) })) : null;
    const li = el(`li.danger${d.overdue ? ".late" : ""}`, { "data-danger": d.id },
      el("div.line", { onclick: () => this.toggle(d.id) },
        el("span.grade", { style: g ? { background: css(g.color) } : {} }, g ? g.name : t("danger.ungraded")),
        el("span.title", {}, `#${d.id} ${d.title}`)),
      el("div.info", {}, el("span.state", {}, this.name(d.state_name)),
        el("span.where", {}, d.area_name ?? d.area ?? ""), d.team ? el("span.team", {}, d.team) : null, deadline));
    if (this.openId === d.id) li.append(this.detailBox(d));
    return li;
  }

  toggle(id) {
    this.openId = this.openId === id ? null : id;
    this.details = null;
    if (this.openId != null) this.loadDetails(id);
    this.render();
  }

  async loadDetails(id) {
    const r = await this.conn.command("danger_get", { danger: id });
    if (r.ok && this.openId === id) { this.details = r.data.danger; this.render(); }
  }

  detailBox(d) {
    const full = this.details?.id === d.id ? this.details : d;
    const steps = (full.steps ?? []).map((s) => el("li", {},
      el("span.time", {}, fmtTime(s.time_ms, { seconds: false })), " ",
      el("b", {}, this.name(this.catalog?.step_names?.[s.step]) || s.step), " ",
      s.person || t("danger.system"), s.comment ? ` — ${s.comment}` : "",
      s.step === "verify" && s.detail?.passed === false ? el("span.failed", {}, ` (${t("danger.failed")})`) : null));
    const files = full.files.map((f) => {
      const href = `api/dangers/${d.id}/files/${f.sha256}`;
      return el("a.file", { href, target: "_blank", title: f.name },
        f.mime.startsWith("image/") ? el("img", { src: href, alt: f.name }) : f.name);
    });
    const role = this.conn.role;
    const allowed = (step) => !this.catalog || (this.catalog.steps[step] ?? []).includes(role);
    const button = (step) => el(`button.step.step-${step}`, {
      disabled: !allowed(step), title: allowed(step) ? "" : t("danger.role", { roles: (this.catalog?.steps[step] ?? []).join(", ") }),
      onclick: () => this.ask(step, full),
    }, this.name(this.catalog?.step_names?.[step]) || step);
    return el("div.details", {},
      d.description ? el("p.desc", {}, d.description) : null,
      d.node ? el("button.focus", { onclick: () => { this.view.focus(d.node, 40); this.onSelect?.(d.node); } }, t("danger.focus")) : null,
      d.measures ? el("p.measures", {}, `${t("danger.measures")}：${d.measures}`) : null,
      files.length ? el("div.files", {}, files) : null,
      el("ol.steps", {}, steps),
      el("div.buttons", {}, ...NEXT[d.state].map(button), button("comment")));
  }

  /** The form of one step; sends it and shows the server's answer. */
  ask(step, d) {
    const fields = [];
    const add = (label, input) => { fields.push(el("label", {}, label, input)); return input; };
    const levels = this.catalog?.levels ?? [];
    let level, hazard, team, days, measures, passed, title, desc;
    if (step === "report") {
      title = add(t("danger.f.title"), el("input.title", { maxLength: 200 }));
      desc = add(t("danger.f.description"), el("textarea.description", { rows: 3, maxLength: 2000 }));
      hazard = add(t("danger.f.hazard"), el("select.hazard", {}, el("option", { value: "" }, "—"),
        Object.entries(this.catalog?.hazards ?? {}).map(([k, v]) => el("option", { value: k }, this.name(v)))));
      level = add(t("danger.f.level"), el("select.level", {}, el("option", { value: "" }, "—"),
        levels.map((l) => el("option", { value: l.id }, this.name(l)))));
    }
    if (step === "assess") {
      level = add(t("danger.f.level"), el("select.level", {}, levels.map((l) => el("option", { value: l.id, selected: l.id === d.level }, this.name(l)))));
    }
    if (step === "assign") {
      const teams = this.catalog?.teams ?? [];
      team = add(t("danger.f.team"), teams.length
        ? el("select.team", {}, teams.map((x) => el("option", { value: x }, x))) : el("input.team", { maxLength: 100 }));
      const lv = levels.find((l) => l.id === d.level);
      days = add(t("danger.f.days"), el("input.days", { type: "number", min: "0.1", step: "0.5", value: String(lv?.days ?? 7) }));
      measures = add(t("danger.f.measures"), el("textarea.measures", { rows: 2, maxLength: 2000 }));
    }
    if (step === "verify") {
      passed = add(t("danger.f.passed"), el("select.passed", {},
        el("option", { value: "1" }, t("danger.pass")), el("option", { value: "0" }, t("danger.fail"))));
    }
    const comment = add(t("danger.f.comment"), el("textarea.comment", { rows: 2, maxLength: 2000 }));
    const file = add(t("danger.f.files"), el("input.files", { type: "file", multiple: true, accept: "image/*,application/pdf" }));
    const note = el("div.note");
    const close = () => dialog.remove();
    const send = el("button.send", {
      onclick: async () => {
        send.disabled = true;
        const args = step === "report" ? { ...this.reportAt } : { danger: d.id };
        if (title) args.title = title.value;
        if (desc?.value) args.description = desc.value;
        if (hazard?.value) args.hazard = hazard.value;
        if (level?.value) args.level = level.value;
        if (team) args.team = team.value;
        if (days) args.days = Number(days.value);
        if (measures?.value) args.measures = measures.value;
        if (passed) args.passed = passed.value === "1";
        if (comment.value) args.comment = comment.value;
        try {
          const files = await Promise.all([...file.files].map((f) => shrink(f, this.catalog?.attachments?.max_bytes)));
          if (files.length) args.files = files;
        } catch (e) { note.textContent = e.message; send.disabled = false; return; }
        const r = await this.conn.command(`danger_${step}`, args);
        send.disabled = false;
        if (!r.ok) {
          const reason = language() !== "en" && r.data?.message_zh ? r.data.message_zh : r.message;
          note.textContent = t("danger.refused", { reason });
          return;
        }
        close();
        this.message.textContent = "";
        if (r.data?.danger) this.changed(r.data.danger);
      },
    }, t("danger.send"));
    const what = step === "report" ? this.reportAt?.label : `#${d.id} ${d.title}`;
    const dialog = el(`div.dialog#danger-dialog`, { "data-step": step },
      el("h3", {}, `${this.name(this.catalog?.step_names?.[step]) || step} · ${what ?? ""}`),
      ...fields, note, el("div.buttons", {}, send, el("button.cancel", { onclick: close }, t("alarm.ack.cancel"))));
    document.body.append(dialog);
    (title ?? comment).focus();
  }

  /** Report a hidden danger at a node (with where it is), or about an alarm. */
  report({ node = null, position = null, alarm = null, label = "" } = {}) {
    this.reportAt = { label };
    if (node) this.reportAt.node = node;
    if (position) this.reportAt.position = position.map(Number);
    if (alarm != null) this.reportAt.alarm = alarm;
    this.p.root.classList.remove("collapsed");
    this.ask("report", null);
    delete this.reportAt.label;
  }
}

/** A chosen file as the command carries it ({name, data}); a large photo is drawn again at
 * PHOTO_PX on its long side as a JPEG, so it fits one message. */
async function shrink(f, maxBytes = 900000) {
  let blob = f;
  if (f.type.startsWith("image/") && f.size > maxBytes) {
    const img = await createImageBitmap(f);
    const k = Math.min(1, PHOTO_PX / Math.max(img.width, img.height));
    const c = document.createElement("canvas");
    c.width = Math.round(img.width * k); c.height = Math.round(img.height * k);
    c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
    blob = await new Promise((ok) => c.toBlob(ok, "image/jpeg", 0.85));
  }
  if (blob.size > maxBytes) throw new Error(t("danger.toobig", { name: f.name }));
  const name = blob === f ? f.name : `${f.name.replace(/\.[^.]*$/, "")}.jpg`;
  return { name, data: new Uint8Array(await blob.arrayBuffer()) };
}
