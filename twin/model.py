"""The mine model: what the twin knows of a mine, independent of files and of the scene.

Coordinates are local mine-grid metres (x east, y north, z up), relative to the mine's
origin; the loader subtracts the origin from the real (Gauss–Krüger) coordinates in the
files. Values carry their unit in the name (``width_m``) or beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

__all__ = [
    "GAS_CLASSES", "ROADWAY_TYPES", "PROFILE_KINDS", "AIR_DIRECTIONS", "AREA_KINDS",
    "EQUIPMENT_KINDS", "Mine", "Profile", "Roadway", "LongwallPanel", "Heading", "Outstation",
    "Thresholds", "Relation", "RELATION_KINDS", "parse_relations", "format_relations", "Sensor",
    "Reader", "Area", "Person", "Equipment", "MineModel",
]

GAS_CLASSES = ("low", "high", "outburst")   # 低瓦斯 / 高瓦斯 / 煤与瓦斯突出矿井

#: Roadway types with the names miners use.
ROADWAY_TYPES = {
    "main_intake": "主进风巷", "main_return": "主回风巷", "haulage": "运输巷",
    "belt": "胶带巷", "track": "轨道巷", "district_intake": "盘区进风巷",
    "district_return": "盘区回风巷", "gateroad": "顺槽", "cut_through": "联络巷",
    "heading": "掘进巷道",
}

PROFILE_KINDS = ("rectangle", "trapezoid", "semicircular_arch", "three_centred_arch")

#: Air direction along the centerline's vertex order.
AIR_DIRECTIONS = ("forward", "reverse", "none")

#: Personnel-positioning area kinds (AQ 1119-2023): key, restricted, permitted, other.
AREA_KINDS = ("key", "restricted", "permitted", "other")

EQUIPMENT_KINDS = ("shearer", "hydraulic_support", "face_conveyor", "belt_conveyor",
                   "main_fan", "local_fan", "pump", "hoist", "compressor",
                   "gas_drainage_pump", "substation")


@dataclass(frozen=True, slots=True)
class Mine:
    name: str
    code: str                       # 12 digits
    gas_class: str
    time_zone: str = "Asia/Shanghai"
    crs: str = ""
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)   # in the CRS: easting, northing, z


@dataclass(frozen=True, slots=True)
class Profile:
    """A roadway cross-section. ``top_width_m`` only for a trapezoid; arches are
    ``height_m`` tall at the crown, with straight walls below the arch's spring line."""

    kind: str
    width_m: float
    height_m: float
    top_width_m: float | None = None

    def outline(self, segments: int = 8) -> np.ndarray:
        """The cross-section outline as (n, 2) points (u across, v up from the floor
        centre), counter-clockwise seen along the roadway, floor edge included."""
        w, h = self.width_m, self.height_m
        if self.kind == "rectangle":
            return np.array([[-w / 2, 0], [w / 2, 0], [w / 2, h], [-w / 2, h]])
        if self.kind == "trapezoid":
            t = self.top_width_m if self.top_width_m is not None else w * 0.8
            return np.array([[-w / 2, 0], [w / 2, 0], [t / 2, h], [-t / 2, h]])
        r = w / 2
        if self.kind == "semicircular_arch":
            wall = max(h - r, 0.0)
            a = np.linspace(0, np.pi, segments + 1)
            arch = np.c_[r * np.cos(a), wall + r * np.sin(a)]
        elif self.kind == "three_centred_arch":
            # Rise of a third of the span: a flatter crown (the usual 三心拱 f0 = B/3).
            rise = w / 3
            wall = max(h - rise, 0.0)
            a = np.linspace(0, np.pi, segments + 1)
            arch = np.c_[r * np.cos(a), wall + rise * np.sin(a)]
        else:
            raise ValueError(f"unknown profile kind {self.kind!r}")
        pts = np.vstack([[[-r, 0.0], [r, 0.0]], arch])
        keep = np.r_[True, np.linalg.norm(np.diff(pts, axis=0), axis=1) > 1e-9]
        return pts[keep]


