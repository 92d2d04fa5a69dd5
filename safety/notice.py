"""The written forecast notice (地质预测预报通知单) for one face or heading: what lies ahead of it
(twin.geology.forecast), how far and when at the plan rate, which warning lines it has crossed
and what each asks for, with the blanks a notice is signed on — an HTML page in Chinese or
English (``minetwin risk notice`` prints it to PDF where Chromium is installed).
"""

from __future__ import annotations

import html
from datetime import date, timedelta

from .risk import AHEAD_HAZARDS, LEVELS, LEVEL_NAMES, LINE_WORDS

__all__ = ["forecast_notice", "LINE_ACTIONS"]

#: What a crossed line asks of the working: MineTwin's wording of the usual measures
#: (煤矿防治水细则, 防治煤与瓦斯突出细则); *verify* against the mine's own prevention plans.
LINE_ACTIONS = {
    ("water", "warning"): ("加强水情观测，准备探放水设备", "watch the water, ready the probe drilling"),
    ("water", "probe"): ("先探后掘（采），超前探放水，探明前不得推进",
                         "probe before advancing: no advance until the water is proven"),
    ("fault", "notice"): ("下发预报，准备超前探测与支护材料", "notice issued: ready probing and support"),
    ("fault", "near"): ("超前钻探，加强支护，控制采高与推进速度",
                        "probe ahead, reinforce support, limit height and speed"),
    ("outburst", "notice"): ("核查区域防突措施", "check the regional outburst measures"),
    ("outburst", "protective"): ("区域防突措施效果检验合格后方可推进",
                                 "advance only after the regional measures are verified"),
}
_KIND_TEXT = {"zh": {"title": "地质预测预报通知单", "no": "编号", "working": "工作面",
                     "seam": "煤层", "advanced": "已推进", "rate": "计划进度", "issued": "发布日期",
                     "ahead": "前方 {reach:.0f} m 内预测", "kind": "类别", "name": "名称",
                     "distance": "距离 (m)", "days": "约 (天)", "date": "预计日期",
                     "detail": "说明", "line": "已进入的警戒线", "action": "要求",
                     "none": "前方 {reach:.0f} m 内无预测的地质异常", "inside": "已进入",
                     "sign": ("编制", "审核", "地测副总", "总工程师"), "m_day": "m/天",
                     "throw": "落差 {t:g} m（± {s:g} m），倾角 {d:g}°", "zone": "判据：{c}",
                     "thick": "煤厚 {a:g} → {b:g} m（95% 区间 {w:g} m）",
                     "und": "底板偏离 {d:+g} m（95% 区间 {w:g} m）",
                     "basis": "依据：钻孔、揭露点与灾害区域（MineTwin 地质模型），距离沿推进方向量取。"},
              "en": {"title": "Geological forecast notice", "no": "No.", "working": "Working",
                     "seam": "Seam", "advanced": "Advanced", "rate": "Plan rate",
                     "issued": "Issued", "ahead": "Forecast for the next {reach:.0f} m",
                     "kind": "Kind", "name": "Name", "distance": "Distance (m)",
                     "days": "Days", "date": "Expected", "detail": "Detail",
                     "line": "Lines crossed", "action": "Required",
                     "none": "Nothing forecast in the next {reach:.0f} m", "inside": "inside now",
                     "sign": ("Prepared", "Checked", "Deputy chief (geology)", "Chief engineer"),
                     "m_day": "m/day", "throw": "throw {t:g} m (± {s:g} m), dip {d:g}°",
                     "zone": "criterion: {c}", "thick": "thickness {a:g} → {b:g} m (band {w:g} m)",
                     "und": "floor off grade {d:+g} m (band {w:g} m)",
                     "basis": "Basis: boreholes, exposures and hazard zones (MineTwin's geological "
                              "model); distances along the advance."}}


def _detail(a: dict, T: dict) -> str:
    k = a["kind"]
    if k == "fault":
        return T["throw"].format(t=a["throw_m"], s=a["throw_sigma_m"], d=a["dip_deg"])
    if k == "thickness":
        return T["thick"].format(a=a["thickness_here_m"], b=a["thickness_m"], w=a["thickness_band95_m"])
    if k == "undulation":
        return T["und"].format(d=a["departure_m"], w=a["floor_band95_m"])
    c = (a.get("criterion_zh") if T is _KIND_TEXT["zh"] else None) or a.get("criterion", "")
    return T["zone"].format(c=c) if c else ""


