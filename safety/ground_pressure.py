"""Ground pressure (矿压) at the longwall faces and in the roadways (issue #20.6):

- **Support resistance over its rating**: a hydraulic support's leg pressure (equipment
  observations ``leg_pressure_MPa``) × its legs' area is its working resistance; at or over
  its rated resistance (``rated_resistance_kN``, with ``legs`` × ``leg_bore_mm``) it is an alarm
  (level 2) on the support, cleared below ``clear_fraction`` of the rating. A support without
  its leg bore is shown, not judged.
- **Periodic weighting** (周期来压): the face's mean leg pressure rising by ``weighting_rise``
  over its baseline (the median of the face means over the last ``baseline_m`` of advance)
  with at least ``weighting_share`` of its supports in that band — a band of high pressure
  along the face — is a weighting (a level-1 notice on the face; a new one at least
  ``min_interval_m`` of advance after the last: one break of the roof is one weighting, however
  the shearer's pass makes the supports' pressures swing). Its starts' advances give
  the weighting interval (来压步距), and the next weighting is expected one mean interval
  after the last.
- **Roof separation rate** (顶板离层): a roof-separation point (type 0020, mm) opening faster
  than ``separation_rate_mm_per_day`` over ``separation_window_h`` is an alarm (level 2).

Every figure is a ``[ground_pressure]`` key of the rule table; the reference gives none of
them, so all are MineTwin's defaults marked *verify* there (safety/default_rules.toml).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from typing import Iterable

import numpy as np

from scene import Scene
from twin import MineModel, Observation, quantity_of

from .rules import Rule, RuleEvent, load_rule_table

__all__ = ["GroundPressure", "PRESSURE_DEFAULTS", "rated_pressure_mpa"]

#: The baseline keeps one mean face pressure per this much advance (m).
BIN_M = 0.2

PRESSURE_DEFAULTS = {"clear_fraction": 0.95, "weighting_rise": 0.2, "weighting_share": 0.5,
                     "min_interval_m": 5.0,
                     "baseline_m": 20.0, "fresh_s": 180.0, "separation_rate_mm_per_day": 5.0,
                     "separation_window_h": 24.0}


def rated_pressure_mpa(params) -> float | None:
    """The leg pressure (MPa) at which a support carries its rated resistance: rated
    resistance / (legs × the leg bore's area); None when a parameter is missing."""
    try:
        kn = float(params["rated_resistance_kN"][0])
        bore = float(params["leg_bore_mm"][0]) / 1000.0
        legs = float(params.get("legs", (2, None))[0])
    except (KeyError, TypeError, ValueError):
        return None
    return kn / (legs * math.pi * (bore / 2) ** 2) / 1000.0


class GroundPressure:
    def __init__(self, model: MineModel, scene: Scene | None = None, table: dict | None = None):
        doc = table if table is not None else load_rule_table()
        self.p = {**PRESSURE_DEFAULTS, **doc.get("ground_pressure", {})}
        self.model, self.scene = model, scene
        self.rated: dict[str, float | None] = {}
        self.face_of: dict[str, str] = {}            # support id → face id
        for e in model.equipment.values():
            if e.kind != "hydraulic_support":
                continue
            self.rated[e.id] = rated_pressure_mpa(e.parameters)
            face = self._nearest_face(e.position)
            if face is not None:
                self.face_of[e.id] = face
        self.supports = {f: [s for s, g in self.face_of.items() if g == f]
                         for f in model.longwalls}
        self._latest: dict[str, tuple[float, int]] = {}
        self._over: set[str] = set()
        self.advance = {f.id: f.advanced_m for f in model.longwalls.values()}
        self._means: dict[str, deque] = {f: deque() for f in model.longwalls}
        self.weighting: dict[str, bool] = {f: False for f in model.longwalls}
        self.starts: dict[str, list[float]] = {f: [] for f in model.longwalls}
        self._separation: dict[str, deque] = {}
        self._opening: set[str] = set()
        self._roof = {c for c, s in model.sensors.items()
                      if quantity_of(s.type_code).key == "roof_separation"}
        if scene is not None:
            for name, kind, unit in (("support_resistance_kN", "float", "kN"),
                                     ("support_load_pct", "float", "%"),
                                     ("weighting", "bool", None),
                                     ("weighting_interval_m", "float", "m"),
                                     ("next_weighting_at_m", "float", "m"),
                                     ("face_pressure_MPa", "float", "MPa"),
                                     ("separation_rate_mm_per_day", "float", "mm/d")):
                scene.define_property(name, kind, unit)

    def _nearest_face(self, pos) -> str | None:
        best, far = None, 15.0
        for f in self.model.longwalls.values():
            a, b = (np.asarray(v, float)[:2] for v in f.face_line())
            p = np.asarray(pos, float)[:2]
            t = np.clip((p - a) @ (b - a) / max((b - a) @ (b - a), 1e-9), 0, 1)
            d = float(np.linalg.norm(p - (a + t * (b - a))))
            if d < far:
                best, far = f.id, d
        return best

    # ------------------------------------------------------------------ observations

    def observe(self, observations: Iterable[Observation]) -> list[RuleEvent]:
        out: list[RuleEvent] = []
        faces: dict[str, int] = {}
        for o in observations:
            if isinstance(o.value, bool) or not isinstance(o.value, (int, float)):
                continue
            if o.kind == "equipment" and o.param == "advanced_m" and o.key.startswith("face:"):
                self.advance[o.key[5:]] = float(o.value)
            elif o.kind == "equipment" and o.param == "leg_pressure_MPa" and o.key in self.rated:
                self._support(o, out)
                if o.key in self.face_of:
                    faces[self.face_of[o.key]] = max(faces.get(self.face_of[o.key], 0), o.time_ms)
            elif o.kind == "point" and o.key in self._roof:
                self._separation_rate(o, out)
        for face, t in faces.items():
            self._weighting(face, t, out)
        return out

    def _support(self, o: Observation, out: list) -> None:
        sid, p = o.key, float(o.value)
        self._latest[sid] = (p, o.time_ms)
        rated = self.rated[sid]
        node = f"equipment/{sid}"
        if self.scene is not None and node in self.scene and rated is not None:
            kn = float(self.model.equipment[sid].parameters["rated_resistance_kN"][0])
            self.scene.set_property(node, "support_resistance_kN", round(p / rated * kn, 0), "kN")
            self.scene.set_property(node, "support_load_pct", round(100 * p / rated, 1), "%")
        if rated is None:
            return
        rule = Rule(sid, "support_resistance", "rated", 2, alarm=rated,
                    alarm_clear=rated * self.p["clear_fraction"],
                    source="support rated resistance (equipment.toml rated_resistance_kN, legs,"
                           " leg_bore_mm)")
        if p >= rated and sid not in self._over:
            self._over.add(sid)
            out.append(RuleEvent("raise", rule, sid, o.time_ms, p, rated, node))
        elif p < rated * self.p["clear_fraction"] and sid in self._over:
            self._over.discard(sid)
            out.append(RuleEvent("clear", rule, sid, o.time_ms, p, rated, node))

    def _weighting(self, face: str, t: int, out: list) -> None:
        fresh = [self._latest[s][0] for s in self.supports[face]
                 if s in self._latest and t - self._latest[s][1] <= self.p["fresh_s"] * 1000]
        if len(fresh) < max(3, len(self.supports[face]) // 2):
            return
        adv = self.advance.get(face, 0.0)
        mean = float(np.mean(fresh))
        hist = self._means[face]               # [advance, sum of face means, how many]
        base = [total / n for a, total, n in hist if adv - a <= self.p["baseline_m"]]
        baseline = statistics.median(base) if base else None
        node = f"face/{face}"
        if self.scene is not None and node in self.scene:
            self.scene.set_property(node, "face_pressure_MPa", round(mean, 1), "MPa")
        if baseline is None or not self.weighting[face]:
            # the baseline is what the face carries between weightings: one mean per
            # BIN_M of advance (the median is then over a few hundred, not every tick's)
            if hist and adv - hist[-1][0] < BIN_M:
                hist[-1][1] += mean
                hist[-1][2] += 1
            else:
                hist.append([adv, mean, 1])
        while hist and adv - hist[0][0] > self.p["baseline_m"] * 2:
            hist.popleft()
        if baseline is None:
            return
        high = baseline * (1 + self.p["weighting_rise"])
        share = sum(p >= high for p in fresh) / len(fresh)
        on = self.weighting[face]
        last = self.starts[face][-1] if self.starts[face] else None
        start = not on and mean >= high and share >= self.p["weighting_share"] and (
            last is None or adv - last >= self.p["min_interval_m"])      # one break, one start
        end = on and mean < baseline * (1 + self.p["weighting_rise"] / 2)
        if not (start or end):
            return
        self.weighting[face] = start
        rule = Rule(face, "weighting", "periodic", 1, alarm=high,
                    source=f"periodic weighting: face mean leg pressure ≥ "
                           f"{1 + self.p['weighting_rise']:g} × its baseline over "
                           f"{self.p['weighting_share']:.0%} of the supports (rule table "
                           f"[ground_pressure])")
        out.append(RuleEvent("raise" if start else "clear", rule, face, t, mean, high, node))
        if start:
            self.starts[face].append(adv)
        s = self.scene if self.scene is not None and node in self.scene else None
        if s is not None:
            s.set_property(node, "weighting", start)
            starts = self.starts[face]
            if len(starts) >= 2:
                steps = np.diff(starts)
                s.set_property(node, "weighting_interval_m", round(float(steps[-1]), 1), "m")
                s.set_property(node, "next_weighting_at_m",
                               round(starts[-1] + float(steps.mean()), 1), "m")

    def _separation_rate(self, o: Observation, out: list) -> None:
        q = self._separation.setdefault(o.key, deque())
        q.append((o.time_ms, float(o.value)))
        window = self.p["separation_window_h"] * 3.6e6
        while q and o.time_ms - q[0][0] > window:
            q.popleft()
        if len(q) < 2 or o.time_ms - q[0][0] < window / 4:
            return
        t, v = np.array([a for a, _ in q], float), np.array([b for _, b in q], float)
        rate = float(np.polyfit((t - t[0]) / 86_400_000, v, 1)[0])        # mm a day
        node = f"sensor/{o.key}"
        if self.scene is not None and node in self.scene:
            self.scene.set_property(node, "separation_rate_mm_per_day", round(rate, 2), "mm/d")
        limit = self.p["separation_rate_mm_per_day"]
        rule = Rule(o.key, "roof_separation_rate", "rate", 2, alarm=limit,
                    source="roof separation rate (rule table [ground_pressure], verify)")
        if rate >= limit and o.key not in self._opening:
            self._opening.add(o.key)
            out.append(RuleEvent("raise", rule, o.key, o.time_ms, rate, limit, node))
        elif rate < limit * 0.8 and o.key in self._opening:
            self._opening.discard(o.key)
            out.append(RuleEvent("clear", rule, o.key, o.time_ms, rate, limit, node))
