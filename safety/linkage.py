"""Linkage (联动) rules from the CDDY relations (issue #20.4; REFERENCE.md §3, §3a):

- **Feed abnormal** (馈电异常, YCBJ 003): a CH4 point commanding power off (the rule
  engine's power-off, or the monitoring system's own power-off state bit) must be followed by
  the feeders it cuts (relation ``D`` to a feeder 1011 / feed 1015 / breaker 1009 point)
  reading "no voltage" within ``feed_check_s``. A feeder still reading voltage by then is an
  alarm (level 3) on the feeder (one never heard from is not judged); it clears when the
  feeder reads no voltage or the command ends (re-powered).
- **Interlocked air doors open together** (relation ``G`` between air doors 1002): both
  doors of a pair open for ``door_pair_s`` or longer is an alarm (level 2) on the pair's first
  door; it clears when either closes.
- **A fan stopped without its standby** (relation ``Z``: a main fan and its standby, or a
  local fan pair): no fan of the group running for ``standby_start_s`` is an alarm (level 3
  for main fans, 2 for local fans) on the group's first fan; it clears when one runs.

The figures are the rule table's ``[linkage]`` (safety/default_rules.toml, a mine's rules
file overrides them); the reference gives none of them, so they are MineTwin's defaults
marked *verify* there.
"""

from __future__ import annotations

from typing import Iterable

from twin import MineModel, Observation, POINT_STATE, quantity_of

from .rules import Rule, RuleEvent, load_rule_table

__all__ = ["Linkage", "LINKAGE_DEFAULTS"]

LINKAGE_DEFAULTS = {"feed_check_s": 20.0, "door_pair_s": 0.0, "standby_start_s": 600.0}
#: Points whose 0 means "no voltage": the feeders a CH4 point's power-off must show on.
FEEDERS = ("feed", "breaker")
FANS = ("main_fan", "local_fan")


