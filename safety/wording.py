"""Alarms in plain language, from the rule that raised them (docs/alarms.md "Wording"): what a
dispatcher reads on the banner, the list, the wall, the alarm's picture and the shift report —
the quantity, its value and unit against the limit, or what happened to whom:

    甲烷 1.60 % ≥ 1.00 %（断电）     SOS 求救     超员 9/8 人     传感器数值不变 150 次

One function, in Chinese (the default) and English; every surface uses it.
"""

from __future__ import annotations

from typing import Any, Mapping

from twin import MineModel, fmt_reading, quantity_of

__all__ = ["alarm_text", "alarm_words", "fmt_value", "place_name"]

fmt_value = fmt_reading          # one way to write a reading (twin.sensor_types)


#: Units read in whole numbers (gas in parts per million: "24 ppm", not "24.0 ppm").
_WHOLE = {"ppm"}


def _num(v: float, unit: str | None) -> str:
    if not unit:
        return fmt_value(v)
    return f"{v:.0f} {unit}" if unit in _WHOLE else f"{fmt_value(v)} {unit}"


def alarm_words(rule_id: str, model: MineModel | None = None) -> tuple[str, str, str, str | None]:
    """(quantity key, Chinese name, English name, unit) of the rule an alarm came from."""
    point, _, rest = rule_id.partition("/")
    quantity = rest.rsplit("/", 1)[0] if "/" in rest else rest
    s = model.sensors.get(point) if model is not None else None
    if s is not None:
        q = quantity_of(s.type_code)
        unit = q.unit or (s.unit or None)
        return q.key, q.name, q.en or q.key.replace("_", " "), unit     # (the code table's)
    names = {"ch4": ("甲烷", "CH4", "%"), "graham": ("格雷厄姆指数", "Graham ratio", None),
             "graham_trend": ("格雷厄姆指数日增", "Graham ratio rise a day", None),
             "support_resistance": ("支架压力", "support leg pressure", "MPa"),
             "weighting": ("周期来压 工作面平均压力", "periodic weighting: face pressure", "MPa"),
             "roof_separation_rate": ("顶板离层速度", "roof separation rate", "mm/d")}
    zh, en, unit = names.get(quantity, (quantity, quantity, None))
    return quantity, zh, en, unit


def alarm_text(a: Mapping[str, Any] | Any, model: MineModel | None = None,
               lang: str = "zh") -> str:
    """One alarm record (an Alarm or its dict) in words, in ``lang`` ("zh" or "en")."""
    get = a.get if isinstance(a, Mapping) else (lambda k, d=None: getattr(a, k, d))
    rule_id, kind = str(get("rule", "")), str(get("kind", "alarm"))
    value, limit = float(get("value", 0.0)), float(get("threshold", 0.0))
    peak = get("peak")
    name = rule_id.rsplit("/", 1)[-1]
    quantity, zh_name, en_name, unit = alarm_words(rule_id, model)
    zh = lang != "en"
    n, lim = fmt_value(value), fmt_value(limit)
    vi, li = f"{value:.0f}", f"{limit:.0f}"          # people, seconds, readings: whole numbers
    special = {
        "sos": ("SOS 求救", "SOS call"),
        "overcrowded": (f"超员 {vi}/{li} 人", f"overcrowded {vi}/{li} people"),
        "overtime": (f"超时下井 {value:.1f} 小时（限 {limit:g} 小时）",
                     f"underground {value:.1f} h (limit {limit:g} h)"),
        "restricted area": ("进入限制区域", "in a restricted area"),
        "reader offline": ("定位基站离线", "reader offline"),
        "stale": (f"无数据 {vi} 秒（限 {li} 秒）", f"no data for {vi} s (limit {li} s)"),
        "stuck": (f"传感器数值不变 {li} 次（{_num(value, unit)}）",
                  f"value unchanged {li} times ({_num(value, unit)})"),
        "rising fast": (f"{zh_name}上升 {n} %/分 > {lim} %/分",
                        f"{en_name} rising {n} %/min > {lim} %/min"),
        "fan stopped with gas": (f"局扇停止，甲烷 {n} % ≥ {lim} %",
                                 f"local fan stopped with CH4 {n} % ≥ {lim} %"),
        "stage": (f"自然发火 第 {value:.0f} 阶段", f"spontaneous combustion stage {value:.0f}"),
        # the CDDY linkage (safety/linkage.py)
        "feed_abnormal": (f"馈电异常：断电 {vi} 秒后仍有电（限 {li} 秒）",
                          f"feed abnormal: live {vi} s after the power-off (limit {li} s)"),
        "pair_open": ("联锁风门同时打开", "both doors of an interlocked pair open"),
        "no_standby": (f"{zh_name}停止 {vi} 秒，备用未启动（限 {li} 秒）",
                       f"{en_name} stopped {vi} s, no standby running (limit {li} s)"),
    }
    if quantity.startswith("forecast_"):     # a pre-warning ahead of a working (risk.py)
        text = _forecast(quantity.removeprefix("forecast_"), name, value, limit)
    elif quantity == "danger_overdue":       # a hidden danger past its deadline (dangers.py)
        text = (f"隐患 #{name} 逾期未整改", f"hidden danger #{name} not rectified by its deadline")
    elif rule_id.split("/")[1:2] == ["reported"]:
        text = _reported(name, value, limit, zh_name, en_name, unit, model, rule_id)
    elif quantity == "outburst":
        text = (f"突出预测指标 {name} {n} ≥ {lim}", f"outburst index {name} {n} ≥ {lim}")
    elif name in special and (name != "stage" or quantity == "combustion"):
        text = special[name]
    else:
        op = "≥" if value >= limit else "≤"
        zh_t = f"{zh_name} {_num(value, unit)} {op} {_num(limit, unit)}"
        en_t = f"{en_name} {_num(value, unit)} {op} {_num(limit, unit)}"
        if peak is not None and abs(float(peak) - limit) > abs(value - limit) + 1e-9:
            zh_t += f"，最高 {_num(float(peak), unit)}"
            en_t += f", peak {_num(float(peak), unit)}"
        text = (zh_t, en_t)
    zh_t, en_t = text
    if kind == "power_off":
        zh_t, en_t = zh_t + "（断电）", en_t + " (power off)"
    repeats = int(get("repeats", 0) or 0)
    if repeats:
        zh_t, en_t = zh_t + f"（反复 {repeats + 1} 次）", en_t + f" ({repeats + 1} times)"
    return zh_t if zh else en_t


