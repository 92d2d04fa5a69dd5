"""The shift report (班报, docs/rendering.md): one shift of one day, from the alarm book, the
observation history and the alarm snapshots — an HTML page (Chinese by default) with its
images beside it, and a PDF where a converter is installed (Debian's Chromium prints it).

Contents: the shift's alarms (raised within it) with their snapshots; max / min / mean of
the key gas points (CH4 at the T0–T3 positions of AQ 1029 — upper corner, face, return,
intake — with charts); headcounts by area over the shift (and underground); equipment run
time (hours running and starts, from each machine's ``running`` series); risk levels by area
(at the shift's end, the highest, changes: the ``risk/<area>`` series) and the pre-warnings
ahead of the workings standing at its end, with the days to them at the plan rate; the hidden
dangers reported and closed in the shift and those open at its end, overdue ones first.
"""

from __future__ import annotations

import html
import logging
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

__all__ = ["Shift", "shift_window", "build_report", "write_pdf", "ReportError", "SHIFTS"]

log = logging.getLogger("minetwin.report")

#: 三八制: three eight-hour shifts, numbered from the day's first (start hour, name).
SHIFTS = ((0, "夜班"), (8, "早班"), (16, "中班"))
KEY_CATEGORIES = ("T0", "T1", "T2", "T3")

_TEXT = {
    "zh": {"title": "{mine} {day} {shift}（{start}–{end}）班报", "alarms": "本班报警",
           "title_day": "{mine} {day} 安全日报",
           "none": "本班无报警", "time": "报警时间", "cleared": "解除时间", "level": "级别",
           "place": "地点", "kind": "类型", "value": "报警内容", "ack": "确认",
           "picture": "现场图", "gas": "重点瓦斯测点", "point": "测点", "location": "位置",
           "max": "最大", "min": "最小", "mean": "平均", "limit": "报警值",
           "people": "分区域人数", "area": "区域", "rated": "核定人数", "peak": "最多人数",
           "equipment": "设备开机时间", "machine": "设备", "hours": "开机时长 (h)",
           "starts": "启动次数", "kinds": {"alarm": "报警", "power_off": "断电", "forecast": "预警",
                                             "danger": "隐患逾期"},
           "underground": "井下总人数", "generated": "生成于", "over_range": "超量程",
           "level_n": "{n}级", "risk": "风险分级管控", "risk_end": "班末等级",
           "risk_top": "本班最高", "risk_changes": "变化次数",
           "risk_levels": ("低风险", "一般风险", "较大风险", "重大风险"),
           "prewarn": "班末未解除的预警（前方预测）", "working": "工作面", "distance": "距离 (m)",
           "days": "按计划进度 (天)", "prewarn_none": "班末无未解除的预警",
           "soon": "一周内", "inside": "已进入",
           "dangers": "隐患排查治理",
           "dangers_counts": "本班上报 {reported} 项，销号/驳回 {closed} 项；班末未销号 {open} 项，其中逾期 {overdue} 项",
           "grade": "等级", "what": "隐患内容", "state": "状态", "team": "整改单位",
           "deadline": "整改期限", "overdue": "逾期", "ungraded": "待定级"},
    "en": {"title": "{mine} {day} {shift} ({start}–{end}) shift report", "alarms": "Alarms",
           "title_day": "{mine} {day} daily safety report",
           "none": "No alarms in this shift", "time": "Raised", "cleared": "Cleared",
           "level": "Level", "place": "Place", "kind": "Kind", "value": "What",
           "ack": "Acknowledged", "picture": "Picture", "gas": "Key gas points",
           "point": "Point", "location": "Location", "max": "Max", "min": "Min",
           "mean": "Mean", "limit": "Alarm at", "people": "Headcount by area", "area": "Area",
           "rated": "Rated", "peak": "Peak", "equipment": "Equipment run time",
           "machine": "Machine", "hours": "Running (h)", "starts": "Starts",
           "kinds": {"alarm": "alarm", "power_off": "power-off", "forecast": "pre-warning",
                     "danger": "hidden danger overdue"},
           "underground": "Underground", "generated": "Generated", "over_range": "over range",
           "level_n": "{n}", "risk": "Risk levels", "risk_end": "At the shift's end",
           "risk_top": "Highest in the shift", "risk_changes": "Changes",
           "risk_levels": ("low", "general", "major", "grave"),
           "prewarn": "Pre-warnings standing at the shift's end (forecasts ahead)",
           "working": "Working", "distance": "Distance (m)", "days": "At the plan rate (days)",
           "prewarn_none": "No pre-warning standing at the shift's end", "soon": "within a week",
           "inside": "inside now", "dangers": "Hidden dangers",
           "dangers_counts": "{reported} reported and {closed} closed or rejected in the shift; "
                             "{open} open at its end, {overdue} of them overdue",
           "grade": "Grade", "what": "Hidden danger", "state": "State", "team": "Team",
           "deadline": "Deadline", "overdue": "overdue", "ungraded": "ungraded"},
}


