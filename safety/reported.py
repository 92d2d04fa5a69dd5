"""Alarms the mine's own systems report (REFERENCE.md §3a): the monitoring system's abnormal
records (YCBJ 001–010), the positioning system's overtime (RYCS), overcrowding (RYCY),
restricted-area (RYXZ) and SOS (RYQJ) records, and the key-equipment systems' abnormal
records (MT/T 1201.2: main fan, drainage, hoists, compressor, winch), arriving as ``report`` observations
(live_bindings/upload_files.py), become alarms in the one alarm book beside MineTwin's own.

A record is ongoing while its end is empty and is sent again with the end filled in when it
ends: one alarm per (subject, type, start) — raised at its start, cleared at its end; an
ongoing record sent again changes nothing; a record first seen already ended is raised and
cleared (kept in the book, as it happened); a new start of the same type and subject while
one is open ends the open one there (the system has moved on; nothing is left standing).

Each alarm is on the record's node — the sensor (or the outstation, YCBJ 005/006), the person,
the area — at the level of the rule table's ``[reported]`` (safety/default_rules.toml;
*verify*: the reference gives the types, not their weight), its source naming the file type
and abnormal type, so a dispatcher sees the system's word as the system's.
"""

from __future__ import annotations

from typing import Iterable

from twin import KEY_SYSTEMS, MineModel, Observation

from .rules import Rule, RuleEvent, load_rule_table

__all__ = ["ReportedAlarms", "REPORT_NAMES", "REPORTED_DEFAULTS", "report_name"]

#: What each reported type is, in Chinese and English (REFERENCE.md §3, §3a).
REPORT_NAMES = {
    "YCBJ/001": ("超限报警", "over-limit alarm"), "YCBJ/002": ("断电报警", "power-off alarm"),
    "YCBJ/003": ("馈电异常", "feed abnormal"), "YCBJ/004": ("传感器断线", "sensor disconnected"),
    "YCBJ/005": ("分站断电", "outstation power loss"),
    "YCBJ/006": ("分站通讯中断", "outstation unreachable"), "YCBJ/007": ("标校", "calibration"),
    "YCBJ/008": ("超量程", "over range"), "YCBJ/009": ("上限预警", "upper pre-warning"),
    "YCBJ/010": ("下限预警", "lower pre-warning"),
    "RYCS": ("超时", "overtime"), "RYCY": ("超员", "overcrowding"),
    "RYXZ": ("进入限制区域", "in a restricted area"), "RYQJ": ("SOS 求救", "SOS call"),
}
#: Key-equipment systems (MT/T 1201.2) in English; their abnormal records are ``<system>/<point>``.
KEY_SYSTEMS_EN = {"TF": "main fan", "PS": "main drainage", "LJ": "shaft hoist",
                  "XJ": "slope hoist", "KY": "air compressor", "JC": "winch"}
#: Levels by type (1 notice … 3 danger): MineTwin's defaults, *verify* for the mine.
REPORTED_DEFAULTS = {"YCBJ": {"001": 2, "002": 3, "003": 3, "004": 1, "005": 2, "006": 2,
                              "007": 1, "008": 2, "009": 1, "010": 1},
                     "RYCS": 2, "RYCY": 2, "RYXZ": 3, "RYQJ": 3,
                     "TF": 3, "PS": 2, "LJ": 2, "XJ": 2, "KY": 2, "JC": 2}


def report_name(param: str) -> tuple[str, str] | None:
    """(Chinese, English) of a reported type: ``YCBJ/001``, ``RYCS``, ``TF/<point>`` …"""
    if param in REPORT_NAMES:
        return REPORT_NAMES[param]
    system = param.split("/", 1)[0]
    if system in KEY_SYSTEMS and "/" in param:
        return f"{KEY_SYSTEMS[system][1]}异常", f"{KEY_SYSTEMS_EN[system]} abnormal"
    return None
_SYSTEM = {"YCBJ": ("安全监控系统", "monitoring system")}
_PERSONNEL = ("人员定位系统", "positioning system")


