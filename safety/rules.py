"""Alarm rules as data: the regulation table (``default_rules.toml``), a mine's own
``rules.toml``, and each sensor's CDDY thresholds, which win (REFERENCE.md §2).

``resolve_rules(model)`` gives every point its rules, each saying where its figures came
from; ``RuleEngine`` evaluates point observations against them with hysteresis and emits
:class:`RuleEvent` s (raise / clear, power-off / re-power). It keeps no history: the alarm
book (``alarms.py``) turns events into alarm records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from twin import MineModel, Observation, POINT_STATE, check_keys, quantity_of, read_toml

__all__ = ["Rule", "RuleEvent", "RuleEngine", "RulesError", "load_rule_table", "resolve_rules",
           "DEFAULT_RULES"]

DEFAULT_RULES = Path(__file__).with_name("default_rules.toml")
#: The tables of a rule file: thresholds (AQ 1029), air velocities (规程 §136), outburst and
#: spontaneous-combustion indices (hazard_indices.py).
RULE_TABLES = ("threshold", "velocity", "outburst", "combustion", "tube_bundle",
               "ground_pressure", "linkage", "reported")
_THRESHOLD_KEYS = {"quantity", "category", "name", "alarm", "alarm_clear", "low_alarm",
                   "low_alarm_clear", "power_off", "re_power", "level", "note"}
#: States that make a reading untrustworthy: no alarm is raised or cleared on them
#: (a calibrating sensor is not an alarm). Over range is *not* among them: a sensor past its
#: full scale reports the full scale, which is at least as bad as the value says.
_NOT_TRUSTED = POINT_STATE["calibrating"] | POINT_STATE["sensor_fault"] | \
    POINT_STATE["outstation_fault"] | POINT_STATE["not_polled"]


class RulesError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Rule:
    """The thresholds one point is held to, and where each came from."""

    point: str
    quantity: str
    name: str                       # "main" or a second tier's name
    level: int
    alarm: float | None = None
    alarm_clear: float | None = None
    low_alarm: float | None = None
    low_alarm_clear: float | None = None
    power_off: float | None = None
    re_power: float | None = None
    source: str = ""                # e.g. "sensor definition (CDDY)" or "rule table: …"

    @property
    def id(self) -> str:
        return f"{self.point}/{self.quantity}/{self.name}"


@dataclass(frozen=True, slots=True)
class RuleEvent:
    """A state change of a rule: ``kind`` is raise, clear, power_off or re_power."""

    kind: str
    rule: Rule
    point: str
    time_ms: int
    value: float
    threshold: float
    node: str | None = None       # the scene node it is about (default: sensor/<point>)


def load_rule_table(path: str | Path = DEFAULT_RULES) -> dict:
    doc = read_toml(path, RulesError)
    check_keys(doc, RULE_TABLES, str(path), RulesError)
    for i, row in enumerate(doc.get("threshold", []), start=1):
        unknown = set(row) - _THRESHOLD_KEYS
        if unknown or "quantity" not in row:
            raise RulesError(f"{path}: threshold {i}: unknown keys {sorted(unknown)} or no "
                             f"quantity")
        for k in _THRESHOLD_KEYS - {"quantity", "category", "name", "note", "level"}:
            if k in row and not isinstance(row[k], (int, float)):
                raise RulesError(f"{path}: threshold {i}.{k}: expected a number")
    return doc


def _merge(base: dict, override: dict) -> dict:
    """A mine's table replaces rows with the same identity and adds the rest."""
    def key(row: dict) -> tuple:
        return (row.get("quantity"), row.get("category"), row.get("name", "main"),
                row.get("roadway_type"), row.get("index"))
    out = {}
    for table in ("threshold", "velocity", "outburst", "combustion"):
        rows = {key(r): r for r in base.get(table, [])}
        rows.update({key(r): r for r in override.get(table, [])})
        out[table] = list(rows.values())
    for table in ("tube_bundle", "ground_pressure", "linkage"):
        out[table] = {**base.get(table, {}), **override.get(table, {})}
    return out


def rule_table(mine_rules: str | Path | None = None, table: dict | None = None) -> dict:
    """The rule table (``table``, or the shipped one) with a mine's ``rules.toml`` over it."""
    doc = table if table is not None else load_rule_table()
    if mine_rules is not None and Path(mine_rules).exists():
        doc = _merge(doc, load_rule_table(mine_rules))
    return doc