def _forecast(kind: str, name: str, value: float, limit: float) -> tuple[str, str]:
    """"前方 32 m 断层 F1（临近线 30 m）" — what is ahead, how far, which line it crossed."""
    from .risk import AHEAD_HAZARDS, LINE_WORDS
    target, _, line = name.partition("@")
    zh_k, en_k = AHEAD_HAZARDS.get(kind, (kind, kind))
    lz, le = LINE_WORDS.get(line, (line, line))
    if value <= 0:                          # in it now
        return (f"已进入{zh_k} {target}（{lz} {limit:g} m）", f"inside {en_k} {target} ({le} {limit:g} m)")
    return (f"前方 {value:.0f} m {zh_k} {target}（{lz} {limit:g} m）",
            f"{en_k} {target} {value:.0f} m ahead ({le} {limit:g} m)")


def _reported(name: str, value: float, limit: float, zh_name: str, en_name: str,
              unit: str | None, model: MineModel | None, rule_id: str) -> tuple[str, str]:
    """What a mine's system reported (safety/reported.py), said as its word: "监控系统报
    超限报警 甲烷 1.62 %", "定位系统报 超员 9/8 人"."""
    from .reported import KEY_SYSTEMS_EN, report_name
    param = name.replace(" ", "/")
    zh, en = report_name(param) or (name, name)
    ftype, _, code = param.partition("/")
    if ftype in KEY_SYSTEMS_EN:            # "主通风机异常 测点 TF0101 …"
        head = (f"设备监控报 {zh} 测点 {code}", f"equipment monitoring: {en}, point {code}")
        if value:
            head = (f"{head[0]} {fmt_value(value)}", f"{head[1]} {fmt_value(value)}")
        return head
    if ftype == "YCBJ":
        head = (f"监控系统报 {zh}", f"monitoring system: {en}")
        point = rule_id.split("/", 1)[0]
        s = model.sensors.get(point) if model is not None else None
        analog = s is not None and quantity_of(s.type_code).kind == "analog"
        if analog and value:
            head = (f"{head[0]} {zh_name} {_num(value, unit)}",
                    f"{head[1]} {en_name} {_num(value, unit)}")
        return head
    head = (f"定位系统报 {zh}", f"positioning system: {en}")
    if ftype == "RYCY" and value:
        return (f"{head[0]} {value:.0f}/{limit:.0f} 人", f"{head[1]} {value:.0f}/{limit:.0f} people")
    if ftype == "RYCS" and value:
        return (f"{head[0]} 下井 {value:.1f} 小时", f"{head[1]} underground {value:.1f} h")
    return head


def place_name(node: str, model: MineModel | None) -> str:
    """Where an alarm is, as the mine names it: a point's code and location ("002A02 11901回风
    巷 T2"), a person's name, an area's, a face's, a roadway's, a machine's."""
    kind, _, ident = node.partition("/")
    m = model
    if m is None:
        return ident or node
    if kind == "sensor" and ident in m.sensors:
        return f"{ident} {m.sensors[ident].location}"
    tables = {"person": m.people, "area": m.areas, "equipment": m.equipment,
              "face": m.longwalls, "heading": m.headings, "roadway": m.roadways,
              "reader": m.readers, "tubebundle": m.tube_bundle}
    item = tables.get(kind, {}).get(ident)
    return getattr(item, "name", None) or ident or node
