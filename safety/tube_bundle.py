"""Spontaneous combustion from tube-bundle analyses (束管监测, MT/T 757; REFERENCE.md §3a, §4).

A sampling point (the mine folder's ``tube_bundle.csv``: behind a face, in a sealed area)
draws air through a tube to an analyser; each gas of an analysis arrives as its own
monitoring point (CDSS), so an **analysis** is the latest O2, N2 and CO (and CO2, H2, C2H4,
C2H6, C2H2 where mapped) that arrived within ``sample_window_s`` of each other.

- **Graham ratio** GR = 100·CO/ΔO2 with the oxygen deficit ΔO2 = 0.265·N2 − O2 (gases in %);
  unreliable when ΔO2 < ``min_delta_o2`` (0.3 %): such an analysis is shown, never judged.
- **Jones–Trickett** (CO2 + 0.75·CO − 0.25·H2)/ΔO2 validates an analysis: above
  ``jones_trickett_max`` (1.6) the sample is bad (a leak, a mixed-up tube) and is dropped.
- **Stage** from the *median* GR of the valid analyses of the last ``judge_hours`` (a trend,
  not one value): < 0.4 normal, ≥ 0.4 look for heating (pre-warning, level 1), ≥ 1 heating
  (level 2), ≥ 2 serious (level 3), ≥ 3 fire (level 3). A **rising trend** — the daily
  medians' least-squares slope over at least ``trend_days`` days above
  ``trend_rise_per_day`` — is a pre-warning of its own.
- **Fire zone** (a sealed point): extinguished when, for ``fire_days`` (30) days of
  analyses, O2 < 5 %, no C2H4 or C2H2, CO < 10 ppm and stable, the air < 30 °C and the outflow
  water < 25 °C (§4); otherwise the status says which criterion is not met, with its value.

The thresholds are the rule table's ``[tube_bundle]`` (safety/default_rules.toml; a mine's
rules file overrides them). The scene shows it all on ``tubebundle/<id>``.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from scene import Scene
from twin import MineModel, Observation, quantity_of

from .rules import Rule, RuleEvent, load_rule_table

__all__ = ["TubeBundle", "graham_ratio", "jones_trickett", "oxygen_deficit", "TUBE_DEFAULTS"]

DAY_MS = 86_400_000
#: Used where the rule table has no ``[tube_bundle]`` row of that name.
TUBE_DEFAULTS = {"graham_stages": [0.4, 1.0, 2.0, 3.0], "min_delta_o2": 0.3,
                 "jones_trickett_max": 1.6, "sample_window_s": 900.0, "judge_hours": 24.0,
                 "trend_days": 3, "trend_rise_per_day": 0.1, "fire_o2_below": 5.0,
                 "fire_co_below_ppm": 10.0, "fire_co_stable_ppm": 2.0,
                 "fire_air_below_c": 30.0, "fire_water_below_c": 25.0, "fire_days": 30.0}
STAGES = ("正常", "注意（疑似自热）", "自热", "严重自热", "火灾")
STAGE_LEVEL = (0, 1, 2, 3, 3)


def oxygen_deficit(o2: float, n2: float) -> float:
    """ΔO2 = 0.265·N2 − O2 (%): the oxygen the air has lost since it went in."""
    return 0.265 * n2 - o2


def graham_ratio(co_pct: float, o2: float, n2: float) -> float:
    """GR = 100·CO/ΔO2, every gas in % (CO 0.01 %, N2 70.4 %, O2 15.2 % → 0.29)."""
    return 100.0 * co_pct / oxygen_deficit(o2, n2)


def jones_trickett(co2: float, co_pct: float, h2_pct: float, o2: float, n2: float) -> float:
    """(CO2 + 0.75·CO − 0.25·H2)/ΔO2, in %: above 1.6 the analysis is not to be trusted."""
    return (co2 + 0.75 * co_pct - 0.25 * h2_pct) / oxygen_deficit(o2, n2)


@dataclass(slots=True)
class _Analysis:
    t: int
    gases: dict[str, float]       # in the points' own units (CO, C2H4 … ppm)
    delta_o2: float
    gr: float | None              # None: ΔO2 too small to judge
    jt: float | None              # None: no CO2 point
    valid: bool


class TubeBundle:
    def __init__(self, model: MineModel, scene: Scene | None = None, table: dict | None = None):
        doc = table if table is not None else load_rule_table()
        self.p = {**TUBE_DEFAULTS, **doc.get("tube_bundle", {})}
        self.model, self.scene = model, scene
        self.points = {}                   # point code → (sampling point id, gas)
        for tb in model.tube_bundle.values():
            for gas, code in {**tb.gases, **tb.temperatures}.items():
                self.points[code] = (tb.id, gas)
        self._latest: dict[str, dict[str, tuple[float, int]]] = {}
        self._history: dict[str, deque[_Analysis]] = {
            i: deque() for i in model.tube_bundle}
        self._temps: dict[str, deque[tuple[int, str, float]]] = {
            i: deque() for i in model.tube_bundle}
        self._stage: dict[str, int] = {}
        self._rising: set[str] = set()
        self.status: dict[str, dict] = {}
        self.bad_samples = 0
        if scene is not None:
            for name, kind, unit in (("graham_ratio", "float", None),
                                     ("jones_trickett", "float", None),
                                     ("delta_o2", "float", "%"), ("sample_valid", "bool", None),
                                     ("combustion_stage", "int", None),
                                     ("combustion_stage_name", "str", None),
                                     ("graham_trend_per_day", "float", None),
                                     ("fire_zone", "str", None), ("fire_zone_why", "str", None)):
                scene.define_property(name, kind, unit)

    # ------------------------------------------------------------------ observations

    def observe(self, observations: Iterable[Observation]) -> list[RuleEvent]:
        touched: dict[str, int] = {}
        for o in observations:
            hit = self.points.get(o.key) if o.kind == "point" else None
            if hit is None or isinstance(o.value, bool) or not isinstance(o.value, (int, float)):
                continue
            tid, gas = hit
            self._latest.setdefault(tid, {})[gas] = (float(o.value), o.time_ms)
            if gas in ("temperature", "water_temperature"):
                self._temps[tid].append((o.time_ms, gas, float(o.value)))
            touched[tid] = max(touched.get(tid, 0), o.time_ms)
        out: list[RuleEvent] = []
        for tid, t in touched.items():
            a = self._analysis(tid)
            if a is None:
                continue                   # judged once per analysis, not per gas arriving
            self._history[tid].append(a)
            if not a.valid:
                self.bad_samples += 1
            self._prune(tid, t)
            self._judge(tid, t, a, out)
        return out

    def _analysis(self, tid: str) -> _Analysis | None:
        """The latest analysis if its O2, N2 and CO are of one sampling and newer than the
        last one taken."""
        got = {g: v for g, v in self._latest[tid].items()
               if g not in ("temperature", "water_temperature")}
        if not {"o2", "n2", "co"} <= set(got):
            return None
        t = max(tg for _, tg in got.values())
        window = self.p["sample_window_s"] * 1000
        if t - min(got[g][1] for g in ("o2", "n2", "co")) > window:
            return None
        hist = self._history[tid]
        if hist and hist[-1].t >= t:
            return None
        gases = {g: v for g, (v, tg) in got.items() if t - tg <= window}
        pct = {g: self._pct(tid, g, v) for g, v in gases.items()}
        d = oxygen_deficit(pct["o2"], pct["n2"])
        gr = 100.0 * pct["co"] / d if d >= self.p["min_delta_o2"] else None
        jt = ((pct["co2"] + 0.75 * pct["co"] - 0.25 * pct.get("h2", 0.0)) / d
              if "co2" in pct and d > 0 else None)
        valid = jt is None or jt <= self.p["jones_trickett_max"]
        return _Analysis(t, gases, d, gr, jt, valid)

    def _pct(self, tid: str, gas: str, v: float) -> float:
        """A gas reading in % (CO, H2, C2H4 … come in ppm, as their points' unit says)."""
        code = self.model.tube_bundle[tid].gases[gas]
        unit = quantity_of(self.model.sensors[code].type_code).unit
        return v / 10_000.0 if unit == "ppm" else v

    def _prune(self, tid: str, now: int) -> None:
        keep = max(self.p["fire_days"], self.p["trend_days"] + 1) * DAY_MS
        hist, temps = self._history[tid], self._temps[tid]
        while hist and now - hist[0].t > keep:
            hist.popleft()
        while temps and now - temps[0][0] > keep:
            temps.popleft()

    # ------------------------------------------------------------------ judging

    def _judge(self, tid: str, now: int, latest: _Analysis, out: list) -> None:
        tb = self.model.tube_bundle[tid]
        hist = self._history[tid]
        judged = [a.gr for a in hist
                  if a.valid and a.gr is not None and now - a.t <= self.p["judge_hours"] * 3.6e6]
        median = statistics.median(judged) if judged else None
        stage = sum(median >= b for b in self.p["graham_stages"]) if median is not None else 0
        trend = self._trend(hist)
        st = {"median_gr": median, "stage": stage, "trend_per_day": trend,
              "analyses": len(hist), "bad": sum(not a.valid for a in hist)}
        if tb.sealed:
            st["fire_zone"], st["fire_zone_why"] = self._fire_zone(tid, now)
        self.status[tid] = st
        node = f"tubebundle/{tid}"
        s = self.scene if self.scene is not None and node in self.scene else None
        if s is not None:
            s.set_property(node, "delta_o2", round(latest.delta_o2, 3), "%")
            s.set_property(node, "sample_valid", latest.valid)
            if latest.gr is not None:
                s.set_property(node, "graham_ratio", round(latest.gr, 3))
            if latest.jt is not None:
                s.set_property(node, "jones_trickett", round(latest.jt, 3))
            s.set_property(node, "combustion_stage", stage)
            s.set_property(node, "combustion_stage_name", STAGES[stage])
            if trend is not None:
                s.set_property(node, "graham_trend_per_day", round(trend, 3))
            if tb.sealed:
                s.set_property(node, "fire_zone", st["fire_zone"])
                s.set_property(node, "fire_zone_why", st["fire_zone_why"])
        before = self._stage.get(tid, 0)
        if stage != before:
            self._stage[tid] = stage
            bands = self.p["graham_stages"]
            if before > 0:
                out.append(RuleEvent("clear", self._rule(tid, before), tid, now,
                                     float(median or 0.0), bands[before - 1], node))
            if stage > 0:
                out.append(RuleEvent("raise", self._rule(tid, stage), tid, now,
                                     float(median), bands[stage - 1], node))
        rising = trend is not None and trend > self.p["trend_rise_per_day"]
        if rising != (tid in self._rising):
            rule = Rule(tid, "graham_trend", "trend", 1, alarm=self.p["trend_rise_per_day"],
                        source=f"tube bundle: Graham ratio rising over ≥ "
                               f"{self.p['trend_days']} days (rule table [tube_bundle])")
            (self._rising.add if rising else self._rising.discard)(tid)
            out.append(RuleEvent("raise" if rising else "clear", rule, tid, now,
                                 float(trend or 0.0), self.p["trend_rise_per_day"], node))

    def _rule(self, tid: str, stage: int) -> Rule:
        b = self.p["graham_stages"][stage - 1]
        return Rule(tid, "graham", f"stage{stage}", STAGE_LEVEL[stage], alarm=b,
                    source=f"tube bundle: Graham ratio median of "
                           f"{self.p['judge_hours']:g} h ≥ {b:g} ({STAGES[stage]})")

    def _trend(self, hist) -> float | None:
        """GR per day: the least-squares slope of the daily medians of the valid analyses,
        over at least ``trend_days`` days; None before there are enough days."""
        days: dict[int, list[float]] = {}
        for a in hist:
            if a.valid and a.gr is not None:
                days.setdefault(a.t // DAY_MS, []).append(a.gr)
        if len(days) < self.p["trend_days"]:
            return None
        d = np.array(sorted(days), float)
        m = np.array([statistics.median(days[int(k)]) for k in d])
        return float(np.polyfit(d - d[0], m, 1)[0])

    def _fire_zone(self, tid: str, now: int) -> tuple[str, str]:
        """"熄灭" (extinguished) or "未熄灭", and why: each criterion not met, with its value."""
        p, tb = self.p, self.model.tube_bundle[tid]
        span = p["fire_days"] * DAY_MS
        hist = [a for a in self._history[tid] if a.valid and now - a.t <= span]
        temps = [(t, g, v) for t, g, v in self._temps[tid] if now - t <= span]
        why = []
        first = min([a.t for a in hist] + [t for t, _, _ in temps], default=now)
        if now - first < span * 0.999:
            why.append(f"分析仅 {(now - first) / DAY_MS:.1f} 天（需 {p['fire_days']:g} 天）")

        def worst(gas):
            return max((a.gases[gas] for a in hist if gas in a.gases), default=None)
        o2 = worst("o2")
        if o2 is None or o2 >= p["fire_o2_below"]:
            why.append(f"O2 最高 {o2 if o2 is not None else '—'} %（需 < {p['fire_o2_below']:g} %）")
        for gas in ("c2h4", "c2h2"):
            if gas not in tb.gases:
                why.append(f"{gas.upper()} 未监测")
            elif (worst(gas) or 0.0) > 0:
                why.append(f"{gas.upper()} 出现 {worst(gas):g} ppm")
        cos = [a.gases["co"] for a in hist if "co" in a.gases]
        if not cos or max(cos) >= p["fire_co_below_ppm"]:
            why.append(f"CO 最高 {max(cos) if cos else '—'} ppm（需 < {p['fire_co_below_ppm']:g} ppm）")
        elif max(cos) - min(cos) > p["fire_co_stable_ppm"]:
            why.append(f"CO 不稳定 {min(cos):g}–{max(cos):g} ppm")
        for gas, limit, name in (("temperature", p["fire_air_below_c"], "气温"),
                                 ("water_temperature", p["fire_water_below_c"], "出水温度")):
            vals = [v for _, g, v in temps if g == gas]
            if gas not in tb.temperatures:
                why.append(f"{name}未监测")
            elif not vals or max(vals) >= limit:
                why.append(f"{name}最高 {max(vals) if vals else '—'} °C（需 < {limit:g} °C）")
        return ("熄灭" if not why else "未熄灭"), "；".join(why)