def resolve_rules(model: MineModel, table: dict | None = None,
                  mine_rules: str | Path | None = None) -> dict[str, list[Rule]]:
    """Every point's rules: the table row for its quantity and category (a category row
    beats a general one), second tiers beside it, velocity limits by roadway type, and the
    sensor's own CDDY thresholds over all of them."""
    doc = rule_table(mine_rules, table)
    rows = doc.get("threshold", [])
    out: dict[str, list[Rule]] = {}
    # A tube-bundle sample is the air of a goaf or a sealed area drawn to the analyser, not the
    # air where people work: the working-place limits (AQ 1029) are not its rules — the
    # tube-bundle rules (Graham ratio, fire-zone criteria) judge it; its own CDDY limits apply.
    tube = model.tube_bundle_points()
    for code, s in model.sensors.items():
        q = quantity_of(s.type_code).key
        mine = [r for r in rows if r["quantity"] == q] if code not in tube else []
        rules: list[Rule] = []
        for name in dict.fromkeys(r.get("name", "main") for r in mine):
            cands = [r for r in mine if r.get("name", "main") == name]
            row = next((r for r in cands if r.get("category") == s.category and s.category),
                       next((r for r in cands if "category" not in r), None))
            if row is None:
                continue
            where = f"rule table: {q}" + (f" {row['category']}" if "category" in row else "") + \
                (f" ({row['note']})" if "note" in row else "")
            rules.append(Rule(code, q, name, int(row.get("level", 2)), row.get("alarm"),
                              row.get("alarm_clear", row.get("alarm")), row.get("low_alarm"),
                              row.get("low_alarm_clear", row.get("low_alarm")),
                              row.get("power_off"), row.get("re_power", row.get("power_off")),
                              where))
        th = s.thresholds
        own = {k: v for k, v in (("alarm", th.upper_alarm), ("alarm_clear", th.upper_alarm_clear),
                                 ("low_alarm", th.lower_alarm),
                                 ("low_alarm_clear", th.lower_alarm_clear),
                                 ("power_off", th.upper_power_off),
                                 ("re_power", th.upper_re_power)) if v is not None}
        if own:
            main = next((r for r in rules if r.name == "main"), None)
            fields = {f: getattr(main, f) for f in ("alarm", "alarm_clear", "low_alarm",
                                                   "low_alarm_clear", "power_off", "re_power")} \
                if main else {}
            fields.update(own)
            if "alarm" in own and "alarm_clear" not in own:
                fields["alarm_clear"] = own["alarm"]
            new = Rule(code, q, "main", main.level if main else 2, source=
                       "sensor definition (CDDY)" + (f", else {main.source}" if main else ""),
                       **fields)
            rules = [new] + [r for r in rules if r.name != "main"]
        if s.roadway:
            rtype = model.roadways[s.roadway].type
            for v in doc.get("velocity", []):
                if q == "air_velocity" and v.get("roadway_type") == rtype:
                    rules.append(Rule(code, q, "velocity", 2, v.get("max"), v.get("max"),
                                      v.get("min"), v.get("min"), source=
                                      f"rule table: air velocity in {rtype} "
                                      f"{v.get('min', '–')}–{v.get('max', '–')} m/s"))
        if rules:
            out[code] = rules
    return out


