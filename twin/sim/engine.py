"""The simulation engine: people, faces, air and gas, sensors, equipment, scenario events."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import numpy as np

from ..model import MineModel, Roadway
from ..network import Location, Network, Route
from ..observation import CARD_STATE, POINT_STATE, FeedQueue, Observation
from ..sensor_types import quantity_of
from twin.kj_format import format_time, write_upload
from .scenarios import Event, Scenario

__all__ = ["Simulator", "SHIFTS", "AIR_QUANTITY_M3_MIN"]

#: 三八制: three eight-hour shifts in the mine's local time (start hour, name).
SHIFTS = ((0, "夜班"), (8, "早班"), (16, "中班"))

#: Air quantity (m³/min) by roadway type: velocity in a roadway = quantity / cross-section.
AIR_QUANTITY_M3_MIN = {"gateroad": 900.0, "heading": 250.0, "cut_through": 150.0,
                       "district_intake": 2600.0, "district_return": 3000.0, "belt": 1200.0,
                       "haulage": 1500.0, "track": 1500.0, "main_intake": 4500.0,
                       "main_return": 6500.0}
HEADING_AIR_M3_MIN = 250.0
_WALK_M_S = (1.0, 1.4)
_POINT_PERIOD_S = 2.0
#: A tube-bundle analyser draws each sampling point's air in turn: one analysis per point
#: every this many seconds (MT/T 757: "every few minutes"; 10 minutes here).
TUBE_BUNDLE_PERIOD_S = 600.0
_EQUIPMENT_PERIOD_S = 5.0
_HISTORY_S = 4 * 3600
SHEARER_DRUM_DIAMETER_M = 1.8    # the demo shearers (the equipment library's default drum)


def _area(r: Roadway) -> float:
    o = r.profile.outline()
    x, y = o[:, 0], o[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2)


@dataclass
class _Person:
    card: str
    team: str
    shift: int
    workplace: str                  # "face:<id>", "heading:<id>", "roadway:<id>@<ch>", "surface"
    post: float                     # a fixed fraction: where along the face / patrol offset
    speed: float
    state: str = "out"              # out, going_in, working, going_out
    route: Route | None = None
    s: float = 0.0                  # metres walked along the route
    loc: Location | None = None
    on_face: str | None = None      # longwall id while on the face line
    wander: float = 0.0
    sos: bool = False
    next_change_s: float = 0.0


@dataclass
class _Source:
    """A gas source signal (CH4 % in the air leaving the place) and its recent history."""

    base: float
    history: deque = field(default_factory=lambda: deque(maxlen=_HISTORY_S))
    drift: float = 0.0
    value: float = 0.0


@dataclass
class _Point:
    code: str
    quantity: str
    unit: str | None
    switch: bool
    base: float
    noise: float
    sources: list = field(default_factory=list)     # (source key, lag s, factor)
    roadway: str | None = None
    chainage: float | None = None
    last: float | bool | None = None
    state: int = 0
    frozen: float | None = None
    range_high: float | None = None
    period_s: float = 0.0          # 0: every point cycle; a tube-bundle gas: its analysis cycle
    next_s: float = 0.0


class Simulator:
    def __init__(self, model: MineModel, *, seed: int = 0, start: datetime | None = None,
                 scenario: Scenario | None = None, step_s: float = 1.0,
                 network: Network | None = None, source: str = "sim",
                 truth=None, map_every_m: float = 4.8):
        self.model = model
        self.rng = np.random.default_rng(seed)
        self.tz = ZoneInfo(model.mine.time_zone)
        start = start or datetime(2026, 11, 2, 7, 30, tzinfo=self.tz)
        self.start = start if start.tzinfo else start.replace(tzinfo=self.tz)
        self.start_ms = int(self.start.timestamp() * 1000)
        self.step_s = step_s
        self.t_s = 0.0
        self.source = source
        self.scenario = scenario or Scenario("none", ())
        self._started_events: set[int] = set()
        self.net = network or Network(model.roadways)
        self._portal = self._find_portal()
        self._readers_by_roadway: dict[str, list] = {}
        for rd in model.readers.values():
            if rd.roadway is not None:
                self._readers_by_roadway.setdefault(rd.roadway, []).append(rd)
        self._failed_readers: set[str] = set()
        self._blocked: dict[str, float] = {}          # roadway -> chainage of a roof fall
        self.people = self._make_people()
        self.sources: dict[str, _Source] = {}
        for f in model.longwalls.values():
            self.sources[f"face:{f.id}"] = _Source(base=0.30)
        for h in model.headings.values():
            self.sources[f"heading:{h.id}"] = _Source(base=0.20)
        # tube-bundle gases: point code -> (sampling point, gas)
        self._tube_of = {code: (tb.id, gas) for tb in model.tube_bundle.values()
                         for gas, code in {**tb.gases, **tb.temperatures}.items()}
        self.points = {p.code: p for p in self._make_points()}
        # CDDY linkage: the CH4 points cutting each feeder's power (relation D), and the fan
        # groups of a main and its standby (relation Z; the first of a group in CDDY order runs)
        self._cut_by = model.cut_by()
        self._cutters = {c for cs in self._cut_by.values() for c in cs}
        self._cutting: set[str] = set()
        self._fan_group = {c: g for g in model.standby_groups() for c in g}
        # the main fans' KG points, in the order of the equipment main-fan-1, -2 …
        self._main_fans = next((g for c, g in self._fan_group.items()
                                if self.points[c].quantity == "main_fan"), ())
        self._next_points = 0.0
        self._next_equipment = 0.0
        self._sump_level = 2.0
        self._inflow = 120.0
        self.lag_s = 0.0          # simulated time skipped because the simulator fell behind
        self._support_last: dict[str, float] = {}
        self._support_along: dict[str, float] = {}
        # Face and heading mapping (exposure points) from the demo's hidden truth, when the
        # mine has one: the simulator plays the mine's geologist.
        self.truth = truth
        self.map_every_m = map_every_m
        self._mapped = {f"face:{f.id}": int(f.advanced_m // map_every_m)
                        for f in model.longwalls.values()}
        self._mapped.update({f"heading:{h.id}": int(h.advanced_m // map_every_m)
                             for h in model.headings.values()})
        self._map_rng = np.random.default_rng(seed + 3003)

    # ------------------------------------------------------------------ time

    @property
    def now_ms(self) -> int:
        return self.start_ms + int(round(self.t_s * 1000))

    def local_time(self) -> datetime:
        return datetime.fromtimestamp(self.now_ms / 1000, tz=self.tz)

    def shift_now(self) -> int:
        h = self.local_time().hour
        return 0 if h < 8 else (1 if h < 16 else 2)

    def advance(self, seconds: float) -> list[Observation]:
        """Simulate ``seconds`` more; returns the observations emitted, in time order."""
        out: list[Observation] = []
        end = self.t_s + seconds
        while self.t_s + self.step_s <= end + 1e-9:
            self.t_s += self.step_s
            self._step(out)
        return out

    def run_until(self, t_s: float) -> list[Observation]:
        return self.advance(max(0.0, t_s - self.t_s))

    def system(self, queue: FeedQueue, *, rate: float = 1.0, budget_s: float = 0.05,
               wall: Callable[[], float] = time.monotonic) -> Callable:
        """A tick-loop system: moves the simulation's target time on by ``rate`` × the wall
        time since the last tick (``wall``, seconds — not the tick's time, which in a drill is
        the simulation's own clock), simulates towards it for at most ``budget_s`` of CPU time
        per tick, and queues what it emits (the tick drains the queue like any feed's).

        A simulator that cannot keep up with ``rate`` falls behind — ``lag_s`` says by how
        much — rather than making the tick late."""
        state = {"last": None, "target": self.t_s}

        def system(scene, now_ms: int) -> None:
            now = wall()
            if state["last"] is None:
                state["last"] = now
            state["target"] += (now - state["last"]) * rate
            state["last"] = now
            deadline = time.perf_counter() + budget_s
            out: list[Observation] = []
            while self.t_s + self.step_s <= state["target"] + 1e-9 and \
                    time.perf_counter() < deadline:
                self.t_s += self.step_s
                self._step(out)
            self.lag_s = max(0.0, state["target"] - self.t_s)
            queue.put_many(out)
        return system

    # ------------------------------------------------------------------ the model

    def _find_portal(self) -> Location:
        best = None
        for r in self.model.roadways.values():
            if r.type == "main_intake":
                for ch in (0.0, r.length_m):
                    z = r.point_at(ch)[2]
                    if best is None or z > best[0]:
                        best = (z, Location(r.id, ch))
        if best is None:
            r = next(iter(self.model.roadways.values()))
            return Location(r.id, 0.0)
        return best[1]

    def _make_people(self) -> list[_Person]:
        m = self.model
        faces = list(m.longwalls)
        headings = list(m.headings)
        eq_spots = [e for e in m.equipment.values() if e.roadway is not None]
        sensors_on_roads = [s for s in m.sensors.values() if s.roadway is not None]
        people = []
        # heading teams in the order they first appear: the first drives the first heading …
        crews = list(dict.fromkeys(p.team for p in sorted(m.people.values(), key=lambda p: p.card)
                                   if "掘进" in p.team))
        for i, p in enumerate(sorted(m.people.values(), key=lambda p: p.card)):
            team = p.team
            shift = int(self.rng.integers(0, 3))
            if "综采" in team and faces:
                wp = f"face:{faces[0]}"
            elif "掘进" in team and headings:
                wp = f"heading:{headings[crews.index(team) % len(headings)]}"
            elif ("机电" in team or "运输" in team) and eq_spots:
                e = eq_spots[int(self.rng.integers(len(eq_spots)))]
                wp = f"roadway:{e.roadway}@{e.chainage_m}"
            elif ("通风" in team or "安检" in team or p.leader) and sensors_on_roads:
                s = sensors_on_roads[int(self.rng.integers(len(sensors_on_roads)))]
                wp = f"roadway:{s.roadway}@{s.chainage_m}"
            elif "调度" in team:
                wp = "surface"
            else:
                wp = f"roadway:{self._portal.roadway}@{self._portal.chainage_m}"
            if p.leader and "矿领导" in team:
                shift = i % 3
            people.append(_Person(card=p.card, team=team, shift=shift, workplace=wp,
                                  post=float(self.rng.uniform(0.05, 0.95)),
                                  speed=float(self.rng.uniform(*_WALK_M_S))))
        return people

    def _make_points(self) -> list[_Point]:
        m = self.model
        pts = []
        for s in m.sensors.values():
            q = quantity_of(s.type_code)
            switch = q.kind == "switch"
            base, noise = {
                "ch4": (0.04, 0.01), "co": (1.5, 0.4), "o2": (20.75, 0.03), "co2": (0.08, 0.01),
                "temperature": (21.0, 0.15), "air_velocity": (1.0, 0.02),
                "negative_pressure": (2.35, 0.02), "dust": (2.5, 0.4),
                "roof_separation": (3.0, 0.05), "borehole_stress": (8.0, 0.1),
                "rock_stress": (12.0, 0.1), "n2": (79.0, 0.05),
                "air_quantity": (6800.0, 40.0)}.get(q.key, (0.0, 0.0))
            p = _Point(s.point_code, q.key, q.unit, switch, base, noise, roadway=s.roadway,
                       chainage=s.chainage_m, range_high=s.range[1])
            r = m.roadways.get(s.roadway) if s.roadway else None
            if q.key == "air_velocity" and r is not None:
                p.base = AIR_QUANTITY_M3_MIN.get(r.type, 600.0) / 60.0 / _area(r)
                if any(h.roadway == r.id for h in m.headings.values()):
                    p.base = HEADING_AIR_M3_MIN / 60.0 / _area(r)
            if q.key == "temperature":
                p.base = 23.0 if (s.category or "").startswith("T") or "工作面" in s.location \
                    else (22.0 if r is not None and r.type == "gateroad" else 19.5)
            if q.key == "co" and "胶带" in s.location:
                p.base = 3.0
            if q.key == "co2" and r is not None and r.type == "gateroad" and r.air == "reverse":
                p.base = 0.25
            if q.key == "ch4":
                p.sources = self._ch4_sources(s)
            if s.point_code in self._tube_of:
                p.period_s = TUBE_BUNDLE_PERIOD_S
            pts.append(p)
        return pts

    def _ch4_sources(self, s) -> list[tuple[str, float, float]]:
        """Where a CH4 point's gas comes from and how late (AQ 1029 positions)."""
        m = self.model
        for f in m.longwalls.values():
            if s.category in ("T0", "T1") and (s.roadway in (None, f.return_roadway)):
                return [(f"face:{f.id}", 0.0, 1.15 if s.category == "T0" else 1.0)]
            if s.roadway == f.return_roadway:
                return [(f"face:{f.id}", self.face_to_point_lag_s(f.id, s.point_code), 0.95)]
        for h in m.headings.values():
            if s.roadway == h.roadway:
                if s.category == "T1":
                    return [(f"heading:{h.id}", 0.0, 1.0)]
                lag = max(h.advanced_m - (s.chainage_m or 0.0), 0.0) / self._heading_velocity(h)
                return [(f"heading:{h.id}", lag, 0.9)]
        r = m.roadways.get(s.roadway) if s.roadway else None
        if r is not None and r.type in ("district_return", "main_return"):
            out = []
            here = Location(r.id, s.chainage_m or 0.0)

            def ours(rid: str) -> bool:         # a district return takes its district's air
                return r.type == "main_return" or rid[:3] == r.id[:3]
            for f in m.longwalls.values():
                if not ours(f.return_roadway):
                    continue
                ret = m.roadways[f.return_roadway]
                mouth = Location(ret.id, 0.0)
                lag = self.face_to_point_lag_s(f.id, None) + self._air_lag(mouth, here)
                out.append((f"face:{f.id}", lag, 900.0 / AIR_QUANTITY_M3_MIN[r.type]))
            for h in m.headings.values():
                if not ours(h.roadway):
                    continue
                mouth = Location(h.roadway, 0.0)
                lag = h.advanced_m / self._heading_velocity(h) + self._air_lag(mouth, here)
                out.append((f"heading:{h.id}", lag, HEADING_AIR_M3_MIN / AIR_QUANTITY_M3_MIN[r.type]))
            return out
        return []

    def _heading_velocity(self, h) -> float:
        return HEADING_AIR_M3_MIN / 60.0 / _area(self.model.roadways[h.roadway])

    def _air_lag(self, a: Location, b: Location) -> float:
        try:
            legs = self.net.route(a, b).legs
        except ValueError:
            # Disconnected network data (a gap in a real mine's centerlines): fall back to
            # the straight distance at a typical main-roadway velocity.
            return float(np.linalg.norm(self.net.point(a) - self.net.point(b))) / 2.0
        lag = 0.0
        for rid, c1, c2 in legs:
            r = self.model.roadways[rid]
            v = AIR_QUANTITY_M3_MIN.get(r.type, 600.0) / 60.0 / _area(r)
            lag += abs(c2 - c1) / v
        return lag

    def face_to_point_lag_s(self, face_id: str, point_code: str | None) -> float:
        """Seconds the air takes from the face's return end to a point on the return
        gateroad (to the gateroad's mouth when ``point_code`` is None): the distance along
        the return divided by the air velocity there (quantity / cross-section)."""
        f = self.model.longwalls[face_id]
        ret = self.model.roadways[f.return_roadway]
        face_ch = ret.project(self.face_line(face_id)[1])[0]
        ch = 0.0 if point_code is None else self.model.sensors[point_code].chainage_m or 0.0
        v = AIR_QUANTITY_M3_MIN["gateroad"] / 60.0 / _area(ret)
        return max(face_ch - ch, 0.0) / v

    # ------------------------------------------------------------------ faces

    def face_advanced_m(self, face_id: str) -> float:
        f = self.model.longwalls[face_id]
        return f.advanced_m + f.plan_m_per_day * self.t_s / 86400.0

    def heading_advanced_m(self, heading_id: str) -> float:
        h = self.model.headings[heading_id]
        length = self.model.roadways[h.roadway].length_m
        return min(h.advanced_m + h.plan_m_per_day * self.t_s / 86400.0, length)

    def face_line(self, face_id: str) -> np.ndarray:
        return self.model.longwalls[face_id].face_line(self.face_advanced_m(face_id))

    def producing(self) -> bool:
        """Coal is cut on the day and middle shifts; the night shift maintains."""
        return self.shift_now() in (1, 2)

    def shearer_fraction(self, face_id: str) -> float:
        """Where the shearer is along the face (0 intake end … 1 return end): it cuts back
        and forth at 5 m/min while producing."""
        phase = self._shearer_phase(face_id)
        return 2 * phase if phase < 0.5 else 2 - 2 * phase

    def _shearer_phase(self, face_id: str) -> float:
        """0 … 1 over one round trip; below 0.5 it travels toward the return end."""
        f = self.model.longwalls[face_id]
        period = 2 * f.face_length_m / (5.0 / 60.0)
        return (self.t_s % period) / period

    def _map_exposures(self, out: list[Observation]) -> None:
        """Each time a face or heading has advanced another ``map_every_m``, the seam it
        exposed is mapped: floor elevation and thickness every 10 m along the face line (at
        the heading's end for a heading), 5 cm survey error — ``exposure`` observations."""
        from twin.geology.exposure import face_points
        now, step = self.now_ms, self.map_every_m
        seams = [s.name for s in self.truth.seams]
        todo = [(f"face:{f.id}", self.face_advanced_m(f.id), f.seam, f)
                for f in self.model.longwalls.values()]
        todo += [(f"heading:{h.id}", self.heading_advanced_m(h.id), None, h)
                 for h in self.model.headings.values()]
        for key, adv, seam, w in todo:
            k = int(adv // step)
            while self._mapped[key] < k:
                self._mapped[key] += 1
                at = self._mapped[key] * step
                if key.startswith("face:"):
                    a, b = w.face_line(at)
                    xy = face_points(a, b)
                else:
                    p = self.model.roadways[w.roadway].point_at(at)
                    xy = p[None, :2]
                    seam = min(seams, key=lambda s: abs(float(self.truth.floor(s, p[0], p[1])) - p[2]))
                if seam not in seams:
                    continue
                floor, thick = self.truth.mapped(seam, xy, self._map_rng)
                for (x, y), z, t in zip(xy, floor, thick):
                    out.append(Observation(self.source, "exposure", seam, now, round(float(t), 3),
                                           "m", param=key,
                                           position=(float(x), float(y), round(float(z), 3))))

    def drum_heights(self, face_id: str) -> dict[str, float]:
        """The shearer's drum heights (top of each drum above the floor, m): while cutting,
        the leading drum follows the roof at the mining height (which undulates a little along
        the face) and the trailing drum cleans up the floor coal; otherwise both rest on the
        floor. The right drum leads toward the return end."""
        f = self.model.longwalls[face_id]
        rest = SHEARER_DRUM_DIAMETER_M
        if not self.producing():
            return {"left": rest, "right": rest}
        frac = self.shearer_fraction(face_id)
        toward_return = self._shearer_phase(face_id) < 0.5
        roof = f.mining_height_m + 0.15 * math.sin(2 * math.pi * frac * f.face_length_m / 60.0)
        lead, trail = round(roof, 2), round(rest + 0.1, 2)
        return {"left": trail, "right": lead} if toward_return else {"left": lead, "right": trail}

    # ------------------------------------------------------------------ one step

    def _step(self, out: list[Observation]) -> None:
        t = self.t_s
        for i, ev in enumerate(self.scenario.events):
            if i not in self._started_events and t >= ev.at_s:
                self._started_events.add(i)
                self._start_event(ev, out)
        self._step_sources()
        self._step_water()
        self._step_people(out)
        if t + 1e-9 >= self._next_points:
            self._next_points = t + _POINT_PERIOD_S
            self._emit_points(out)
        if t + 1e-9 >= self._next_equipment:
            self._next_equipment = t + _EQUIPMENT_PERIOD_S
            self._emit_equipment(out)

    def _active(self, etype: str):
        return [ev for ev in self.scenario.events if ev.type == etype and ev.active(self.t_s)]

    def _start_event(self, ev: Event, out: list[Observation]) -> None:
        place = f"{ev.place_kind}:{ev.place}" + (f"@{ev.chainage_m:g}" if ev.chainage_m is not None
                                                 else "")
        out.append(Observation(self.source, "event", ev.type, self.now_ms, ev.magnitude,
                               param=ev.type, place=place))
        if ev.type == "roof_fall":
            self._blocked[ev.place] = ev.chainage_m or 0.0

    def _step_sources(self) -> None:
        producing = self.producing()
        for key, src in self.sources.items():
            kind, _, ident = key.partition(":")
            # A slow random drift (Ornstein–Uhlenbeck, τ = 30 min) plus activity.
            src.drift += -src.drift * self.step_s / 1800.0 + \
                0.01 * math.sqrt(self.step_s / 60.0) * float(self.rng.normal())
            activity = 0.0
            if producing:
                if kind == "face":
                    activity = 0.20 * (0.7 + 0.3 * math.sin(math.pi * self.shearer_fraction(ident)))
                else:
                    activity = 0.12
            burst = 0.0
            for ev in self._active("gas_outburst"):
                if ev.place == ident and ev.place_kind == kind:
                    dt = self.t_s - ev.at_s
                    # Sharp rise (≈1 min), exponential decay over the event's duration.
                    burst += ev.magnitude * (1 - math.exp(-dt / 20.0)) * \
                        math.exp(-dt / (ev.duration_s / 3.0))
            src.value = max(src.base + src.drift + activity + burst, 0.0)
            src.history.append(src.value)

    def source_at(self, key: str, lag_s: float) -> float:
        h = self.sources[key].history
        if not h:
            return self.sources[key].base
        k = int(round(lag_s / self.step_s))
        return h[-1 - k] if k < len(h) else h[0]

    def _step_water(self) -> None:
        inflow = 120.0 + sum(ev.magnitude * ev.progress(self.t_s) * 3
                             for ev in self._active("water_inrush"))
        self._inflow = min(inflow, 120.0 + sum(ev.magnitude for ev in self._active("water_inrush")))
        pumping = self._pumps_running() * 280.0
        self._sump_level = max(0.5, self._sump_level + (self._inflow - pumping) / 3600.0
                               * self.step_s / 400.0)

    def _pumps_running(self) -> int:
        if self._inflow > 400:
            return 3
        return 1 if self._sump_level > 2.5 else (1 if self._sump_level > 1.0 and
                                                 int(self.t_s // 1800) % 2 == 0 else 0)

    # ------------------------------------------------------------------ people

    def _workplace_location(self, p: _Person) -> tuple[Location, str | None]:
        kind, _, rest = p.workplace.partition(":")
        if kind == "face":
            f = self.model.longwalls[rest]
            intake = self.model.roadways[f.intake_roadway]
            ch = intake.project(self.face_line(rest)[0])[0]
            return Location(intake.id, ch), rest
        if kind == "heading":
            h = self.model.headings[rest]
            return Location(h.roadway, max(self.heading_advanced_m(rest) - 8.0, 0.0)), None
        if kind == "roadway":
            rid, _, ch = rest.partition("@")
            return Location(rid, float(ch)), None
        return self._portal, None

    def _step_people(self, out: list[Observation]) -> None:
        local = self.local_time()
        day_s = local.hour * 3600 + local.minute * 60 + local.second
        shift = self.shift_now()
        for idx, p in enumerate(self.people):
            if p.workplace == "surface":
                continue
            start_s = SHIFTS[p.shift][0] * 3600
            in_window = start_s <= day_s < start_s + 8 * 3600 - 1800
            if p.state == "out" and in_window and shift == p.shift and \
                    day_s >= start_s + (idx % 20) * 60:
                target, _ = self._workplace_location(p)
                p.route = self.net.route(self._portal, target)
                p.s, p.state, p.loc = 0.0, "going_in", self._portal
            elif p.state == "going_in":
                p.s += p.speed * self.step_s
                p.loc = p.route.location_at(p.s)
                if p.s >= p.route.length_m:
                    p.state = "working"
                    _, face = self._workplace_location(p)
                    p.on_face = face
            elif p.state == "working":
                if not in_window or shift != p.shift:
                    here = p.loc if p.on_face is None else self._workplace_location(p)[0]
                    p.route = self.net.route(here, self._portal)
                    p.s, p.state, p.on_face = 0.0, "going_out", None
                elif p.on_face is None:
                    target, _ = self._workplace_location(p)
                    p.wander += float(self.rng.normal(0, 0.3)) * self.step_s
                    p.wander = max(-25.0, min(25.0, p.wander))
                    r = self.model.roadways[target.roadway]
                    p.loc = Location(r.id, float(np.clip(target.chainage_m + p.wander, 0, r.length_m)))
            elif p.state == "going_out":
                p.s += p.speed * self.step_s
                p.loc = p.route.location_at(p.s)
                if p.s >= p.route.length_m:
                    p.state, p.loc = "out", None
                    self._emit_card(p, out, entering=False)
                    continue
            if p.state != "out":
                p.sos = any(ev.place == p.card for ev in self._active("sos"))
                self._emit_card(p, out)

    def person_position(self, p: _Person) -> tuple[np.ndarray, Location | None]:
        """(x, y, z) and the roadway location (None on the face) of an underground person."""
        if p.on_face is not None:
            a, b = self.face_line(p.on_face)
            return a + (b - a) * p.post + np.array([0.0, 0.0, 0.9]), None
        assert p.loc is not None
        return self.net.point(p.loc), p.loc

    def _reader_for(self, loc: Location | None, p: _Person):
        if loc is None and p.on_face is not None:
            f = self.model.longwalls[p.on_face]
            loc = Location(f.intake_roadway,
                           self.model.roadways[f.intake_roadway].project(self.face_line(f.id)[0])[0])
        cands = self._readers_by_roadway.get(loc.roadway, []) if loc else []
        if not cands:
            return None, None
        rd = min(cands, key=lambda r: abs(r.chainage_m - loc.chainage_m))
        return rd, loc.chainage_m - rd.chainage_m

    def _emit_card(self, p: _Person, out: list[Observation], entering: bool | None = None) -> None:
        if entering is False:       # out of the mine
            out.append(Observation(self.source, "card", p.card, self.now_ms, False))
            return
        pos, loc = self.person_position(p)
        rd, dist = self._reader_for(loc, p)
        if rd is not None and rd.code in self._failed_readers:
            return            # its reader is down: the card is not seen
        out.append(Observation(
            self.source, "card", p.card, self.now_ms, True,
            state=CARD_STATE["sos"] if p.sos else 0,
            reader=rd.code if rd else None, distance_m=round(dist, 1) if rd else None,
            area=rd.code[:16] if rd else None,
            position=(round(float(pos[0]), 3), round(float(pos[1]), 3), round(float(pos[2]), 3))))

    def underground(self) -> list[_Person]:
        return [p for p in self.people if p.state != "out"]

    # ------------------------------------------------------------------ points

    def _emit_points(self, out: list[Observation]) -> None:
        failed = {ev.place for ev in self._active("reader_failure")}
        for code in sorted(failed - self._failed_readers):
            out.append(Observation(self.source, "reader", code, self.now_ms, False, state=1))
        for code in sorted(self._failed_readers - failed):
            out.append(Observation(self.source, "reader", code, self.now_ms, True, state=0))
        self._failed_readers = failed
        faults = {ev.place for ev in self._active("sensor_fault")}
        # the points due (a tube-bundle gas only at its analysis), the analog ones first: the
        # switches (a feeder) follow what they command
        due = [p for p in self.points.values() if not p.period_s or self.t_s + 1e-9 >= p.next_s]
        for p in due:
            if p.period_s:
                p.next_s = self.t_s + p.period_s
        values = {p.code: self._point_value(p) for p in due if not p.switch}
        self._update_cutting(values)
        values.update({p.code: self._point_value(p) for p in due if p.switch})
        for p in due:
            value, state = values[p.code], 0
            if p.code in faults:
                state |= POINT_STATE["sensor_fault"]
                if p.frozen is None:
                    p.frozen = value if isinstance(value, float) else 0.0
                value = p.frozen
            else:
                p.frozen = None
            if p.range_high is not None and isinstance(value, float) and value > p.range_high:
                # Past its measuring range a sensor reports its full scale, flagged over range.
                value, state = p.range_high, state | POINT_STATE["over_range"]
            p.last, p.state = value, state
            out.append(Observation(self.source, "point", p.code, self.now_ms, value, p.unit,
                                   state=state))

    def _point_value(self, p: _Point) -> float | bool:
        if p.switch:
            if p.quantity == "smoke":
                return any(self._near(ev, p, 150.0) and ev.progress(self.t_s) > 0.1
                           for ev in self._active("fire"))
            if p.quantity == "air_door":
                return any(ev.place == p.code for ev in self._active("door_open"))
            if p.quantity in ("feed", "breaker"):
                # voltage unless one of its CH4 points cuts the power (and it obeys)
                stuck = any(ev.place == p.code for ev in self._active("feeder_stuck"))
                return stuck or not any(c in self._cutting for c in self._cut_by.get(p.code, ()))
            if p.code in self._fan_group:
                return self._fan_running(p.code)
            if p.quantity == "equipment_on":     # a machine's on/off sensor: it runs
                return self.producing()          # while the district produces
            return True                      # fans running, feeds on, ducts with air
        if p.code in self._tube_of:
            return self._tube_value(p)
        noise = p.noise * float(self.rng.normal())
        if p.quantity == "sump_level":
            return round(self._sump_level, 2)
        if p.quantity == "roof_separation":
            days = self.t_s / 86400.0
            grow = sum(ev.magnitude * (self.t_s - ev.at_s) / 86400.0
                       for ev in self._active("roof_separation") if ev.place == p.code)
            return round(p.base + 0.4 * days + grow + p.noise * float(self.rng.normal()), 1)
        if p.quantity == "ch4":
            if p.sources:
                v = sum(f * self.source_at(k, lag) for k, lag, f in p.sources)
                return round(max(v + noise, 0.0), 2)
            return round(max(p.base + noise, 0.0), 2)
        v = p.base + noise
        for ev in self._active("fire"):
            if self._near(ev, p, 300.0):
                ramp = ev.progress(self.t_s) * 6.0     # reaches full strength in 1/6 of it
                k = min(ramp, 1.0)
                if p.quantity == "co":
                    v += ev.magnitude * k
                elif p.quantity == "temperature":
                    v += 8.0 * k
                elif p.quantity == "o2":
                    v -= 0.8 * k
        if p.quantity == "air_quantity" and self._main_fans and \
                not any(self._fan_running(c) for c in self._main_fans):
            v = 0.0                                  # no fan running: no air
        if p.quantity == "air_velocity" and p.roadway in self._blocked:
            v *= 0.2
        digits = 1 if p.quantity in ("co", "temperature") else 2
        return round(max(v, 0.0), digits)

    #: What a tube-bundle sample holds where nothing heats (gas in %, CO, C2H4, C2H6 in ppm):
    #: behind a working face the goaf air has lost some oxygen; a sealed fire zone is inert.
    TUBE_AIR = {False: {"o2": 16.5, "n2": 79.6, "co": 12.0, "co2": 0.6, "ch4": 1.8,
                        "c2h4": 0.0, "c2h6": 0.4, "temperature": 24.0},
                True: {"o2": 4.2, "n2": 88.0, "co": 6.0, "co2": 2.5, "ch4": 5.0,
                       "c2h4": 0.0, "c2h6": 0.2, "temperature": 27.0}}

    def _tube_value(self, p: _Point) -> float:
        """One gas of a sampling point's analysis. A ``goaf_heating`` drill there makes the
        Graham ratio rise by its ``magnitude`` a day: CO grows with the oxygen used, O2 falls a
        little, CO2 rises, and C2H4 appears once the ratio passes 1 (REFERENCE.md §4)."""
        tid, gas = self._tube_of[p.code]
        tb = self.model.tube_bundle[tid]
        air = self.TUBE_AIR[tb.sealed]
        o2, n2 = air["o2"], air["n2"]
        d_o2 = 0.265 * n2 - o2
        gr0 = 100.0 * air["co"] / 1e4 / d_o2
        rise = sum(ev.magnitude * (self.t_s - ev.at_s) / 86400.0
                   for ev in self._active("goaf_heating") if ev.place == tid)
        gr = gr0 + rise
        noise = float(self.rng.normal())
        if gas == "co":
            v = gr * d_o2 / 100.0 * 1e4 * (1 + 0.03 * noise)
        elif gas == "o2":
            v = o2 - 0.3 * min(rise, 3.0) + 0.05 * noise
        elif gas == "co2":
            v = air["co2"] * (1 + 0.5 * rise) + 0.02 * noise
        elif gas == "c2h4":
            v = max(gr - 1.0, 0.0) * 2.0
        elif gas == "temperature":
            v = air["temperature"] + 2.0 * rise + 0.1 * noise
        else:
            v = air[gas] * (1 + 0.002 * noise)
        return round(max(v, 0.0), 2)

    def _update_cutting(self, values: dict) -> None:
        """The CH4 points commanding power off: at or over their CDDY power-off threshold,
        until under their re-power one."""
        for code in self._cutters:
            th = self.model.sensors[code].thresholds
            v = values.get(code)
            if not isinstance(v, float) or th.upper_power_off is None:
                continue
            if v >= th.upper_power_off:
                self._cutting.add(code)
            elif v < (th.upper_re_power if th.upper_re_power is not None else th.upper_power_off):
                self._cutting.discard(code)

    def _fan_running(self, code: str) -> bool:
        """A fan of a main/standby group: the first runs unless a fan_stop drill stops it;
        then the next starts `magnitude` minutes after (never when 0)."""
        group = self._fan_group[code]
        stops = {ev.place: ev for ev in self._active("fan_stop")}
        for i, c in enumerate(group):
            ev = stops.get(c)
            if ev is None:
                if i == 0:
                    return c == code
                # a standby: it runs when the fan before it stopped long enough ago
                before = stops.get(group[i - 1])
                if before is not None and before.magnitude > 0 and \
                        self.t_s - before.at_s >= before.magnitude * 60:
                    return c == code
                return False
        return False

    def _near(self, ev: Event, p: _Point, within_m: float) -> bool:
        return (ev.place_kind == "roadway" and p.roadway == ev.place and p.chainage is not None
                and abs(p.chainage - (ev.chainage_m or 0.0)) <= within_m)

    # ------------------------------------------------------------------ equipment

    def _emit_equipment(self, out: list[Observation]) -> None:
        now, src = self.now_ms, self.source
        producing = self.producing()

        def emit(key, param, value, unit=None):
            out.append(Observation(src, "equipment", key, now, value, unit, param=param))

        for f in self.model.longwalls.values():
            adv = self.face_advanced_m(f.id)
            emit(f"face:{f.id}", "advanced_m", round(adv, 3), "m")
            # The goaf (采空区) is the mined-out area behind the supports.
            emit(f"face:{f.id}", "goaf_area_m2", round(adv * f.face_length_m, 1), "m²")
        for h in self.model.headings.values():
            emit(f"heading:{h.id}", "advanced_m", round(self.heading_advanced_m(h.id), 3), "m")
        if self.truth is not None:
            self._map_exposures(out)
        weighting = self._weighting_MPa(self.face_advanced_m(next(iter(self.model.longwalls))))\
            if self.model.longwalls else 0.0
        for e in self.model.equipment.values():
            k = e.kind
            if k == "shearer" and e.id.startswith("shearer"):
                face = next(iter(self.model.longwalls.values()))
                emit(e.id, "running", producing)
                emit(e.id, "position_m", round(self.shearer_fraction(face.id) * face.face_length_m, 1), "m")
                emit(e.id, "current_A", round(180 + 8 * float(self.rng.normal()), 1) if producing else 0.0, "A")
                for side, h in self.drum_heights(face.id).items():
                    emit(e.id, f"drum_{side}_height_m", h, "m")
            elif k == "shearer":                      # roadheaders
                emit(e.id, "running", producing)
            elif k in ("face_conveyor", "belt_conveyor"):
                emit(e.id, "running", producing)
                emit(e.id, "load_percent", round(60 + 10 * float(self.rng.normal()), 1) if producing else 0.0, "%")
            elif k == "main_fan":
                n = int(e.id.rsplit("-", 1)[1]) if e.id.rsplit("-", 1)[-1].isdigit() else 1
                fans = self._main_fans
                running = self._fan_running(fans[n - 1]) if len(fans) >= n else n == 1
                emit(e.id, "running", running)
                if running:
                    emit(e.id, "air_m3_min", round(6800 + 50 * float(self.rng.normal())), "m³/min")
            elif k == "local_fan":
                emit(e.id, "running", e.id.endswith("1"))
            elif k == "pump":
                n = int(e.id.rsplit("-", 1)[1])
                emit(e.id, "running", n <= self._pumps_running())
                emit(e.id, "sump_level_m", round(self._sump_level, 2), "m")
                emit(e.id, "inflow_m3_h", round(self._inflow, 1), "m³/h")
            elif k == "hydraulic_support":
                adv = self._support_advance(e)
                if self._support_last.get(e.id) != adv:      # report a step when it happens
                    self._support_last[e.id] = adv
                    emit(e.id, "advanced_m", adv, "m")
                if int(self.t_s) % 60 < _EQUIPMENT_PERIOD_S:
                    emit(e.id, "leg_pressure_MPa", round(32 + 3 * float(self.rng.normal())
                                                         + weighting, 1), "MPa")
            elif k in ("compressor", "gas_drainage_pump"):
                emit(e.id, "running", e.id.endswith("1"))
            elif k == "hoist":
                # Men and materials ride at shift changes: the first and last hour of a shift.
                emit(e.id, "running", self.local_time().hour % 8 in (0, 7))
            elif k == "substation":
                emit(e.id, "voltage_kV", round(10.2 + 0.05 * float(self.rng.normal()), 2), "kV")

    #: Periodic weighting (周期来压): the main roof breaks every this many metres of advance,
    #: and for the first metres after a break the supports carry this much more.
    WEIGHTING_EVERY_M, WEIGHTING_BAND_M, WEIGHTING_MPA = 18.0, 3.0, 10.0

    def _weighting_MPa(self, advanced_m: float) -> float:
        """The extra leg pressure of periodic weighting at this advance (none between)."""
        into = advanced_m % self.WEIGHTING_EVERY_M
        return self.WEIGHTING_MPA if into < self.WEIGHTING_BAND_M else 0.0

    def _support_advance(self, e) -> float:
        """A support moves up one web (0.8 m) once the shearer has cut past it: behind the
        shearer the supports are a web ahead of those it has not reached yet."""
        f = next(iter(self.model.longwalls.values()))
        web = 0.8
        base = math.floor(self.face_advanced_m(f.id) / web) * web
        along = self._support_along.get(e.id)
        if along is None:           # where along the face it stands, 0 … 1 (fixed)
            a, b = f.start_line
            d = b[:2] - a[:2]
            along = self._support_along[e.id] = float(
                (np.asarray(e.position)[:2] - a[:2]) @ d / np.dot(d, d))
        going_up = self._shearer_phase(f.id) < 0.5
        shearer = self.shearer_fraction(f.id)
        passed = along <= shearer if going_up else along >= shearer
        return round(base + (web if passed and self.producing() else 0.0), 2)

    # ------------------------------------------------------------------ upload files

    def write_upload_files(self, folder: str | Path) -> list[Path]:
        """Write the current state as CDSS, RYSS and JZSS real-time files (REFERENCE.md §3)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        m = self.model
        now = self.local_time().replace(tzinfo=None)
        ts = format_time(now)
        cdss = []
        for code, p in sorted(self.points.items()):
            s = m.sensors[code]
            v = p.last if p.last is not None else self._point_value(p)
            text = ("1" if v else "0") if isinstance(v, bool) else f"{v:g}"
            cdss.append([code, quantity_of(s.type_code).name, s.location, text, s.unit,
                         str(p.state), ts])
        ryss = []
        for p in self.underground():
            person = m.people[p.card]
            _, loc = self.person_position(p)
            rd, dist = self._reader_for(loc, p)
            if rd is None:
                continue
            ryss.append([p.card, person.name, "1", ts, "", rd.code[:16], ts, rd.code, ts, "三八制",
                         f"{dist:.1f}", "0", "1" if person.leader else "0",
                         "1" if person.special_worker else "0", f"{rd.code}&{ts}"])
        jzss = [[code, "1" if code in self._failed_readers else "0", "0", ts]
                for code in sorted(m.readers)]
        paths = []
        for ftype, rows in (("CDSS", cdss), ("RYSS", ryss), ("JZSS", jzss)):
            name, data = write_upload(ftype, m.mine.code, m.mine.name, now, rows)
            path = folder / name
            tmp = folder / f".{name}.part"     # hidden while written: an inbox skips it
            tmp.write_bytes(data)
            tmp.replace(path)
            paths.append(path)
        return paths