class ReportError(ValueError):
    """A bad shift or date, or nothing to read."""


@dataclass(frozen=True)
class Shift:
    day: date
    number: int                # 1 … 3
    name: str
    start_ms: int
    end_ms: int
    start: datetime
    end: datetime


def shift_window(day: date, number: int, tz: str, shifts=SHIFTS) -> Shift:
    """Shift ``number`` (1 … 3) of ``day``, or 0: the whole day (the daily report)."""
    zone = ZoneInfo(tz)
    if number == 0:
        start = datetime(day.year, day.month, day.day, tzinfo=zone)
        end = (start + timedelta(days=1, hours=2)).replace(hour=0)   # (a DST day too)
        return Shift(day, 0, "全天", int(start.timestamp() * 1000), int(end.timestamp() * 1000),
                     start, end)
    if not 1 <= number <= len(shifts):
        raise ReportError(f"shift {number}: 0 (the whole day) or 1 … {len(shifts)} "
                          f"({', '.join(n for _, n in shifts)})")
    h, name = shifts[number - 1]
    start = datetime(day.year, day.month, day.day, h, tzinfo=zone)
    nh = shifts[number][0] if number < len(shifts) else 24
    end = start + timedelta(hours=nh - h)
    return Shift(day, number, name, int(start.timestamp() * 1000), int(end.timestamp() * 1000),
                 start, end)


def _cjk_font():
    from matplotlib import font_manager

    from render.renderer import cjk_font_path
    path = cjk_font_path()
    if path is None:
        return None
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def _chart(path: Path, series: list[tuple[str, list]], ylabel: str, sh: Shift, zone,
           limit: float | None = None, step: bool = False) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    font = _cjk_font()
    if font:
        plt.rcParams["font.family"] = [font, "DejaVu Sans"]
    fig, ax = plt.subplots(figsize=(8, 2.6), dpi=110)
    for label, rows in series:
        if not rows:
            continue
        t = [datetime.fromtimestamp(r.t / 1000, zone) for r in rows]
        if hasattr(rows[0], "mean"):
            ax.fill_between(t, [r.min for r in rows], [r.max for r in rows], alpha=0.25, step=None)
            ax.plot(t, [r.mean for r in rows], label=label, lw=1.2)
        elif step:
            ax.step(t, [r.value for r in rows], where="post", label=label, lw=1.2)
        else:
            ax.plot(t, [r.value for r in rows], label=label, lw=1.2)
    if limit is not None:
        ax.axhline(limit, color="#c0392b", lw=1, ls="--")
    ax.set_xlim(sh.start, sh.end)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=zone))
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=7, ncol=4, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _stats(history, series: str, sh: Shift) -> tuple[float, float, float, int] | None:
    row = history.db.execute(
        "SELECT min(value), max(value), avg(value), count(*) FROM samples WHERE series=? AND "
        "t >= ? AND t < ?", (series, sh.start_ms, sh.end_ms)).fetchone()
    return None if not row or not row[3] else row