class Linkage:
    def __init__(self, model: MineModel, table: dict | None = None):
        doc = table if table is not None else load_rule_table()
        self.p = {**LINKAGE_DEFAULTS, **doc.get("linkage", {})}
        self.model = model
        key = {c: quantity_of(s.type_code).key for c, s in model.sensors.items()}
        self.key = key
        # feeder → the CH4 points cutting it; CH4 point → the feeders it cuts
        self.cut_by = {f: cs for f, cs in model.cut_by().items() if key.get(f) in FEEDERS}
        self.cuts: dict[str, tuple[str, ...]] = {}
        for f, cs in self.cut_by.items():
            for c in cs:
                self.cuts[c] = self.cuts.get(c, ()) + (f,)
        # interlocked door pairs (each once, in code order)
        self.pairs: list[tuple[str, str]] = sorted({
            tuple(sorted((code, other))) for code, s in model.sensors.items()
            if key[code] == "air_door" for other in s.related("G") if key.get(other) == "air_door"})
        # fan groups: a fan and its standbys, in CDDY order
        self.groups = [g for g in model.standby_groups()
                       if len(g) > 1 and all(key[c] in FANS for c in g)]
        self.watched = set(self.cuts) | set(self.cut_by) | \
            {d for pair in self.pairs for d in pair} | {f for g in self.groups for f in g}
        # the rules, made once
        self.feed_rules = {f: self._feed_rule(f) for f in self.cut_by}
        self.door_rules = {pair: self._door_rule(pair) for pair in self.pairs}
        self.fan_rules = {g: self._fan_rule(g) for g in self.groups}
        self.value: dict[str, tuple[bool, int]] = {}      # switch point → (on, time)
        self.command: dict[str, int] = {}                 # CH4 point → power-off since
        self.dead_since: dict[str, int] = {}              # feeder → its newest "no voltage"
        self.both_open: dict[tuple[str, str], int] = {}
        self.all_stopped: dict[tuple[str, ...], int] = {}
        self.raised: set[str] = set()                     # rule ids of the alarms standing
        self._restored: set[str] = set()
        self.clock = 0                                    # the newest data time seen (ms)

    # ------------------------------------------------------------------ rules

    def _rule(self, kind: str, point: str, threshold: float, level: int, source: str) -> Rule:
        return Rule(point, self.key[point], kind, level, alarm=threshold, source=source)

    def _feed_rule(self, feeder: str) -> Rule:
        return self._rule("feed_abnormal", feeder, self.p["feed_check_s"], 3,
                          f"CDDY relation D of {', '.join(self.cut_by[feeder])}: the feeder "
                          f"loses voltage within {self.p['feed_check_s']:g} s of a power-off "
                          f"(rule table [linkage], verify)")

    def _door_rule(self, pair: tuple[str, str]) -> Rule:
        return self._rule("pair_open", pair[0], self.p["door_pair_s"], 2,
                          f"CDDY relation G: air doors {pair[0]} and {pair[1]} interlocked, "
                          f"never both open")

    def _fan_rule(self, group: tuple[str, ...]) -> Rule:
        main = self.key[group[0]] == "main_fan"
        return self._rule("no_standby", group[0], self.p["standby_start_s"], 3 if main else 2,
                          f"CDDY relation Z: {group[0]} with standby {', '.join(group[1:])}; "
                          f"one runs again within {self.p['standby_start_s']:g} s (rule table "
                          f"[linkage], verify)")

    # ------------------------------------------------------------------ input

    def restore(self, powered_off: Iterable[str], open_rules: Iterable[str]) -> None:
        """After a restart: the CH4 points the rule engine holds powered off (their power-off
        time unknown: from the next tick), and this room's alarms still open."""
        self._restored = set(powered_off) & set(self.cuts)
        self.raised |= {r for r in open_rules if r.rsplit("/", 1)[-1] in
                        ("feed_abnormal", "pair_open", "no_standby")}

    def observe(self, observations: Iterable[Observation],
                events: Iterable[RuleEvent] = ()) -> list[RuleEvent]:
        """This tick's observations and the rule engine's events. Time passing is what raises
        a feed or standby alarm: the time is the data's (the newest reading of any kind the
        mine sent), so a drill's clock, a replayed day or a late file are judged in their
        own time, not the PC's."""
        out: list[RuleEvent] = []
        for o in observations:
            self.clock = max(self.clock, o.time_ms)
            if o.kind != "point" or o.key not in self.watched:
                continue
            if o.key in self.cuts:
                if o.state & POINT_STATE["power_off"]:
                    self.command.setdefault(o.key, o.time_ms)   # the system's own command
                continue
            if not isinstance(o.value, (bool, int, float)):
                continue
            old = self.value.get(o.key)
            if old is not None and o.time_ms < old[1]:
                continue                                         # history, not the present
            on = bool(o.value)
            self.value[o.key] = (on, o.time_ms)
            if not on and self.key[o.key] in FEEDERS:
                self.dead_since[o.key] = o.time_ms
        for e in events:
            if e.rule.point not in self.cuts:
                continue
            if e.kind == "power_off":
                self.command.setdefault(e.rule.point, e.time_ms)
            elif e.kind == "re_power":
                self.command.pop(e.rule.point, None)
        latest = self.clock
        for code in self._restored:
            self.command.setdefault(code, latest)
        self._restored = set()
        self._feeds(latest, out)
        self._doors(latest, out)
        self._fans(latest, out)
        return out

    # ------------------------------------------------------------------ judging

    def _set(self, rule: Rule, on: bool, t: int, value: float, out: list, node_point: str) -> None:
        if on and rule.id not in self.raised:
            self.raised.add(rule.id)
            out.append(RuleEvent("raise", rule, rule.point, t, value, float(rule.alarm or 0),
                                 f"sensor/{node_point}"))
        elif not on and rule.id in self.raised:
            self.raised.discard(rule.id)
            out.append(RuleEvent("clear", rule, rule.point, t, value, float(rule.alarm or 0),
                                 f"sensor/{node_point}"))

    def _feeds(self, now: int, out: list) -> None:
        limit = self.p["feed_check_s"] * 1000
        for feeder, rule in self.feed_rules.items():
            since = [self.command[c] for c in self.cut_by[feeder] if c in self.command]
            if not since:
                self._set(rule, False, now, 0.0, out, feeder)
                continue
            t0 = min(since)
            # a feeder never heard from is not judged (no data is the data watchdog's alarm)
            cut = self.dead_since.get(feeder, -1) >= t0 or \
                self.value.get(feeder, (False, 0))[0] is False
            late = now - t0 >= limit
            # (an alarm standing — raised before a restart too — holds until the feeder cuts)
            self._set(rule, not cut and (late or rule.id in self.raised), now, (now - t0) / 1000,
                      out, feeder)

    def _doors(self, now: int, out: list) -> None:
        for pair in self.pairs:
            a, b = (self.value.get(d, (False, 0)) for d in pair)
            rule = self.door_rules[pair]
            if a[0] and b[0]:
                since = self.both_open.setdefault(pair, max(a[1], b[1]))
                held = (now - since) / 1000
                self._set(rule, held >= self.p["door_pair_s"], now, held, out, pair[0])
            else:
                self.both_open.pop(pair, None)
                self._set(rule, False, now, 0.0, out, pair[0])

    def _fans(self, now: int, out: list) -> None:
        for group in self.groups:
            states = [self.value.get(f) for f in group]
            rule = self.fan_rules[group]
            if any(s is not None and s[0] for s in states) or any(s is None for s in states):
                self.all_stopped.pop(group, None)       # one runs (or not heard from yet)
                self._set(rule, False, now, 0.0, out, group[0])
                continue
            since = self.all_stopped.setdefault(group, max(s[1] for s in states))
            stopped = (now - since) / 1000
            self._set(rule, stopped >= self.p["standby_start_s"], now, stopped, out, group[0])