def forecast_notice(forecast: dict, lines, mine_name: str, issued: date, lang: str = "zh") -> str:
    """The notice of one forecast (a Forecast.record()) against the warning ``lines``."""
    T = _KIND_TEXT["en" if lang == "en" else "zh"]
    zh = lang != "en"
    esc = html.escape
    f = forecast
    rows = []
    for a in f["ahead"]:
        crossed = sorted((w for w in lines if w.hazard == a["kind"] and a["distance_m"] <= w.distance_m),
                         key=lambda w: -w.level)
        kz, ke = AHEAD_HAZARDS.get(a["kind"], (a["kind"], a["kind"]))
        when = "" if a["days"] is None else (issued + timedelta(days=a["days"])).isoformat()
        line_txt = "<br>".join(f"{LINE_WORDS.get(w.id, (w.id, w.id))[0 if zh else 1]} {w.distance_m:g} m"
                               for w in crossed)
        act = "<br>".join(esc(LINE_ACTIONS[(w.hazard, w.id)][0 if zh else 1])
                          for w in crossed if (w.hazard, w.id) in LINE_ACTIONS)
        level = LEVELS[crossed[0].level] if crossed else ""
        dist = T["inside"] if a["distance_m"] <= 0 else f"{a['distance_m']:.0f}"
        days = "" if a["days"] is None or a["distance_m"] <= 0 else f"{a['days']:.0f}"
        rows.append(f"<tr class='{level}'><td>{esc(kz if zh else ke)}</td><td>{esc(a['name'])}</td>"
                    f"<td>{dist}</td><td>{days}</td><td>{when if a['distance_m'] > 0 else ''}</td>"
                    f"<td>{esc(_detail(a, T))}</td><td>{line_txt}</td><td>{act}</td></tr>")
    no = f"{f['working'].partition(':')[2]}-{issued.strftime('%Y%m%d')}"
    cols = "".join(f"<col style='width:{w}%'>" for w in (11, 11, 7, 5, 10, 22, 11, 23))
    table = (f"<table>{cols}<tr><th>{T['kind']}</th><th>{T['name']}</th><th>{T['distance']}</th>"
             f"<th>{T['days']}</th><th>{T['date']}</th><th>{T['detail']}</th><th>{T['line']}</th>"
             f"<th>{T['action']}</th></tr>{''.join(rows)}</table>" if rows
             else f"<p>{T['none'].format(reach=f['reach_m'])}</p>")
    colors = {"yellow": "#fff3c4", "orange": "#ffe0c2", "red": "#ffd0d0"}
    css = "".join(f"tr.{k} td {{ background: {v}; }} " for k, v in colors.items())
    names = {"yellow": ("黄", "yellow"), "orange": ("橙", "orange"), "red": ("红", "red")}
    legend = (("行底色：" if zh else "row colour: ") +
              " · ".join(f"{names[c][0 if zh else 1]} {LEVEL_NAMES[c][0 if zh else 1]}"
                         for c in LEVELS[1:]))
    sign = "".join(f"<td>{s}：</td>" for s in T["sign"])
    return f"""<!doctype html>
<html lang="{'zh-CN' if zh else 'en'}"><head><meta charset="utf-8"><title>{esc(T['title'])} {esc(no)}</title>
<style>
@page {{ size: A4 portrait; margin: 14mm 12mm; }}
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; color: #222; margin: 0; }}
h1 {{ font-size: 22px; text-align: center; margin: 0 0 4px; }} .mine {{ text-align: center; font-size: 14px; }}
table {{ border-collapse: collapse; width: 100%; font-size: 12px; margin-top: 8px; table-layout: fixed; }}
th, td {{ border: 1px solid #999; padding: 4px 6px; text-align: left; vertical-align: top; }}
th {{ background: #eee; }} {css}
table.head {{ table-layout: auto; }} table.head td {{ border: none; font-size: 13px; }} table.sign td {{ border: none; height: 36px; width: 25%; }}
.basis {{ font-size: 11px; color: #555; margin-top: 6px; }}
</style></head><body>
<h1>{esc(T['title'])}</h1>
<div class="mine">{esc(mine_name)} · {T['no']} {esc(no)}</div>
<table class="head"><tr><td>{T['working']}：{esc(f['name'])}</td><td>{T['seam']}：{esc(f['seam'])}</td>
<td>{T['advanced']}：{f['advanced_m']:.1f} m</td><td>{T['rate']}：{f['rate_m_per_day']:g} {T['m_day']}</td>
<td>{T['issued']}：{issued.isoformat()}</td></tr></table>
<h2 style="font-size:15px">{T['ahead'].format(reach=f['reach_m'])}</h2>
{table}
<p class="basis">{T['basis']} ({legend})</p>
<table class="sign"><tr>{sign}</tr></table>
</body></html>
"""