class ReportedAlarms:
    def __init__(self, model: MineModel, table: dict | None = None):
        doc = table if table is not None else load_rule_table()
        levels = {**REPORTED_DEFAULTS, **doc.get("reported", {})}
        levels["YCBJ"] = {**REPORTED_DEFAULTS["YCBJ"], **levels.get("YCBJ", {})}
        self.levels = levels
        self.model = model
        self._open: dict[str, tuple[int, Rule, str]] = {}     # rule id -> (start, rule, node)
        self._rules: dict[tuple[str, str], Rule] = {}

    def restore(self, open_rule_ids: Iterable[str]) -> None:
        """After a restart: the reported alarms the book holds open stay open until their
        end comes (their start is not known again: the next record of the kind decides)."""
        for rid in open_rule_ids:
            subject, _, rest = rid.partition("/")
            quantity, _, name = rest.partition("/")
            if quantity != "reported" or report_name(name.replace(" ", "/")) is None:
                continue
            rule = self._rule(subject, name.replace(" ", "/"))
            self._open[rid] = (-1, rule, self._node(subject, name.split(" ")[0]))

    def observe(self, batch: Iterable[Observation]) -> list[RuleEvent]:
        out: list[RuleEvent] = []
        for o in batch:
            if o.kind == "report" and o.param and report_name(o.param) is not None:
                self._one(o, out)
        return out

    def _one(self, o: Observation, out: list[RuleEvent]) -> None:
        ftype = o.param.split("/", 1)[0]
        rule = self._rule(o.key, o.param)
        node = self._node(o.key, ftype)
        start = o.since_ms if o.since_ms is not None else o.time_ms
        value = float(o.value) if o.value is not None else 0.0
        threshold = self._threshold(o.key, o.param)
        held = self._open.get(rule.id)
        if held is not None:
            held_start = held[0]
            if 0 <= held_start < start:            # a new one began: the old one ends there
                out.append(RuleEvent("clear", rule, o.key, start, value, threshold, node))
                del self._open[rule.id]
                held = None
            elif held_start > start:               # about one already superseded
                return
        if held is None:
            out.append(RuleEvent("raise", rule, o.key, start, value, threshold, node))
            self._open[rule.id] = (start, rule, node)
        if not o.state:                            # ended: its end is the record's time
            out.append(RuleEvent("clear", rule, o.key, max(o.time_ms, start), value,
                                 threshold, node))
            self._open.pop(rule.id, None)

    def _rule(self, subject: str, param: str) -> Rule:
        r = self._rules.get((subject, param))
        if r is None:
            ftype, _, code = param.partition("/")
            level = self.levels[ftype][code] if isinstance(self.levels[ftype], dict) \
                else self.levels[ftype]
            zh, en = report_name(param)
            system = _SYSTEM.get(ftype, _PERSONNEL) if ftype not in KEY_SYSTEMS else \
                (f"{KEY_SYSTEMS[ftype][1]}监控系统", f"{KEY_SYSTEMS_EN[ftype]} monitoring")
            r = self._rules[(subject, param)] = Rule(
                subject, "reported", param.replace("/", " "), int(level),
                source=f"reported by the mine's {system[1]} ({ftype}{' ' + code if code else ''}"
                       f" {en})")
        return r

    def _node(self, subject: str, ftype: str) -> str:
        m = self.model
        if ftype == "YCBJ":
            return f"sensor/{subject}" if subject in m.sensors else f"outstation/{subject}"
        if ftype == "RYCY":
            return f"area/{subject}"
        if ftype in KEY_SYSTEMS:
            return f"equipment/{subject}"
        return f"person/{subject}"

    def _threshold(self, subject: str, param: str) -> float:
        """The limit the record is about, where the model knows it: a point's CDDY upper
        alarm (001, 009) or power-off (002), an area's rated headcount (RYCY)."""
        s = self.model.sensors.get(subject)
        t = None
        if s is not None and param in ("YCBJ/001", "YCBJ/009"):
            t = s.thresholds.upper_alarm
        elif s is not None and param == "YCBJ/002":
            t = s.thresholds.upper_power_off
        elif param == "YCBJ/010" and s is not None:
            t = s.thresholds.lower_alarm
        elif param == "RYCY" and subject in self.model.areas:
            t = self.model.areas[subject].rated_headcount
        return float(t) if t is not None else 0.0
