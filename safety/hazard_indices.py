"""Hazard indices (REFERENCE.md §4) as rules over observations, from the same rule table:

- **outburst indicators** — hand measurements at a face (gas pressure, D, K, K1, S, Δh2, q),
  sent as observations of kind ``point`` with ``param`` = the index name, ``key`` = the
  measurement's id and ``place`` = the face (``face:<id>`` or ``heading:<id>``); a value at
  or above its critical value is an outburst-danger alarm (level 3) on that face's node;
- **spontaneous combustion** — the stage at a place (a roadway) is the highest
  ``[[combustion]]`` row whose index gas reads above its threshold there: CO rising →
  oxidation, C2H4 → fast oxidation, C2H2 → intense oxidation. The roadway node shows
  ``combustion_stage``; stage 2 and up is an alarm.
"""

from __future__ import annotations

from typing import Iterable

from scene import Scene
from twin import MineModel, Observation, quantity_of

from .rules import Rule, RuleEvent, load_rule_table

__all__ = ["HazardRules"]


class HazardRules:
    def __init__(self, model: MineModel, scene: Scene | None = None, table: dict | None = None):
        doc = table if table is not None else load_rule_table()
        self.model = model
        self.scene = scene
        self.outburst = {r["index"]: r for r in doc.get("outburst", [])}
        self.combustion = sorted(doc.get("combustion", []), key=lambda r: r["stage"])
        self._danger: set[str] = set()
        self._latest: dict[str, dict[str, float]] = {}   # roadway -> quantity -> max reading
        self._stage: dict[str, int] = {}
        self._quantity = {c: quantity_of(s.type_code).key for c, s in model.sensors.items()}
        if scene is not None:
            scene.define_property("combustion_stage", "int")
            scene.define_property("outburst_danger", "bool")

    def observe(self, observations: Iterable[Observation]) -> list[RuleEvent]:
        out: list[RuleEvent] = []
        changed_roads: dict[str, int] = {}
        for o in observations:
            if o.kind != "point" or isinstance(o.value, bool) or \
                    not isinstance(o.value, (int, float)):
                continue
            if o.param in self.outburst:
                self._outburst(o, out)
                continue
            q = self._quantity.get(o.key)
            s = self.model.sensors.get(o.key)
            if q is None or s is None or s.roadway is None:
                continue
            self._latest.setdefault(s.roadway, {})[f"{o.key}"] = float(o.value)
            changed_roads[s.roadway] = o.time_ms
        for road, t in changed_roads.items():
            self._combustion(road, t, out)
        return out

    def _outburst(self, o: Observation, out: list[RuleEvent]) -> None:
        row = self.outburst[o.param]
        node = (o.place or "").replace(":", "/", 1)
        if not node or (self.scene is not None and node not in self.scene):
            return
        rule = Rule(f"{o.place}", "outburst", o.param, 3, alarm=row["critical"],
                    source=f"rule table: outburst index {o.param} critical {row['critical']:g}"
                           + (f" ({row['note']})" if "note" in row else ""))
        key = f"{o.place}/{o.param}"
        danger = float(o.value) >= row["critical"]
        if danger and key not in self._danger:
            self._danger.add(key)
            out.append(RuleEvent("raise", rule, o.place or "", o.time_ms, float(o.value),
                                 row["critical"], node))
        elif not danger and key in self._danger:
            self._danger.discard(key)
            out.append(RuleEvent("clear", rule, o.place or "", o.time_ms, float(o.value),
                                 row["critical"], node))
        if self.scene is not None:
            self.scene.set_property(node, "outburst_danger", any(
                k.startswith(f"{o.place}/") for k in self._danger))

    def _combustion(self, road: str, t: int, out: list[RuleEvent]) -> None:
        readings = self._latest[road]
        stage, name = 0, ""
        for row in self.combustion:
            if any(self._quantity[c] == row["quantity"] and v > row["above"]
                   for c, v in readings.items()):
                if row["stage"] >= stage:
                    stage, name = row["stage"], row["name"]
        before = self._stage.get(road, 0)
        if stage == before:
            return
        self._stage[road] = stage
        node = f"roadway/{road}"
        if self.scene is not None and node in self.scene:
            self.scene.set_property(node, "combustion_stage", stage)
        rule = Rule(road, "combustion", "stage", 3 if stage >= 3 else 2, alarm=2.0,
                    source=f"rule table: spontaneous combustion index gases ({name or 'none'})")
        if stage >= 2 > before:
            out.append(RuleEvent("raise", rule, road, t, float(stage), 2.0, node))
        elif before >= 2 > stage:
            out.append(RuleEvent("clear", rule, road, t, float(stage), 2.0, node))
