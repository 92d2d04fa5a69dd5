"""Drill scenarios: what happens, where and when, written in TOML (docs/simulator.md).

```toml
name = "11901 outburst drill"
[[event]]
type = "gas_outburst"      # gas_outburst, fire, water_inrush, roof_fall, sensor_fault,
at = "00:20:00"            #   reader_failure, sos, feeder_stuck, door_open, fan_stop,
                           #   goaf_heating, roof_separation —
                           #   time after the simulation starts
place = "face:11901"       # face:<id>, heading:<id>, roadway:<id>@<chainage>,
                           #   point:<code>, reader:<code>, card:<code>,
                           #   tubebundle:<id>
duration = "00:30:00"      # optional (default per type)
magnitude = 8.0            # optional: peak CH4 % (outburst), peak CO ppm (fire),
                           #   inflow m³/h (water inrush), minutes until the standby
                           #   starts (fan_stop; 0: it does not), Graham ratio rise a
                           #   day (goaf_heating), mm a day (roof_separation)
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from twin.tomlfile import check_keys, read_toml

__all__ = ["Event", "Scenario", "ScenarioError", "EVENT_TYPES", "load_scenario", "parse_scenario"]

#: type → (default duration s, default magnitude, what the place must be)
#: The keys of an ``[[event]]`` table (docs/simulator.md).
EVENT_KEYS = ("type", "at", "place", "duration", "magnitude")
EVENT_TYPES = {
    "gas_outburst": (1800.0, 8.0, ("face", "heading")),
    "fire": (3600.0, 150.0, ("roadway",)),
    "water_inrush": (7200.0, 600.0, ("roadway",)),
    "roof_fall": (86400.0, 1.0, ("roadway",)),
    "sensor_fault": (3600.0, 1.0, ("point",)),
    "reader_failure": (3600.0, 1.0, ("reader",)),
    "sos": (900.0, 1.0, ("card",)),
    # linkage drills (CDDY relations, safety/linkage.py): a feeder that keeps its voltage
    # when its CH4 points cut the power; an air door standing open (two events: a pair); a
    # fan stopping, its standby starting after `magnitude` minutes (0: not at all)
    "feeder_stuck": (3600.0, 1.0, ("point",)),
    "door_open": (300.0, 1.0, ("point",)),
    "fan_stop": (1800.0, 0.0, ("point",)),
    # a heating goaf behind a seal or a face: the tube-bundle analyses' Graham ratio rises by
    # `magnitude` a day; a roof separation point opening `magnitude` mm a day
    "goaf_heating": (7 * 86400.0, 0.3, ("tubebundle",)),
    "roof_separation": (86400.0, 12.0, ("point",)),
}


class ScenarioError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    at_s: float
    place_kind: str
    place: str
    chainage_m: float | None
    duration_s: float
    magnitude: float

    def active(self, t_s: float) -> bool:
        return self.at_s <= t_s < self.at_s + self.duration_s

    def progress(self, t_s: float) -> float:
        """0 before, rising 0→1 after the start, 1 for its duration (never negative)."""
        return max(0.0, min(1.0, (t_s - self.at_s) / self.duration_s))


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    events: tuple[Event, ...]


def _seconds(text: object, where: str) -> float:
    if isinstance(text, (int, float)):
        return float(text)
    try:
        parts = [float(p) for p in str(text).split(":")]
    except ValueError:
        raise ScenarioError(f"{where}: {text!r} is not HH:MM:SS or seconds") from None
    if len(parts) != 3:
        raise ScenarioError(f"{where}: {text!r} is not HH:MM:SS or seconds")
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def parse_scenario(doc: dict, source: str = "<scenario>") -> Scenario:
    check_keys(doc, ("name", "event"), source, ScenarioError)
    events = []
    for i, e in enumerate(doc.get("event", []), start=1):
        where = f"{source}: event {i}"
        check_keys(e, EVENT_KEYS, where, ScenarioError)
        etype = e.get("type")
        if etype not in EVENT_TYPES:
            raise ScenarioError(f"{where}: type {etype!r} is not one of {', '.join(EVENT_TYPES)}")
        duration, magnitude, kinds = EVENT_TYPES[etype]
        place = str(e.get("place", ""))
        kind, _, rest = place.partition(":")
        if kind not in kinds or not rest:
            raise ScenarioError(f"{where}: place {place!r} must be "
                                f"{' or '.join(k + ':…' for k in kinds)}")
        chainage = None
        if kind == "roadway":
            rid, _, ch = rest.partition("@")
            try:
                chainage = float(ch)
            except ValueError:
                raise ScenarioError(f"{where}: place {place!r} must be roadway:<id>@<chainage m>") \
                    from None
            rest = rid
        events.append(Event(etype, _seconds(e.get("at", 0), f"{where}.at"), kind, rest, chainage,
                            _seconds(e["duration"], f"{where}.duration") if "duration" in e
                            else duration, float(e.get("magnitude", magnitude))))
    return Scenario(str(doc.get("name", source)), tuple(sorted(events, key=lambda ev: ev.at_s)))


def load_scenario(path: str | Path) -> Scenario:
    return parse_scenario(read_toml(path, ScenarioError), str(path))