@dataclass(frozen=True, slots=True, eq=False)
class Roadway:
    id: str
    name: str
    type: str
    profile: Profile
    centerline: np.ndarray          # (n, 3) local metres, n >= 2
    air: str = "forward"
    chainages: np.ndarray = field(init=False, repr=False)
    length_m: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        c = np.asarray(self.centerline, dtype=float)
        c.flags.writeable = False
        object.__setattr__(self, "centerline", c)
        # Distance along the centerline at each vertex, from the first (m); derived once.
        seg = np.linalg.norm(np.diff(c, axis=0), axis=1)
        ch = np.concatenate([[0.0], np.cumsum(seg)])
        ch.flags.writeable = False
        object.__setattr__(self, "chainages", ch)
        object.__setattr__(self, "length_m", float(ch[-1]))

    def point_at(self, chainage: float | np.ndarray) -> np.ndarray:
        """Centerline point(s) at a chainage, clamped to the roadway's ends."""
        ch = self.chainages
        if np.ndim(chainage) == 0:       # the common scalar case, without array overhead
            s = min(max(float(chainage), 0.0), self.length_m)
            i = min(int(np.searchsorted(ch, s, side="right")) - 1, len(ch) - 2)
            t = (s - ch[i]) / (ch[i + 1] - ch[i])
            return self.centerline[i] + (self.centerline[i + 1] - self.centerline[i]) * t
        s = np.clip(chainage, 0.0, ch[-1])
        return np.stack([np.interp(s, ch, self.centerline[:, k]) for k in range(3)], axis=-1)

    def direction_at(self, chainage: float) -> np.ndarray:
        ch = self.chainages
        i = int(np.clip(np.searchsorted(ch, chainage, side="right") - 1, 0, len(ch) - 2))
        d = self.centerline[i + 1] - self.centerline[i]
        return d / np.linalg.norm(d)

    def project(self, point: np.ndarray) -> tuple[float, float]:
        """(chainage, distance) of the centerline point nearest to ``point``."""
        p = np.asarray(point, float)
        a, b = self.centerline[:-1], self.centerline[1:]
        ab = b - a
        t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.einsum("ij,ij->i", ab, ab), 0, 1)
        q = a + ab * t[:, None]
        d = np.linalg.norm(q - p, axis=1)
        i = int(np.argmin(d))
        return float(self.chainages[i] + t[i] * np.linalg.norm(ab[i])), float(d[i])


@dataclass(frozen=True, slots=True, eq=False)
class LongwallPanel:
    """A longwall working face (回采工作面)."""

    id: str
    name: str
    seam: str
    outline: np.ndarray              # (n, 2) panel boundary, local metres
    face_length_m: float
    start_line: np.ndarray           # (2, 3) the cut (开切眼) ends
    advance_direction: np.ndarray    # (2,) unit vector in plan
    mining_height_m: float
    plan_m_per_day: float
    advanced_m: float
    intake_roadway: str
    return_roadway: str

    def face_line(self, advanced_m: float | None = None) -> np.ndarray:
        """The face's two ends after ``advanced_m`` (default: the current advance)."""
        a = self.advanced_m if advanced_m is None else advanced_m
        d = np.r_[self.advance_direction, 0.0]
        return self.start_line + d * a


@dataclass(frozen=True, slots=True)
class Heading:
    """A development heading (掘进工作面): the roadway it drives and how far it has got."""

    id: str
    name: str
    roadway: str
    advanced_m: float
    plan_m_per_day: float


@dataclass(frozen=True, slots=True)
class Outstation:
    code: str
    location: str
    position: tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """A sensor's own thresholds from its CDDY record (None where the record is empty)."""

    upper_alarm: float | None = None
    upper_alarm_clear: float | None = None
    lower_alarm: float | None = None
    lower_alarm_clear: float | None = None
    upper_power_off: float | None = None
    upper_re_power: float | None = None
    lower_power_off: float | None = None
    lower_re_power: float | None = None