class RuleEngine:
    """Evaluates point observations against their rules with hysteresis: an alarm is raised
    at or past its threshold and cleared only once the value has stayed back past its clear
    value for ``clear_hold_s``; power is cut at or above power-off and restored once the value
    has stayed below re-power as long."""

    def __init__(self, rules: dict[str, list[Rule]], *, clear_hold_s: float = 10.0):
        self.rules = rules
        self.clear_hold_ms = int(clear_hold_s * 1000)
        self.alarming: set[str] = set()        # rule ids in alarm
        self.powered_off: set[str] = set()     # rule ids with power cut
        self._ok_since: dict[tuple[str, str], int] = {}   # (rule id, what) -> first ok time
        self._newest: dict[str, int] = {}       # point -> the newest reading time judged
        self.untrusted = 0
        self.out_of_order = 0

    def alarm_bounds(self) -> dict[str, tuple[float | None, float | None]]:
        """Point code -> (upper alarm, lower alarm) of the rules it is held to (the lowest
        upper and the highest lower of its tiers): what the scene colours the point by, so a
        point any rule holds in alarm is never shown green."""
        out = {}
        for code, rules in self.rules.items():
            uppers = [r.alarm for r in rules if r.alarm is not None]
            lowers = [r.low_alarm for r in rules if r.low_alarm is not None]
            out[code] = (min(uppers, default=None), max(lowers, default=None))
        return out

    def restore(self, open_rules: Iterable[tuple[str, str]]) -> int:
        """After a restart: the rules the alarm book holds open ((rule id, kind) with kind
        ``alarm`` or ``power_off``) are in alarm again, so the next readings that no longer
        hold them clear them. Returns how many were restored."""
        ids = {r.id for rules in self.rules.values() for r in rules}
        n = 0
        for rule_id, kind in open_rules:
            if rule_id in ids:
                (self.powered_off if kind == "power_off" else self.alarming).add(rule_id)
                n += 1
        return n

    def _held(self, key: tuple[str, str], ok: bool, t: int) -> bool:
        """True once ``ok`` has held for clear_hold_s: a value hovering at a threshold that is
        also its clear value (AQ 1029 alarms at 1.0 and clears below 1.0) must not flap."""
        if not ok:
            self._ok_since.pop(key, None)
            return False
        first = self._ok_since.setdefault(key, t)
        if t - first >= self.clear_hold_ms:
            del self._ok_since[key]
            return True
        return False

    def evaluate(self, observations: Iterable[Observation]) -> list[RuleEvent]:
        events: list[RuleEvent] = []
        for o in observations:
            if o.kind != "point" or o.key not in self.rules:
                continue
            if isinstance(o.value, bool) or not isinstance(o.value, (int, float)):
                continue
            if o.time_ms < self._newest.get(o.key, o.time_ms):
                # Older than a reading already judged (a late file, a backfill): it is history,
                # not the present — it neither raises nor clears.
                self.out_of_order += 1
                continue
            self._newest[o.key] = o.time_ms
            if o.state & _NOT_TRUSTED:
                self.untrusted += 1
                continue
            v = float(o.value)
            for r in self.rules[o.key]:
                self._alarm(r, o, v, events)
                self._power(r, o, v, events)
        return events

    def _alarm(self, r: Rule, o: Observation, v: float, events: list[RuleEvent]) -> None:
        on = r.id in self.alarming
        if not on:
            if r.alarm is not None and v >= r.alarm:
                self.alarming.add(r.id)
                events.append(RuleEvent("raise", r, o.key, o.time_ms, v, r.alarm))
            elif r.low_alarm is not None and v <= r.low_alarm:
                self.alarming.add(r.id)
                events.append(RuleEvent("raise", r, o.key, o.time_ms, v, r.low_alarm))
            return
        high_ok = r.alarm is None or v < (r.alarm_clear if r.alarm_clear is not None else r.alarm)
        low_ok = r.low_alarm is None or v > (r.low_alarm_clear if r.low_alarm_clear is not None
                                             else r.low_alarm)
        if self._held((r.id, "alarm"), high_ok and low_ok, o.time_ms):
            self.alarming.discard(r.id)
            threshold = r.alarm_clear if r.alarm is not None else r.low_alarm_clear
            events.append(RuleEvent("clear", r, o.key, o.time_ms, v, float(threshold)))

    def _power(self, r: Rule, o: Observation, v: float, events: list[RuleEvent]) -> None:
        if r.power_off is None:
            return
        if r.id not in self.powered_off and v >= r.power_off:
            self.powered_off.add(r.id)
            events.append(RuleEvent("power_off", r, o.key, o.time_ms, v, r.power_off))
        elif r.id in self.powered_off and self._held(
                (r.id, "power"), v < (r.re_power if r.re_power is not None else r.power_off),
                o.time_ms):
            self.powered_off.discard(r.id)
            events.append(RuleEvent("re_power", r, o.key, o.time_ms, v,
                                    r.re_power if r.re_power is not None else r.power_off))
