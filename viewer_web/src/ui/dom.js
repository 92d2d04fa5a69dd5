// A tiny element builder: el("div.panel#alarms", {onclick}, child, "text", …).
export function el(spec, attrs = {}, ...children) {
  const tag = /^[a-z0-9]*/i.exec(spec)[0];
  const e = document.createElement(tag || "div");
  const classes = [...spec.matchAll(/\.([^.#]+)/g)].map((m) => m[1]);
  const id = /#([^.#]+)/.exec(spec)?.[1];
  if (classes.length) e.className = classes.join(" ");
  if (id) e.id = id;
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "style") Object.assign(e.style, v);
    else if (k in e && typeof v !== "string") e[k] = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/** A collapsible panel with a title; returns {root, body}. */
/** Replaces an element's children, skipping null/false ones (conditional parts). */
export function fill(parent, ...children) {
  parent.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

export function panel(id, title) {
  const body = el("div.body");
  const head = el("h2", { onclick: () => root.classList.toggle("collapsed") }, title);
  const root = el(`section.panel#${id}`, {}, head, body);
  return { root, body, head };
}

/** A number as a dispatcher reads it (as twin.sensor_types.fmt_reading): whole numbers as
 * they are, else two decimals under 10 (0.46, 1.50), one under 100 (25.4), none above. */
export function fmt(v) {
  if (typeof v === "number" && Number.isInteger(v)) return String(v);
  return fmtReading(v);
}

/** A measured value (with a unit): always to its precision, 4 → "4.00", 25 → "25.0". */
export function fmtReading(v) {
  if (typeof v !== "number") return String(v);
  if (!Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  return v.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2);
}
