"""Default bindings derived from the mine model: a new mine needs no binding file.

Every sensor node shows its live value (the typed property of its quantity, e.g. ``ch4`` in %)
coloured by the thresholds it is held to — the resolved rule the alarms use too (the sensor's
CDDY thresholds, else the mine's ``rules.toml``, else the regulation table), handed in by the
composition root as ``thresholds``; without it, the CDDY thresholds alone; every person moves and shows whether they are underground;
every equipment item shows its state; faces, headings, supports and the goaf follow the
advance. Observations are applied in batches per tick: numeric values and positions go
through the scene's vectorised setters.

Bad observations (NaN/inf, unknown points/cards/equipment, wrong kinds) are refused and
counted per reason in ``stats``; the rest of the batch is applied.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from scene import Scene
from twin import (CARD_STATE, MineModel, Observation, POINT_STATE, fmt_reading, quantity_of,
                  short_name, switch_states)

__all__ = ["DefaultBindings", "SENSOR_COLORS"]

#: Sensor colours (0xRRGGBB) by state.
SENSOR_COLORS = {"normal": 0x2ECC71, "warning": 0xF39C12, "alarm": 0xE74C3C,
                 "fault": 0x95A5A6, "off": 0x7F8C8D}
_WARNING_FRACTION = 0.8        # of the alarm threshold: shown amber before it alarms
_BAD_STATE = POINT_STATE["sensor_fault"] | POINT_STATE["outstation_fault"] | \
    POINT_STATE["not_polled"] | POINT_STATE["calibrating"]


@dataclass(slots=True)
class _PointBinding:
    handle: int
    prop: str
    unit: str | None
    switch: bool
    alarm_upper: float | None
    alarm_lower: float | None
    range_low: float | None = None
    range_high: float | None = None
    tag: str = ""                 # what the label calls it: "T0 CH4", "002A05 风速"
    states: tuple[str, str] | None = None    # a switch's 0 and 1 in words ("关", "开")


class DefaultBindings:
    def __init__(self, model: MineModel, scene: Scene, *,
                 thresholds: dict[str, tuple[float | None, float | None]] | None = None):
        """``thresholds``: point code -> (upper alarm, lower alarm) of the rule each point is
        held to; a point it leaves out is coloured by its CDDY thresholds."""
        self.model = model
        self.scene = scene
        self.stats: Counter[str] = Counter()
        s = scene
        self.points: dict[str, _PointBinding] = {}
        for code, sensor in model.sensors.items():
            node = f"sensor/{code}"
            if node not in s:
                continue
            q = quantity_of(sensor.type_code)
            switch = q.kind == "switch"
            s.define_property(q.key, "bool" if switch else "float", None if switch else q.unit)
            upper, lower = (thresholds or {}).get(code, (sensor.thresholds.upper_alarm,
                                                         sensor.thresholds.lower_alarm))
            tag = f"{sensor.category or code} {short_name(q)}"
            self.points[code] = _PointBinding(s.handle(node), q.key, q.unit, switch,
                                              upper, lower, *sensor.range, tag=tag,
                                              states=switch_states(sensor))
        s.define_property("point_state", "int")
        s.define_property("underground", "bool")
        s.define_property("sos", "bool")
        s.define_property("reader", "str")
        s.define_property("area", "str")
        s.define_property("online", "bool")
        self.cards = {card: s.handle(f"person/{card}") for card in model.people
                      if f"person/{card}" in s}
        self.equipment = {eid: s.handle(f"equipment/{eid}") for eid in model.equipment
                          if f"equipment/{eid}" in s}
        self._support_base = {eid: np.asarray(s.translation(h))
                              for eid, h in self.equipment.items()
                              if model.equipment[eid].kind == "hydraulic_support"}
        # Articulated equipment (assets/equipment.py): its part nodes, and its model for the
        # live values that move parts (leg pressure → leg extension, drum height → arm).
        from twin import equipment_model
        self._parts = {eid: s.handles([c for c in s.subtree(f"equipment/{eid}")[1:]])
                       for eid in self.equipment}
        self._models = {eid: equipment_model(model.equipment[eid], model) for eid in self.equipment
                        if model.equipment[eid].kind in ("hydraulic_support", "shearer")
                        and len(self._parts[eid])}
        self._face_advance: dict[str, float] = {}
        self._network = None          # built on the first card seen only by a reader
        self._goaf_initial = {}
        for f in model.longwalls.values():
            if f"hazard/goaf-{f.id}" in s:
                self._goaf_initial[f.id] = f.advanced_m

    # ------------------------------------------------------------------ applying

    def apply(self, observations: Iterable[Observation]) -> None:
        points: list[Observation] = []
        cards: dict[str, Observation] = {}
        for o in observations:
            if o.kind == "point":
                points.append(o)
            elif o.kind == "card":
                cards[o.key] = o            # the latest sighting in the tick wins
            elif o.kind == "equipment":
                self._equipment(o)
            elif o.kind in ("reader", "outstation"):
                self._station(o)
            elif o.kind == "event":
                self.stats["events"] += 1
            elif o.kind == "statistic":
                self._statistic(o)
            elif o.kind == "report":
                self._report(o)
            else:
                self.stats["refused: unknown kind"] += 1
        if points:
            self._points(points)
        if cards:
            self._cards(list(cards.values()))

    def _points(self, obs: list[Observation]) -> None:
        s = self.scene
        latest: dict[str, Observation] = {}
        for o in obs:
            b = self.points.get(o.key)
            if b is None:
                self.stats["refused: unknown point"] += 1
                continue
            if not b.switch and (not isinstance(o.value, (int, float)) or isinstance(o.value, bool)
                                 or not math.isfinite(o.value)):
                self.stats["refused: not a finite number"] += 1
                continue
            if not b.switch and (b.range_low is not None and o.value < b.range_low or
                                 b.range_high is not None and o.value > b.range_high
                                 and not o.state & POINT_STATE["over_range"]):
                # Outside the sensor's measuring range (its CDDY definition) without the
                # over-range flag a real sensor sets: not a reading.
                self.stats["refused: outside the sensor's range"] += 1
                continue
            latest[o.key] = o
        by_prop: dict[str, tuple[list[int], list]] = {}
        states_h, states_v = [], []
        for code, o in latest.items():
            b = self.points[code]
            hs, vs = by_prop.setdefault(b.prop, ([], []))
            hs.append(b.handle)
            vs.append(bool(o.value) if b.switch else float(o.value))
            states_h.append(b.handle)
            states_v.append(int(o.state))
            self._sensor_visual(b, o)
        for prop, (hs, vs) in by_prop.items():
            order = np.argsort(hs)
            s.set_values(np.asarray(hs)[order], prop, np.asarray(vs)[order])
        if states_h:
            order = np.argsort(states_h)
            s.set_values(np.asarray(states_h)[order], "point_state", np.asarray(states_v)[order])
        self.stats["points"] += len(latest)

    def _statistic(self, o: Observation) -> None:
        """A window figure the mine's system reports (TJSJ): the sensor's ``<quantity>_max``
        / ``_min`` / ``_mean`` (``ch4_max`` in %; the details panel shows them)."""
        b = self.points.get(o.key)
        if b is None or b.switch or o.param not in ("max", "min", "mean"):
            self.stats["refused: unknown point"] += 1
            return
        name = f"{b.prop}_{o.param}"
        self.scene.define_property(name, "float", b.unit)
        self.scene.set_property(b.handle, name, float(o.value))
        self.stats["statistics"] += 1

    def _report(self, o: Observation) -> None:
        """What the mine's systems report is judged by safety (reported alarms); the picture
        shows an SOS (RYQJ) on its person as the person's own SOS."""
        h = self.cards.get(o.key) if o.param == "RYQJ" else None
        if h is not None:
            sos = bool(o.state)
            self.scene.set_property(h, "sos", sos)
            self.scene.set_visual(h, color=0xE74C3C if sos else 0xFFFFFF,
                                  blink=2.0 if sos else 0.0)
        self.stats["reports"] += 1

    def _sensor_visual(self, b: _PointBinding, o: Observation) -> None:
        # The label names the point and its quantity with the value and unit ("T0 CH4
        # 0.46 %"): a bare "6.81m/s" at a junction says nothing about which sensor it is.
        if o.state & _BAD_STATE:
            kind = "fault"
            label = f"{b.tag} " + ("校准" if o.state & POINT_STATE["calibrating"] else "故障")
        elif b.switch:
            kind = "normal"
            # its state in words: its own CDDY texts, else the code table's (风门 关 / 开)
            label = f"{b.tag} " + (b.states or ("停", "开"))[1 if o.value else 0]
        else:
            v = float(o.value)
            kind = "normal"
            if b.alarm_upper is not None and v >= b.alarm_upper or \
                    b.alarm_lower is not None and v <= b.alarm_lower:
                kind = "alarm"
            elif b.alarm_upper is not None and v >= _WARNING_FRACTION * b.alarm_upper:
                kind = "warning"
            reading = f"{fmt_reading(v)} {b.unit}" if b.unit else fmt_reading(v)
            if o.state & POINT_STATE["over_range"]:
                reading = "≥" + reading        # at least its full scale: still an alarm
            label = f"{b.tag} {reading}"
        self.scene.set_visual(b.handle, color=SENSOR_COLORS[kind],
                              blink=2.0 if kind == "alarm" else 0.0, label=label)

    def _cards(self, obs: list[Observation]) -> None:
        s = self.scene
        moved_h, moved_p = [], []
        for o in obs:
            h = self.cards.get(o.key)
            if h is None:
                self.stats["refused: unknown card"] += 1
                continue
            inside = bool(o.value)
            s.set_property(h, "underground", inside)
            s.set_visual(h, visible=inside)
            sos = bool(o.state & CARD_STATE["sos"])
            s.set_property(h, "sos", sos)
            s.set_visual(h, color=0xE74C3C if sos else 0xFFFFFF, blink=2.0 if sos else 0.0)
            if o.reader:
                s.set_property(h, "reader", o.reader)
            if o.area:
                s.set_property(h, "area", o.area)
            p = o.position
            if inside and p is None and o.reader:
                p = self._reader_point(o)
            if inside and p is not None:
                if all(math.isfinite(c) for c in p):
                    moved_h.append(h)
                    moved_p.append(p)
                else:
                    self.stats["refused: not a finite position"] += 1
        if moved_h:
            order = np.argsort(moved_h)
            s.set_translations(np.asarray(moved_h)[order], np.asarray(moved_p, float)[order])
        self.stats["cards"] += len(obs)

    def _reader_point(self, o: Observation) -> tuple[float, float, float] | None:
        """A card seen by a reader at a signed distance (RYSS) → a point on the centerline."""
        reader = self.model.readers.get(o.reader or "")
        if reader is None or reader.roadway is None:
            self.stats["refused: card at an unplaced reader"] += 1
            return None
        if self._network is None:
            from twin import Network
            self._network = Network(self.model.roadways)
        loc = self._network.reader_location(reader, o.distance_m or 0.0)
        return tuple(self._network.point(loc).tolist())

    def _equipment(self, o: Observation) -> None:
        s = self.scene
        kind, _, ident = o.key.partition(":")
        if kind in ("face", "heading") and ident:
            self._advance(kind, ident, o)
            return
        h = self.equipment.get(o.key)
        if h is None or not o.param:
            self.stats["refused: unknown equipment"] += 1
            return
        value = o.value
        if isinstance(value, float) and not math.isfinite(value):
            self.stats["refused: not a finite number"] += 1
            return
        if o.param == "advanced_m" and o.key in self._support_base:
            base = self._support_base[o.key]
            f = next(iter(self.model.longwalls.values()))
            delta = float(value) - f.advanced_m
            s.set_translation(h, base + np.r_[f.advance_direction, 0.0] * delta)
            return
        name = f"live_{o.param}"
        try:
            if isinstance(value, bool) or isinstance(value, str):
                s.set_property(h, name, value)
            else:
                s.set_property(h, name, float(value), unit=o.unit or None)
        except (TypeError, ValueError) as exc:
            self.stats[f"refused: {type(exc).__name__}"] += 1
            return
        if o.param == "running":
            s.set_visual(h, color=0xFFFFFF if value else 0x606060)
            parts = self._parts.get(o.key)
            if parts is not None and len(parts):      # articulated: its parts show it
                s.set_visuals(parts, color=np.full(len(parts), 0xFFFFFF if value else 0x606060,
                                                   dtype=np.uint32))
        elif o.param == "leg_pressure_MPa" and o.key in self._models:
            from assets import apply_pose, support_extension
            m = self._models[o.key]
            stroke = m.part("legs").joint.limits[1]
            apply_pose(s, f"equipment/{o.key}", m,
                       {"leg_extension_m": support_extension(float(value), stroke_m=stroke)})
        elif o.param in ("drum_left_height_m", "drum_right_height_m") and o.key in self._models:
            from assets import apply_pose, drum_arm_values
            m = self._models[o.key]
            if m.kind == "shearer":     # the ranging arm lifts its drum to the cutting height
                apply_pose(s, f"equipment/{o.key}", m,
                           drum_arm_values(m, o.param.split("_")[1], float(value)))
        elif o.param == "position_m" and self.model.equipment[o.key].kind == "shearer":
            f = next(iter(self.model.longwalls.values()), None)
            if f is not None:       # the shearer rides along the current face line
                a, b = f.face_line(self._face_advance.get(f.id, f.advanced_m))
                frac = min(max(float(value) / f.face_length_m, 0.0), 1.0)
                s.set_translation(h, a + (b - a) * frac)
        self.stats["equipment"] += 1

    def _advance(self, kind: str, ident: str, o: Observation) -> None:
        s = self.scene
        if kind == "face" and ident in self.model.longwalls:
            f = self.model.longwalls[ident]
            if o.param == "advanced_m":
                adv = float(o.value)
                self._face_advance[ident] = adv
                a, b = f.face_line(adv)
                s.set_translation(f"face/{ident}", (a + b) / 2)
                s.set_property(f"face/{ident}", "advanced_m", adv, unit="m")
                goaf = f"hazard/goaf-{ident}"
                if goaf in s and self._goaf_initial.get(ident):
                    start = (f.start_line[0] + f.start_line[1]) / 2
                    s.set_translation(goaf, (start + (a + b) / 2) / 2)
                    s.set_scale(goaf, (adv / self._goaf_initial[ident], 1.0, 1.0))
            elif o.param == "goaf_area_m2" and f"hazard/goaf-{ident}" in s:
                s.set_property(f"hazard/goaf-{ident}", "area_m2", float(o.value), unit="m²")
        elif kind == "heading" and ident in self.model.headings:
            h = self.model.headings[ident]
            adv = float(o.value)
            s.set_translation(f"heading/{ident}", self.model.roadways[h.roadway].point_at(adv))
            s.set_property(f"heading/{ident}", "advanced_m", adv, unit="m")
        else:
            self.stats["refused: unknown face"] += 1

    def _station(self, o: Observation) -> None:
        node = f"{o.kind}/{o.key}"
        if node not in self.scene:
            self.stats[f"refused: unknown {o.kind}"] += 1
            return
        up = bool(o.value)
        self.scene.set_property(node, "online", up)
        self.scene.set_visual(node, color=0xFFFFFF if up else 0xE74C3C, blink=0.0 if up else 1.0)