#: CDDY relation codes (REFERENCE.md §3): what the related point is to this one.
RELATION_KINDS = {"B": ("闭锁", "lock"), "G": ("风门联动", "linked air door"),
                  "K": ("控制", "control"), "H": ("保护", "protection"),
                  "Z": ("主备", "main/standby"), "D": ("断电", "power-off"),
                  "T": ("调节", "regulation")}


@dataclass(frozen=True, slots=True)
class Relation:
    """One linkage of a point's CDDY record: ``kind`` (a RELATION_KINDS code) and the related
    point (with its name where the record gives one)."""

    kind: str
    point: str
    name: str = ""


def parse_relations(text: str, own: str = "") -> tuple[Relation, ...]:
    """A CDDY record's relations field: groups separated by ``◇``, each one or more items
    ``<code>-<point>[-<name>]`` joined by ``:`` (REFERENCE.md §3 gives the separators and
    codes, not an example: the layout is MineTwin's reading of it, docs/mine-data.md).
    An item naming the point itself (``own``) is left out. Raises ValueError saying what is
    wrong."""
    out: list[Relation] = []
    for group in text.replace("\uff1a", ":").split("\u25c7"):
        for item in group.split(":"):
            item = item.strip()
            if not item:
                continue
            code, _, rest = item.partition("-")
            point, _, name = rest.partition("-")
            code, point, name = code.strip().upper(), point.strip(), name.strip()
            if code not in RELATION_KINDS:
                raise ValueError(f"{item!r}: {code!r} is not a relation code "
                                 f"({', '.join(RELATION_KINDS)})")
            if not point:
                raise ValueError(f"{item!r}: no related point")
            if point != own and Relation(code, point, name) not in out:
                out.append(Relation(code, point, name))
    return tuple(out)


def format_relations(relations: tuple[Relation, ...]) -> str:
    """The relations field parse_relations reads: one group per relation."""
    return "\u25c7".join(f"{r.kind}-{r.point}" + (f"-{r.name}" if r.name else "")
                          for r in relations)


@dataclass(frozen=True, slots=True)
class Sensor:
    point_code: str
    system: str                      # 01 safety monitoring, 02 gas drainage
    outstation: str
    type_code: str                   # 0001 CH4 …
    value_type: str                  # MN analog, LJ cumulative, KG switch, DT multi-state
    unit: str
    range: tuple[float | None, float | None]
    thresholds: Thresholds
    location: str
    position: tuple[float, float, float]
    roadway: str | None = None
    chainage_m: float | None = None
    category: str | None = None      # T0 … T8 position category (AQ 1029)
    on_text: str = ""
    off_text: str = ""
    relations: tuple[Relation, ...] = ()    # CDDY linkage (断电, 风门联动, 主备 …)

    def related(self, kind: str) -> tuple[str, ...]:
        """The points this one is linked to by relations of ``kind`` (a RELATION_KINDS code)."""
        return tuple(r.point for r in self.relations if r.kind == kind)

    @property
    def quantity(self):
        """What the point measures: its type code's row of the sensor type table
        (twin/sensor_types.py)."""
        from .sensor_types import quantity_of
        return quantity_of(self.type_code)


@dataclass(frozen=True, slots=True)
class Reader:
    """A personnel-positioning reader (base station, 基站)."""

    code: str
    name: str
    location: str
    roadway: str | None
    chainage_m: float | None
    position: tuple[float, float, float] | None


@dataclass(frozen=True, slots=True)
class Area:
    code: str
    kind: str
    rated_headcount: int
    name: str
    roadways: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Person:
    card: str
    name: str
    trade: str
    post: str
    team: str
    birth_date: str
    education: str
    leader: bool
    special_worker: bool


@dataclass(frozen=True, slots=True)
class Equipment:
    id: str
    kind: str
    name: str
    roadway: str | None
    chainage_m: float | None
    position: tuple[float, float, float]
    parameters: Mapping[str, tuple[float | str, str | None]] = field(default_factory=dict)