def _run_time(history, series: str, sh: Shift) -> tuple[float, int] | None:
    """(hours running, starts) from a 0/1 series: the state before the shift carried in, the
    last state carried to the shift's end — or to the series' newest sample, for a shift
    still running."""
    q = history.db.execute
    prev = q("SELECT value FROM samples WHERE series=? AND t < ? ORDER BY t DESC LIMIT 1",
             (series, sh.start_ms)).fetchone()
    rows = list(q("SELECT t, value FROM samples WHERE series=? AND t >= ? AND t < ? ORDER BY t",
                  (series, sh.start_ms, sh.end_ms)))
    if prev is None and not rows:
        return None
    (newest,) = q("SELECT max(t) FROM samples WHERE series=?", (series,)).fetchone()
    state = prev[0] > 0.5 if prev else None
    t_last, on_ms, starts = sh.start_ms, 0, 0
    for t, v in rows:
        if state:
            on_ms += t - t_last
        if v > 0.5 and state is False:
            starts += 1
        state, t_last = v > 0.5, t
    if state:
        on_ms += max(0, min(sh.end_ms, newest) - t_last)
    return on_ms / 3.6e6, starts


def build_report(model, alarms, history, sh: Shift, out: str | Path,
                 snapshots_dir: str | Path | None = None, lang: str = "zh",
                 dangers=None) -> dict:
    """Write ``out/index.html`` and ``out/images/``; returns what it holds. ``dangers``: the
    hidden-danger book (its ``summary(start, end)``), where there is one."""
    if lang not in _TEXT:
        raise ReportError(f"language {lang!r}: {', '.join(_TEXT)}")
    T = _TEXT[lang]
    if sh.number == 0:                       # the daily report: the same parts over the day
        T = {k: v.replace("本班", "本日").replace("班末", "日末").replace("the shift", "the day")
             .replace("this shift", "this day") if isinstance(v, str) else v for k, v in T.items()}
        T["title"] = T["title_day"]
    zone = ZoneInfo(model.mine.time_zone)
    out = Path(out)
    img = out / "images"
    img.mkdir(parents=True, exist_ok=True)
    esc = html.escape
    fmt = lambda ms: "" if ms is None else datetime.fromtimestamp(ms / 1000, zone).strftime("%H:%M:%S")  # noqa: E731

    shift_alarms = [a for a in alarms.history(sh.start_ms) if a.raised_ms < sh.end_ms]
    rows, pictures = [], []
    for a in shift_alarms:
        pic = ""
        if a.snapshot and snapshots_dir and (Path(snapshots_dir) / a.snapshot).exists():
            shutil.copyfile(Path(snapshots_dir) / a.snapshot, img / a.snapshot)
            pictures.append(a.snapshot)
            pic = f'<a href="images/{esc(a.snapshot)}"><img src="images/{esc(a.snapshot)}"></a>'
        words = alarms.record(a)            # the alarm in words (safety.wording)
        node = words["place"]
        ack = f"{esc(a.acked_by or '')} {fmt(a.acked_ms)} {esc(a.comment or '')}".strip()
        rows.append(f"<tr class='level{a.level}'><td>{fmt(a.raised_ms)}</td><td>{fmt(a.cleared_ms)}"
                    f"</td><td>{T['level_n'].format(n=a.level)}</td><td>{esc(node)}</td>"
                    f"<td>{T['kinds'].get(a.kind, a.kind)}"
                    f"</td><td>{esc(words['text']['en' if lang == 'en' else 'zh'])}</td>"
                    f"<td>{ack}</td><td>{pic}</td></tr>")
    # column widths for A4 portrait: times and kinds on one line, the words and the place wide
    cols = "".join(f"<col style='width:{w}%'>" for w in (11, 11, 5, 16, 6, 23, 14, 14))
    alarm_html = (f"<table class=alarms>{cols}<tr><th>{T['time']}</th><th>{T['cleared']}</th><th>{T['level']}</th>"
                  f"<th>{T['place']}</th><th>{T['kind']}</th><th>{T['value']}</th>"
                  f"<th>{T['ack']}</th><th>{T['picture']}</th></tr>{''.join(rows)}</table>"
                  if rows else f"<p>{T['none']}</p>")

    key = [(c, s) for c, s in sorted(model.sensors.items())
           if s.quantity.key == "ch4" and s.category in KEY_CATEGORIES]
    gas_rows, gas_charts = [], []
    for code, s in key:
        st = _stats(history, code, sh)
        if st is None:
            continue
        lo, hi, mean, _ = st
        limit = s.thresholds.upper_alarm
        # at the sensor's full scale the gas was at least that: "≥4.00 超量程", never a plain 4.00
        full = s.range[1] if s.range and s.range[1] is not None else None
        top = f"≥{hi:.2f} <small>{T['over_range']}</small>" if full is not None and hi >= full \
            else f"{hi:.2f}"
        gas_rows.append(f"<tr><td>{esc(code)}</td><td>{esc(s.location)}</td><td>{s.category}</td>"
                        f"<td{' class=over' if limit is not None and hi >= limit else ''}>{top}"
                        f"</td><td>{lo:.2f}</td><td>{mean:.2f}</td><td>{'' if limit is None else f'{limit:.2f}'}"
                        f"</td></tr>")
        name = f"gas-{code}.png"
        _chart(img / name, [(code, history.query(code, sh.start_ms, sh.end_ms - 1, 240))],
               f"CH4 {s.unit}", sh, zone, limit)
        gas_charts.append(f"<figure><img src='images/{name}'><figcaption>{esc(code)} "
                          f"{esc(s.location)}</figcaption></figure>")

    area_rows, series = [], []
    for code, a in sorted(model.areas.items()):
        st = _stats(history, f"headcount/{code}", sh)
        if st is None:
            continue
        area_rows.append(f"<tr><td>{esc(a.name)}</td><td>{a.rated_headcount}</td>"
                         f"<td{' class=over' if st[1] > a.rated_headcount else ''}>{st[1]:g}</td></tr>")
        series.append((a.name, history.query(f"headcount/{code}", sh.start_ms, sh.end_ms - 1, 2000)))
    st = _stats(history, "headcount/underground", sh)
    if st is not None:
        area_rows.insert(0, f"<tr><td>{T['underground']}</td><td></td><td>{st[1]:g}</td></tr>")
        series.insert(0, (T["underground"], history.query("headcount/underground", sh.start_ms,
                                                           sh.end_ms - 1, 2000)))
    if series:
        _chart(img / "headcount.png", series, T["people"], sh, zone, step=True)

    eq_rows = []
    for eid, e in sorted(model.equipment.items()):
        rt = _run_time(history, f"{eid}/running", sh)
        if rt is not None:
            eq_rows.append(f"<tr><td>{esc(e.name)}</td><td>{rt[0]:.2f}</td><td>{rt[1]}</td></tr>")

    # risk pre-control (#22.6): each area's level at the shift's end, its highest in the
    # shift and how often it changed (the series risk/<area>); the pre-warnings ahead of the
    # workings still standing at its end, with the days to them at the plan rate
    colors = ("#2f80ed", "#c9a227", "#e67e22", "#c0392b")
    risk_rows = []
    for code, a in sorted(model.areas.items()):
        series_k = f"risk/{code}"
        end = history.db.execute("SELECT value FROM samples WHERE series=? AND t < ? ORDER BY t "
                                 "DESC LIMIT 1", (series_k, sh.end_ms)).fetchone()
        if end is None:
            continue
        st = _stats(history, series_k, sh)
        top = max(int(end[0]), int(st[1])) if st else int(end[0])
        n = st[3] if st else 0
        lv = int(end[0])
        risk_rows.append((-lv, -top, a.name, f"<tr><td>{esc(a.name)}</td><td style='color:{colors[lv]};"
                          f"font-weight:600'>{T['risk_levels'][lv]}</td><td style='color:{colors[top]}'>"
                          f"{T['risk_levels'][top]}</td><td>{n}</td></tr>"))
    risk_html = "".join(r[-1] for r in sorted(risk_rows))
    standing = [a for a in alarms.history(0) if a.kind == "forecast" and a.raised_ms < sh.end_ms
                and (a.cleared_ms is None or a.cleared_ms >= sh.end_ms)]
    # one row per working and target: its most severe line (a zone's notice line stands
    # beside its protective distance once both are crossed)
    worst = {}
    for a in standing:
        k = (a.point, a.rule.rsplit("/", 1)[-1].partition("@")[0])
        if k not in worst or a.level > worst[k].level:
            worst[k] = a
    standing = sorted(worst.values(), key=lambda a: (-a.level, a.value))
    pre_rows = []
    for a in standing:
        kind, _, wid = a.point.partition(":")
        rate = (model.longwalls[wid].plan_m_per_day if kind == "face" and wid in model.longwalls
                else model.headings[wid].plan_m_per_day if wid in model.headings else 0)
        days = a.value / rate if rate else None
        words = alarms.record(a)
        soon = days is not None and days <= 7
        pre_rows.append(f"<tr class='prewarn level{a.level}'><td>{esc(words['place'])}</td>"
                        f"<td>{esc(words['text']['en' if lang == 'en' else 'zh'])}</td>"
                        f"<td>{a.value:.0f}</td><td{' class=over' if soon else ''}>"
                        + (T["inside"] if a.value <= 0 else "" if days is None else
                           f"{days:.1f}" + (f" ({T['soon']})" if soon else "")) + "</td></tr>")
    pre_html = (f"<table><tr><th>{T['working']}</th><th>{T['value']}</th><th>{T['distance']}</th>"
                f"<th>{T['days']}</th></tr>{''.join(pre_rows)}</table>" if pre_rows
                else f"<p>{T['prewarn_none']}</p>")

    # hidden dangers (#22.6): reported and closed in the shift, open at its end (overdue first)
    hd = dangers.summary(sh.start_ms, sh.end_ms) if dangers is not None else None
    hd_html = ""
    if hd is not None:
        key = "en" if lang == "en" else "zh"
        hd_rows = "".join(
            f"<tr class='danger{' overdue' if r['overdue'] else ''}'><td>#{r['id']}</td>"
            f"<td style='color:{colors[('blue', 'yellow', 'orange', 'red').index(r['risk'])] if r['risk'] else '#555'};"
            f"font-weight:600'>{esc(r['level_name'][key]) if r['level_name'] else T['ungraded']}</td>"
            f"<td>{esc(r['title'])}</td><td>{esc(r['area_name'])}</td><td>{esc(r['state_name'][key])}</td>"
            f"<td>{esc(r['team'])}</td><td{' class=over' if r['overdue'] else ''}>"
            f"{'' if r['deadline_ms'] is None else datetime.fromtimestamp(r['deadline_ms'] / 1000, zone).strftime('%m-%d %H:%M')}"
            f"{(' ' + T['overdue']) if r['overdue'] else ''}</td></tr>" for r in hd["open"])
        hd_html = (f"<h3>{T['dangers']}</h3><p>" + T["dangers_counts"].format(**{k: hd[k] for k in ("reported", "closed", "overdue")}, open=len(hd["open"]))
                   + "</p>" + (f"<table><tr><th>#</th><th>{T['grade']}</th><th>{T['what']}</th><th>{T['area']}</th>"
                               f"<th>{T['state']}</th><th>{T['team']}</th><th>{T['deadline']}</th></tr>{hd_rows}</table>"
                               if hd_rows else ""))

    title = T["title"].format(mine=model.mine.name, day=sh.day.isoformat(), shift=sh.name,
                              start=sh.start.strftime("%H:%M"), end=sh.end.strftime("%H:%M"))
    page = f"""<!doctype html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{esc(title)}</title>
<style>
@page {{ size: A4 portrait; margin: 14mm 12mm; }}
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 0; color: #222; }}
table.alarms {{ table-layout: fixed; }} table.alarms td {{ overflow-wrap: anywhere; }}
table.alarms td:nth-child(-n+3), table.alarms td:nth-child(5) {{ white-space: nowrap; overflow-wrap: normal; }}
td small {{ font-size: 10px; }}
h1 {{ font-size: 20px; }} h2 {{ font-size: 16px; border-bottom: 2px solid #444; margin-top: 28px; }}
table {{ border-collapse: collapse; width: 100%; font-size: 12px; }}
th, td {{ border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; }}
th {{ background: #eee; }} td.over, tr.level3 td:first-child {{ color: #c0392b; font-weight: 600; }}
td img {{ width: 100%; }} figure {{ margin: 8px 0; page-break-inside: avoid; }}
figure img, p > img {{ width: 100%; max-width: 880px; }} figcaption {{ font-size: 11px; color: #555; }}
tr {{ page-break-inside: avoid; }}
</style></head><body>
<h1>{esc(title)}</h1>
<p>{T['generated']} {datetime.now(zone).strftime('%Y-%m-%d %H:%M')}</p>
<h2>{T['alarms']} ({len(shift_alarms)})</h2>
{alarm_html}
<h2>{T['gas']}</h2>
<table><tr><th>{T['point']}</th><th>{T['location']}</th><th>T</th><th>{T['max']}</th>
<th>{T['min']}</th><th>{T['mean']}</th><th>{T['limit']}</th></tr>{''.join(gas_rows)}</table>
{''.join(gas_charts)}
<h2>{T['people']}</h2>
<table><tr><th>{T['area']}</th><th>{T['rated']}</th><th>{T['peak']}</th></tr>{''.join(area_rows)}</table>
{"<p><img src='images/headcount.png'></p>" if series else ""}
<h2>{T['risk']}</h2>
<table><tr><th>{T['area']}</th><th>{T['risk_end']}</th><th>{T['risk_top']}</th><th>{T['risk_changes']}</th></tr>{risk_html}</table>
<h3>{T['prewarn']}</h3>
{pre_html}
{hd_html}
<h2>{T['equipment']}</h2>
<table><tr><th>{T['machine']}</th><th>{T['hours']}</th><th>{T['starts']}</th></tr>{''.join(eq_rows)}</table>
</body></html>
"""
    (out / "index.html").write_text(page, encoding="utf-8")
    return {"html": str(out / "index.html"), "alarms": [a.id for a in shift_alarms],
            "pictures": pictures, "gas_points": len(gas_rows), "areas": len(area_rows),
            "equipment": len(eq_rows), "risk_areas": len(risk_rows),
            "prewarnings": [a.id for a in standing],
            "dangers": None if hd is None else {"reported": hd["reported"], "closed": hd["closed"],
                                                "open": [r["id"] for r in hd["open"]],
                                                "overdue": hd["overdue"]}}


def write_pdf(html_path: str | Path, pdf_path: str | Path, timeout_s: float = 120) -> bool:
    """Print the report with Debian's Chromium (headless) where it is installed; False
    where there is no converter."""
    exe = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser",
                            "/usr/bin/google-chrome") if Path(p).exists()), None)
    if exe is None:
        return False
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-pdf-header-footer",
           f"--print-to-pdf={Path(pdf_path).resolve()}", Path(html_path).resolve().as_uri()]
    r = subprocess.run(cmd, capture_output=True, timeout=timeout_s)
    ok = r.returncode == 0 and Path(pdf_path).exists() and Path(pdf_path).stat().st_size > 0
    if not ok:
        log.warning("PDF: %s", r.stderr.decode(errors="replace")[-500:])
    return ok
