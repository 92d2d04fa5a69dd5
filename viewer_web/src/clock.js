// Times as the mine reads them: in the mine's time zone (GET /api/mine "time_zone"), written
// the Chinese (and ISO) way, 2026-12-02 08:15:30 — never this PC's zone or a US format.

let zone = "Asia/Shanghai";

export function setTimeZone(z) {
  try { new Intl.DateTimeFormat("en", { timeZone: z }); zone = z; } catch (e) { /* keep the default */ }
}

export function timeZone() { return zone; }

const formats = new Map();

function parts(ms) {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
    formats.set(zone, f);
  }
  return Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
}

/** "2026-12-02 08:15:30"; { date: false } → "08:15:30"; { seconds: false } drops them. */
export function fmtTime(ms, { date = true, seconds = true } = {}) {
  if (ms == null || !Number.isFinite(ms)) return "—";
  const p = parts(ms);
  const hm = `${p.hour}:${p.minute}${seconds ? `:${p.second}` : ""}`;
  return date ? `${p.year}-${p.month}-${p.day} ${hm}` : hm;
}