#: The gases of a tube-bundle analysis (束管, MT/T 757) and temperatures a sampling point may
#: map to monitoring points: O2, N2, CO2, CH4, H2 in %, CO, C2H2, C2H4, C2H6 in ppm.
TUBE_BUNDLE_GASES = ("o2", "n2", "co", "co2", "ch4", "h2", "c2h4", "c2h6", "c2h2")
TUBE_BUNDLE_TEMPERATURES = ("temperature", "water_temperature")

#: How long a tube-bundle point may be silent before it is "no data": an analyser draws its
#: sampling points in turn, each every few minutes (MT/T 757) — 30 minutes is three missed
#: 10-minute cycles. MineTwin's default, *verify* against the mine's analyser cycle.
TUBE_BUNDLE_SILENCE_S = 1800.0


@dataclass(frozen=True, slots=True)
class TubeBundlePoint:
    """A tube-bundle sampling point (behind a face, in a sealed area): which monitoring point
    carries each gas of its analysis (``gases``: gas → point code) and, for a sealed area,
    the air and outflow-water temperature points the extinction criteria read."""

    id: str
    name: str
    roadway: str
    chainage_m: float
    position: tuple[float, float, float]
    sealed: bool
    gases: Mapping[str, str]
    temperatures: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class MineModel:
    mine: Mine
    roadways: Mapping[str, Roadway]
    longwalls: Mapping[str, LongwallPanel]
    headings: Mapping[str, Heading]
    outstations: Mapping[str, Outstation]
    sensors: Mapping[str, Sensor]
    readers: Mapping[str, Reader]
    areas: Mapping[str, Area]
    people: Mapping[str, Person]
    equipment: Mapping[str, Equipment]
    tube_bundle: Mapping[str, TubeBundlePoint] = field(default_factory=dict)

    @property
    def roadway_length_km(self) -> float:
        return sum(r.length_m for r in self.roadways.values()) / 1000

    def working_area(self, working_id: str) -> str | None:
        """The personnel-location area (its code) a longwall face or heading works in: the
        area that holds the heading's roadway, or the most of a face's intake and return
        roadways; None when no area does."""
        if working_id in self.longwalls:
            f = self.longwalls[working_id]
            roads = {f.intake_roadway, f.return_roadway}
        elif working_id in self.headings:
            roads = {self.headings[working_id].roadway}
        else:
            return None
        best = max(self.areas.values(), key=lambda a: len(roads & set(a.roadways)), default=None)
        return best.code if best is not None and roads & set(best.roadways) else None

    def tube_bundle_points(self) -> frozenset[str]:
        """The monitoring points that carry a tube-bundle sampling point's gases and
        temperatures (its analyses: every few minutes, not every upload cycle)."""
        return frozenset(c for tb in self.tube_bundle.values()
                         for c in (*tb.gases.values(), *tb.temperatures.values()))

    def cut_by(self) -> dict[str, tuple[str, ...]]:
        """Each point a power-off relation (CDDY ``D``) names → the points cutting it."""
        out: dict[str, list[str]] = {}
        for code, s in self.sensors.items():
            for target in s.related("D"):
                out.setdefault(target, []).append(code)
        return {k: tuple(v) for k, v in out.items()}

    def standby_groups(self) -> list[tuple[str, ...]]:
        """The main/standby groups (CDDY ``Z``): each point with the points it names, in CDDY
        order (the first is the one that runs), each point in one group."""
        groups, seen = [], set()
        for code, s in self.sensors.items():
            if s.related("Z") and code not in seen:
                group = tuple(c for c in self.sensors if c == code or c in s.related("Z"))
                seen.update(group)
                groups.append(group)
        return groups

    def summary(self) -> dict[str, float | int | str]:
        return {
            "mine": f"{self.mine.name} ({self.mine.code}, {self.mine.gas_class} gas)",
            "roadways": len(self.roadways), "roadway_km": round(self.roadway_length_km, 2),
            "longwalls": len(self.longwalls), "headings": len(self.headings),
            "outstations": len(self.outstations), "sensors": len(self.sensors),
            "readers": len(self.readers), "areas": len(self.areas),
            "people": len(self.people), "equipment": len(self.equipment),
            "tube_bundle_points": len(self.tube_bundle),
        }
