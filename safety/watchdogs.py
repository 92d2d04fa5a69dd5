"""Rules over time and over people (REFERENCE.md §2–3; AQ 1119-2023):

- **data quality**: a point with no data for ``stale_after_s`` (a tube-bundle point:
  ``tube_stale_after_s``, its analyses come every few minutes) is *stale* — judged on the
  point's own data clock (its last reading's time, moved on by the time since it arrived), so a
  feed that delivers readings hours late but steadily is not stale, and a stale alarm is dated
  when the point went quiet on that clock, never after the reading that clears it; an analog point
  repeating exactly the same value ``stuck_after`` times in a row is *stuck*; both show on the
  sensor node (``data_state``, grey) and raise a notice;
- **rate of change**: CH4 rising faster than ``rise_per_min`` (%/min) over ``window_s`` is a
  pre-warning before any threshold is reached;
- **gas–power interlock**: a heading's local fan stopped while CH4 in that heading is at or
  above ``interlock_ch4`` is a violation;
- **personnel**: underground longer than ``overtime_h`` (overtime, RYCS), more people in an
  area than its rated headcount (overcrowding, RYCY), anyone in a restricted area, an SOS,
  a reader offline.

Every check emits the same :class:`~safety.rules.RuleEvent` s as the threshold rules,
so the alarm book handles all alarms one way. All limits are parameters with safe defaults
(and keys in ``[rules]`` of the configuration).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable

from scene import Scene
from twin import CARD_STATE, MineModel, Observation, quantity_of
from twin import TUBE_BUNDLE_SILENCE_S

from .rules import Rule, RuleEvent

__all__ = ["Limits", "Watchdogs"]


@dataclass(frozen=True, slots=True)
class Limits:
    stale_after_s: float = 120.0
    #: a tube-bundle point's analyses come every few minutes: silent this long is no data
    tube_stale_after_s: float = TUBE_BUNDLE_SILENCE_S
    stuck_after: int = 150             # identical analog readings in a row (5 min at 2 s)
    rise_per_min: float = 0.1          # CH4 %/min
    window_s: float = 300.0
    interlock_ch4: float = 0.5         # %
    overtime_h: float = 10.0


#: Conditions that clear only after ``clear_hold_s`` off (see Watchdogs._cond).
_HELD = frozenset({"overcrowded", "rising fast", "fan stopped with gas"})


class _Condition:
    """A yes/no condition that emits raise/clear on its edges. It clears only once it has
    stayed off for ``hold_ms`` (the rules' ``clear_hold_s``): a headcount hovering at an
    area's rating, or a card blinking in and out of a reader's range, must not flap."""

    __slots__ = ("rule", "node", "on", "since", "hold_ms", "off_since")

    def __init__(self, rule: Rule, node: str, on: bool = False, hold_ms: int = 0):
        self.rule, self.node, self.on, self.since = rule, node, on, None
        self.hold_ms, self.off_since = hold_ms, None

    def update(self, on: bool, t: int, value: float, threshold: float, out: list) -> None:
        if on or not self.on:
            self.off_since = None
        if on == self.on:
            return
        if not on and self.hold_ms:
            if self.off_since is None:
                self.off_since = t
            if t - self.off_since < self.hold_ms:
                return
            self.off_since = None
        self.on = on
        if on:
            self.since = t
        elif self.since is not None:
            t = max(t, self.since)          # a clear never precedes its raise
        out.append(RuleEvent("raise" if on else "clear", self.rule, self.rule.point, t,
                             value, threshold, self.node))


class Watchdogs:
    def __init__(self, model: MineModel, scene: Scene | None = None, limits: Limits = Limits(),
                 *, clear_hold_s: float = 10.0):
        self.model = model
        self.scene = scene
        self.limits = limits
        self.clear_hold_ms = int(clear_hold_s * 1000)
        self._conds: dict[tuple[str, str], _Condition] = {}
        self._restored: set[str] = set()           # rule ids open in the alarm book at start
        self._last_seen: dict[str, int] = {}
        self._arrived: dict[str, int] = {}         # point -> the tick time its last reading came
        self._now: int | None = None               # the latest tick's time
        self._unarrived: set[str] = set()          # points read before the first tick
        self._last_value: dict[str, float] = {}
        self._repeats: dict[str, int] = {}
        self._ch4_recent: dict[str, deque] = {}
        self._latest_ch4: dict[str, float] = {}
        self._fan_running: dict[str, bool] = {}
        self._card_in: dict[str, int] = {}        # card -> time it went underground
        self._card_area: dict[str, str] = {}
        self._sos: set[str] = set()
        self._reader_up: dict[str, bool] = {}
        self._analog = {c for c, s in model.sensors.items()
                        if quantity_of(s.type_code).kind == "analog"}
        self._tube = model.tube_bundle_points()
        # (a tube-bundle sample is the goaf's air, not a roadway's: not the CH4 watchdogs')
        self._ch4 = {c for c, s in model.sensors.items() if quantity_of(s.type_code).key == "ch4"
                     and c not in self._tube}
        # Heading roadway -> its CH4 points and its local fans.
        self._heading_ch4: dict[str, list[str]] = {}
        self._heading_fans: dict[str, list[str]] = {}
        for h in model.headings.values():
            self._heading_ch4[h.id] = [c for c in self._ch4
                                       if model.sensors[c].roadway == h.roadway]
            self._heading_fans[h.id] = sorted(e.id for e in model.equipment.values()
                                              if e.kind == "local_fan" and e.roadway == h.roadway)
        if scene is not None:
            scene.define_property("data_state", "str")
            scene.define_property("headcount", "int")

    def _cond(self, key: str, name: str, node: str, level: int, source: str,
              quantity: str) -> _Condition:
        c = self._conds.get((key, name))
        if c is None:
            rule = Rule(key, quantity, name, level, source=source)
            # Held: what hovers at a limit and is judged again every tick or reading (a
            # headcount at the rating, CH4's rise, the interlock). Not held: facts (data came,
            # a value changed, a person came up, an SOS was cancelled) — a person who has left
            # sends nothing more that could end a hold.
            hold = self.clear_hold_ms if name in _HELD else 0
            c = self._conds[(key, name)] = _Condition(rule, node, rule.id in self._restored,
                                                      hold)
        return c

    def restore(self, open_rule_ids: Iterable[str], last_seen: dict[str, int] | None = None
                ) -> None:
        """After a restart: the conditions whose alarms the book holds open are on again (so
        what no longer holds clears them), and each point's last reading time is known (so a
        point that never reports again goes stale)."""
        self._restored = set(open_rule_ids)
        for c in self._conds.values():
            c.on = c.rule.id in self._restored
        for code, t in (last_seen or {}).items():
            self._last_seen.setdefault(code, t)

    # ------------------------------------------------------------------ feeding

    def observe(self, observations: Iterable[Observation]) -> list[RuleEvent]:
        out: list[RuleEvent] = []
        for o in observations:
            if o.kind == "point" and o.key in self.model.sensors:
                self._point(o, out)
            elif o.kind == "equipment" and o.param == "running":
                self._fan_running[o.key] = bool(o.value)
            elif o.kind == "card" and o.key in self.model.people:
                self._card(o, out)
            elif o.kind == "reader" and o.key in self.model.readers:
                up = bool(o.value)
                self._reader_up[o.key] = up
                self._cond(o.key, "reader offline", f"reader/{o.key}", 2,
                           "AQ 1119: reader (base station) state", "personnel").update(
                    not up, o.time_ms, 0.0 if up else 1.0, 1.0, out)
        return out

    def _point(self, o: Observation, out: list[RuleEvent]) -> None:
        code = o.key
        self._last_seen[code] = max(o.time_ms, self._last_seen.get(code, o.time_ms))
        if self._now is not None:
            self._arrived[code] = self._now
        else:                     # before the first tick: it arrives with that tick
            self._unarrived.add(code)
        stale = self._cond(code, "stale", f"sensor/{code}", 1, "data quality: no data", "data")
        stale.update(False, o.time_ms, 0.0, self.limits.stale_after_s, out)
        if code in self._analog and isinstance(o.value, (int, float)) and \
                not isinstance(o.value, bool):
            v = float(o.value)
            self._repeats[code] = self._repeats.get(code, 0) + 1 \
                if self._last_value.get(code) == v else 1
            self._last_value[code] = v
            self._cond(code, "stuck", f"sensor/{code}", 1,
                       f"data quality: the same value {self.limits.stuck_after} times",
                       "data").update(self._repeats[code] >= self.limits.stuck_after,
                                      o.time_ms, v, float(self.limits.stuck_after), out)
            if code in self._ch4:
                self._latest_ch4[code] = v
                recent = self._ch4_recent.setdefault(code, deque())
                recent.append((o.time_ms, v))
                while recent and recent[0][0] < o.time_ms - self.limits.window_s * 1000:
                    recent.popleft()
                t0, v0 = recent[0]
                minutes = (o.time_ms - t0) / 60000
                rate = (v - v0) / minutes if minutes >= self.limits.window_s / 120 else 0.0
                self._cond(code, "rising fast", f"sensor/{code}", 1,
                           f"rate of change: CH4 rising more than {self.limits.rise_per_min} %/min "
                           f"over {self.limits.window_s:g} s", "ch4").update(
                    rate > self.limits.rise_per_min, o.time_ms, round(rate, 4),
                    self.limits.rise_per_min, out)
        self._show(code)

    def _card(self, o: Observation, out: list[RuleEvent]) -> None:
        card = o.key
        node = f"person/{card}"
        inside = bool(o.value)
        if inside and card not in self._card_in:
            self._card_in[card] = o.time_ms
        elif not inside:
            self._card_in.pop(card, None)
        hours = (o.time_ms - self._card_in[card]) / 3_600_000 if inside else 0.0
        self._cond(card, "overtime", node, 2, f"AQ 1119: underground over "
                   f"{self.limits.overtime_h:g} h (RYCS)", "personnel").update(
            inside and hours > self.limits.overtime_h, o.time_ms, round(hours, 2),
            self.limits.overtime_h, out)
        sos = inside and bool(o.state & CARD_STATE["sos"])
        self._cond(card, "sos", node, 3, "AQ 1119: a person's SOS", "personnel").update(
            sos, o.time_ms, 1.0 if sos else 0.0, 1.0, out)
        area = o.area if inside else None
        if area:
            self._card_area[card] = area
        else:
            self._card_area.pop(card, None)
        a = self.model.areas.get(area or "")
        restricted = a is not None and a.kind == "restricted"
        self._cond(card, "restricted area", node, 3, "AQ 1119: entering a restricted area",
                   "personnel").update(restricted, o.time_ms, 1.0 if restricted else 0.0, 1.0,
                                       out)

    # ------------------------------------------------------------------ per tick

    def tick(self, now_ms: int) -> list[RuleEvent]:
        """Checks that depend on time passing or on everyone at once: stale points,
        the interlock, headcounts per area."""
        out: list[RuleEvent] = []
        self._now = now_ms
        for code in self._unarrived:
            self._arrived.setdefault(code, now_ms)
        self._unarrived.clear()
        conds, sensors = self._conds, self.model.sensors
        for code, last in self._last_seen.items():
            if code not in sensors:
                continue
            limit_s = self.limits.tube_stale_after_s if code in self._tube else \
                self.limits.stale_after_s
            limit_ms = limit_s * 1000
            arrived = self._arrived.get(code)
            # The point's data clock: its last reading's time, moved on by the time since it
            # arrived (the wall clock itself when that is unknown).
            clock = now_ms if arrived is None else min(now_ms, last + now_ms - arrived)
            stale = clock - last > limit_ms
            c = conds.get((code, "stale"))
            if stale == (c.on if c is not None else f"{code}/data/stale" in self._restored):
                continue                       # (the common case, without making a condition)
            c = self._cond(code, "stale", f"sensor/{code}", 1, "data quality: no data", "data")
            if stale != c.on:
                t = min(clock, int(last + limit_ms) + 1) if stale else clock
                c.update(stale, t, (clock - last) / 1000, limit_s, out)
                self._show(code)
        for hid, points in self._heading_ch4.items():
            fans = self._heading_fans.get(hid, [])
            if not fans or not points:
                continue
            known = [self._fan_running[f] for f in fans if f in self._fan_running]
            stopped = bool(known) and not any(known)
            ch4 = max((self._latest_ch4.get(p, 0.0) for p in points), default=0.0)
            self._cond(f"heading:{hid}", "fan stopped with gas", f"heading/{hid}", 3,
                       f"gas–power interlock: local fans stopped while CH4 ≥ "
                       f"{self.limits.interlock_ch4} %", "interlock").update(
                stopped and ch4 >= self.limits.interlock_ch4, now_ms, ch4,
                self.limits.interlock_ch4, out)
        counts: dict[str, int] = {}
        for area in self._card_area.values():
            counts[area] = counts.get(area, 0) + 1
        for code, a in self.model.areas.items():
            n = counts.get(code, 0)
            if self.scene is not None and f"area/{code}" in self.scene:
                self.scene.set_property(f"area/{code}", "headcount", n)
            if a.kind == "restricted":
                continue
            self._cond(code, "overcrowded", f"area/{code}", 2,
                       f"AQ 1119: more than the rated {a.rated_headcount} people (RYCY)",
                       "personnel").update(n > a.rated_headcount, now_ms, float(n),
                                           float(a.rated_headcount), out)
        return out

    def headcounts(self) -> dict[str, int]:
        """People per area now, and ``underground`` (everyone below the shaft)."""
        counts: dict[str, int] = {code: 0 for code in self.model.areas}
        for area in self._card_area.values():
            counts[area] = counts.get(area, 0) + 1
        counts["underground"] = len(self._card_in)
        return counts

    def _flag(self, key: str, name: str) -> bool:
        c = self._conds.get((key, name))
        return c is not None and c.on

    def _show(self, code: str) -> None:
        """A stale or stuck point is drawn grey, whatever its last value said."""
        node = f"sensor/{code}"
        if self.scene is None or node not in self.scene:
            return
        state = "stale" if self._flag(code, "stale") else (
            "stuck" if self._flag(code, "stuck") else "ok")
        self.scene.set_property(node, "data_state", state)
        if state != "ok":
            self.scene.set_visual(node, color=0x95A5A6, blink=0.0)
