"""The demo mine: a Guizhou-style high-gas mine written in the folder format a real mine
uses (docs/mine-data.md), deterministic for a seed (same seed → identical files).

Layout (local grid, x east along strike, y north up dip, z elevation):
- three main inclines (belt, auxiliary/intake, return) from the surface down to the main level;
- three main level roadways along strike (track/intake, belt, return), 3.3 km;
- the 119 district: three district roadways down dip; longwall 11901 (active, retreating
  west) between its return gateroad (upper) and intake gateroad (lower), joined by the cut;
  panel 11902 below it, its two gateroads being driven by two headings;
- cut-throughs between parallel roadways every ~150–300 m;
- seams M6, M7, M9 (0.9–1.8 m) dipping 18° south, three normal faults (hidden truth in
  ``truth/geology.toml``), sampled by boreholes in ``geology/``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from twin.geology.exposure import face_points
from twin.demo.truth import Fault, Seam, TrueGeology
from twin.kj_format import format_time, write_upload
from twin.model import Relation, format_relations

__all__ = ["generate_demo", "DEMO_MINE_CODE", "DEMO_TIME"]

DEMO_MINE_CODE = "520522000001"
DEMO_MINE_NAME = "黔西示范煤矿"
DEMO_TIME = datetime(2026, 11, 2, 8, 0, 0)      # fixed, so files do not depend on today
ORIGIN = (35_512_000.0, 2_935_000.0, 0.0)       # CGCS2000 3° Gauss–Krüger zone 35 (+prefix)
MAIN_SEAM = "M9"


@dataclass
class _Road:
    id: str
    name: str
    type: str
    profile: tuple            # (kind, width, height[, top width])
    points: list              # local (x, y, z)
    air: str


@dataclass
class _Mine:
    roads: dict = field(default_factory=dict)
    sensors: list = field(default_factory=list)       # dicts
    readers: list = field(default_factory=list)
    equipment: list = field(default_factory=list)

    def road(self, rid, name, rtype, profile, points, air):
        self.roads[rid] = _Road(rid, name, rtype, profile,
                                [tuple(float(v) for v in p) for p in points], air)
        return self.roads[rid]


def _truth(rng: np.random.Generator) -> TrueGeology:
    und = tuple((float(rng.uniform(2, 6)), float(rng.uniform(700, 1400)),
                 float(rng.uniform(500, 1100)), float(rng.uniform(0, 6.28)))
                for _ in range(3))
    seams = (Seam("M9", 0.0, round(float(rng.uniform(1.6, 1.9)), 2), 0.25),
             Seam("M7", round(float(rng.uniform(22, 28)), 1), round(float(rng.uniform(0.8, 1.0)), 2), 0.15),
             Seam("M6", round(float(rng.uniform(42, 48)), 1), round(float(rng.uniform(1.0, 1.3)), 2), 0.2))
    faults = (
        Fault("F1", (float(rng.uniform(600, 800)), -350.0, 1100.0), float(rng.uniform(20, 40)),
              70.0, round(float(rng.uniform(3, 6)), 1)),
        Fault("F2", (float(rng.uniform(-900, -600)), -200.0, 1100.0), float(rng.uniform(320, 340)),
              65.0, round(float(rng.uniform(8, 15)), 1)),
        Fault("F3", (float(rng.uniform(1500, 1650)), -500.0, 1050.0), float(rng.uniform(10, 25)),
              72.0, round(float(rng.uniform(2, 4)), 1)),
    )
    return TrueGeology(reference_floor_m=1150.0, dip_deg=18.0, undulations=und, seams=seams,
                       faults=faults, surface_m=1490.0, surface_relief_m=25.0)


def _line(a, b, step: float = 20.0) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    n = max(int(np.ceil(np.linalg.norm(b - a) / step)), 1)
    return a + (b - a) * np.linspace(0, 1, n + 1)[:, None]


def _in_seam(geo: TrueGeology, xy: np.ndarray, seam: str = MAIN_SEAM) -> np.ndarray:
    return np.c_[xy[:, :2], geo.floor(seam, xy[:, 0], xy[:, 1])]


def _layout(geo: TrueGeology, rng: np.random.Generator, large: int = 0) -> tuple[_Mine, dict]:
    """The mine's roadways; ``large``: that many more districts east along the main level
    (the ``--size large`` demo for the benchmarks)."""
    m = _Mine()
    arch3 = ("three_centred_arch", 4.8, 3.8)
    arch = ("semicircular_arch", 4.6, 4.0)
    arch_d = ("semicircular_arch", 4.4, 3.6)
    rect_g = ("rectangle", 4.0, 2.8)
    trap = ("trapezoid", 3.6, 2.8, 3.0)
    level_y = {"track": -60.0, "belt": -90.0, "return": -30.0}
    level_z = 1105.0                                  # main level, in rock below M9

    # Main inclines: from the surface at y = 950 down to the main level.
    for name, rid, rtype, x, air, ly in (
            ("主斜井(胶带)", "main-belt-incline", "belt", -40.0, "forward", level_y["belt"]),
            ("副斜井(进风)", "aux-incline", "main_intake", 0.0, "forward", level_y["track"]),
            ("回风斜井", "return-incline", "main_return", 40.0, "reverse", level_y["return"])):
        top = (x, 950.0, float(geo.surface(x, 950.0)))
        pts = _line(top, (x, ly, level_z), 25.0)
        m.road(rid, name, rtype, arch3, pts, air)

    # Main level along strike, with a gentle 3 per mille drainage grade towards the sump.
    east_x = MAIN_LEVEL_EAST_X + large * LARGE_SPACING_M
    x0, x1 = -1500.0, east_x
    for key, rid, name, rtype, air in (("track", "main-track", "主运输大巷(轨道)", "main_intake", "none"),
                                       ("belt", "main-belt", "主运输大巷(胶带)", "belt", "none"),
                                       ("return", "main-return", "总回风巷", "main_return", "none")):
        y = level_y[key]
        pts = _line((x0, y, 0), (x1, y, 0), 50.0)
        pts[:, 2] = level_z + 0.003 * np.abs(pts[:, 0])
        m.road(rid, name, rtype, arch, pts, air)

    # The 119 district: three district roadways down dip from the main level.
    dist = {"track": 100.0, "belt": 130.0, "return": 160.0}
    yb = -760.0
    for key, rid, name, rtype, air in (("track", "119-track", "119盘区轨道上山", "district_intake", "forward"),
                                       ("belt", "119-belt", "119盘区胶带上山", "belt", "forward"),
                                       ("return", "119-return", "119盘区回风上山", "district_return", "reverse")):
        x = dist[key]
        y0 = level_y["track"] if key != "return" else level_y["return"]
        pts = _line((x, y0, 0), (x, yb, 0), 20.0)
        seam = geo.floor(MAIN_SEAM, pts[:, 0], pts[:, 1])
        pts[:, 2] = np.minimum(seam - 8.0, level_z + 0.003 * x)   # in the floor rock
        pts[0, 2] = level_z + 0.003 * x
        m.road(rid, name, rtype, arch_d, pts, air)

    # Longwall 11901 (active) and panel 11902 (being developed), gateroads in the M9 seam.
    panels = {"11901": (-250.0, -430.0), "11902": (-470.0, -650.0)}
    xe = 1400.0
    def district_z(key: str, y: float) -> float:
        p = np.asarray(m.roads[f"119-{key}"].points)
        return float(np.interp(-y, -p[:, 1], p[:, 2]))

    for pid, (yu, yl) in panels.items():
        # Each gateroad leaves its district roadway (in the floor rock) and ramps up into
        # the seam within 40 m; the intake crosses over the belt and return roadways.
        for key, y, rid, name, air in (("return", yu, f"{pid}-return", f"{pid}回风巷", "reverse"),
                                       ("track", yl, f"{pid}-intake", f"{pid}运输巷", "forward")):
            x_start = dist[key]
            pts = _in_seam(geo, np.vstack([[x_start, y, 0.0],
                                           _line((x_start + 40.0, y, 0), (xe, y, 0))]))
            pts[0, 2] = district_z(key, y)
            m.road(rid, name, "gateroad", rect_g, pts, air)
    cut = _in_seam(geo, _line((xe, panels["11901"][1], 0), (xe, panels["11901"][0], 0), 10.0))
    m.road("11901-cut", "11901开切眼", "cut_through", ("rectangle", 6.0, 2.6), cut, "forward")

    # Cut-throughs (联络巷) between parallel roadways.
    n = 0
    for x in np.arange(-1350.0, 1751.0, 300.0):
        for a, b in (("track", "belt"), ("track", "return")):
            n += 1
            za = level_z + 0.003 * abs(x)
            m.road(f"xc-{n:02d}", f"联络巷{n}", "cut_through", trap,
                   _line((x, level_y[a], za), (x, level_y[b], za), 10.0), "none")
    for y in np.arange(-200.0, -701.0, -150.0):
        n += 1
        pts = _line((dist["track"], y, 0), (dist["return"], y, 0), 10.0)
        pts[:, 2] = np.interp(pts[:, 0], [dist["track"], dist["return"]],
                              [district_z("track", y), district_z("return", y)])
        m.road(f"xc-{n:02d}", f"联络巷{n}", "cut_through", trap, pts, "none")
    faces = {"11901": {"yu": panels["11901"][0], "yl": panels["11901"][1], "xe": xe,
                       "advanced_m": round(float(rng.uniform(280, 360)), 1)},
             "11902": {"yu": panels["11902"][0], "yl": panels["11902"][1], "xe": xe,
                       "heading_return_m": round(float(rng.uniform(380, 460)), 1),
                       "heading_intake_m": round(float(rng.uniform(330, 420)), 1)}}
    # (after everything above: what came before keeps its random draws and its numbers)
    _main_extension(m, level_y, level_z, trap, east_x)
    faces.update(_district_117(m, geo, level_y, level_z, arch_d, rect_g, trap))
    for k in range(large):
        faces.update(_large_district(m, geo, k, level_y, level_z, arch_d, rect_g, trap))
    return m, faces


#: The main level runs east to here (it ended at x = 1800 until the demo grew to a real
#: district's size: the first 3300 m, and everything placed along them, are as they were).
MAIN_LEVEL_EAST_X = 2600.0
_FIRST_MAIN_XC = 22            # cut-throughs xc-01 … xc-22 join the main level's roadways


def _main_extension(m: _Mine, level_y: dict, level_z: float, trap, east_x: float) -> None:
    """Cut-throughs along the main level's east end (numbered after the older ones)."""
    n = len([r for r in m.roads if r.startswith("xc-")])
    for x in np.arange(2050.0, east_x - 49.0, 300.0):
        for a, b in (("track", "belt"), ("track", "return")):
            n += 1
            za = level_z + 0.003 * abs(x)
            m.road(f"xc-{n:02d}", f"联络巷{n}", "cut_through", trap,
                   _line((x, level_y[a], za), (x, level_y[b], za), 10.0), "none")


#: The ``--size large`` demo's districts: one every this many metres east of the standard
#: mine's main level, each with four panels (two each side of its district roadways, one
#: below the other) driven by two headings each — for the benchmarks (≥ 1500 points, ≥ 1000
#: people, ≥ 80 km).
LARGE_SPACING_M = 1000.0
LARGE_PANEL_M = 420.0          # a panel's gateroads, from the district roadways
LARGE_DISTRICTS = 10
LARGE_TEAM = 15              # people of a heading team (three shifts of five)


def large_district_names(k: int) -> tuple[str, tuple[str, ...]]:
    """(district, its panels) of the large demo's k-th district: 121, (12101 … 12104); odd
    panels west of the district roadways, even ones east."""
    d = f"{121 + 2 * k}"
    return d, tuple(f"{d}0{i}" for i in (1, 2, 3, 4))


def _large_district(m: _Mine, geo: TrueGeology, k: int, level_y: dict, level_z: float,
                    arch_d, rect_g, trap) -> dict:
    d, panels = large_district_names(k)
    x = MAIN_LEVEL_EAST_X + 500.0 + k * LARGE_SPACING_M
    dist = {"track": x, "belt": x + 30.0, "return": x + 60.0}
    yb = -700.0
    for key, rtype, air, zh in (("track", "district_intake", "forward", "轨道上山"),
                                ("belt", "belt", "forward", "胶带上山"),
                                ("return", "district_return", "reverse", "回风上山")):
        xx = dist[key]
        y0 = level_y["track"] if key != "return" else level_y["return"]
        pts = _line((xx, y0, 0), (xx, yb, 0), 20.0)
        seam = geo.floor(MAIN_SEAM, pts[:, 0], pts[:, 1])
        pts[:, 2] = np.minimum(seam - 8.0, level_z + 0.003 * abs(xx))
        pts[0, 2] = level_z + 0.003 * abs(xx)
        m.road(f"{d}-{key}", f"{d}盘区{zh}", rtype, arch_d, pts, air)

    def district_z(key: str, y: float) -> float:
        p = np.asarray(m.roads[f"{d}-{key}"].points)
        return float(np.interp(-y, -p[:, 1], p[:, 2]))
    out = {}
    for pid, (yu, yl), sign in zip(panels, ((-250.0, -430.0), (-250.0, -430.0),
                                            (-470.0, -650.0), (-470.0, -650.0)),
                                   (-1.0, 1.0, -1.0, 1.0)):
        for key, y, rid, name, air in (("return", yu, f"{pid}-return", f"{pid}回风巷", "reverse"),
                                       ("track", yl, f"{pid}-intake", f"{pid}运输巷", "forward")):
            x_start = dist[key]          # (a gateroad crosses over the district's others)
            pts = _in_seam(geo, np.vstack([[x_start, y, 0.0],
                                           _line((x_start + sign * 40.0, y, 0),
                                                 (x_start + sign * LARGE_PANEL_M, y, 0))]))
            pts[0, 2] = district_z(key, y)
            m.road(rid, name, "gateroad", rect_g, pts, air)
        i = panels.index(pid)
        out[pid] = {"yu": yu, "yl": yl, "heading_return_m": 150.0 + 23.0 * ((k + i) % 7),
                    "heading_intake_m": 130.0 + 19.0 * ((k + 2 * i) % 5), "district": d,
                    "large": True}
    n = len([r for r in m.roads if r.startswith("xc-")])
    for y in np.arange(-200.0, yb + 1.0, -150.0):
        n += 1
        pts = _line((dist["track"], y, 0), (dist["return"], y, 0), 10.0)
        pts[:, 2] = np.interp(pts[:, 0], [dist["track"], dist["return"]],
                              [district_z("track", y), district_z("return", y)])
        m.road(f"xc-{n:02d}", f"联络巷{n}", "cut_through", trap, pts, "none")
    return out


def _district_117(m: _Mine, geo: TrueGeology, level_y: dict, level_z: float, arch_d, rect_g,
                  trap) -> dict:
    """The 117 district west of the 119: three district roadways down dip in the floor rock,
    panel 11702 being developed westward by two headings, and the sealed 11701 fire zone
    (its old gateroads and cut, closed by seals at the district; geology/hazards.toml has
    its outline). Fixed figures: no random draws (the rest of the demo stays as it was)."""
    dist = {"track": -700.0, "belt": -730.0, "return": -760.0}
    yb = -900.0
    for key, rid, name, rtype, air in (("track", "117-track", "117盘区轨道上山", "district_intake", "forward"),
                                       ("belt", "117-belt", "117盘区胶带上山", "belt", "forward"),
                                       ("return", "117-return", "117盘区回风上山", "district_return", "reverse")):
        x = dist[key]
        y0 = level_y["track"] if key != "return" else level_y["return"]
        pts = _line((x, y0, 0), (x, yb, 0), 20.0)
        seam = geo.floor(MAIN_SEAM, pts[:, 0], pts[:, 1])
        pts[:, 2] = np.minimum(seam - 8.0, level_z + 0.003 * abs(x))
        pts[0, 2] = level_z + 0.003 * abs(x)
        m.road(rid, name, rtype, arch_d, pts, air)

    def district_z(key: str, y: float) -> float:
        p = np.asarray(m.roads[f"117-{key}"].points)
        return float(np.interp(-y, -p[:, 1], p[:, 2]))

    xw = -1400.0
    for pid, (yu, yl), west, air_ret, air_int in (("11702", (-250.0, -430.0), xw, "reverse", "forward"),
                                                  ("11701", (-520.0, -700.0), -1200.0, "none", "none")):
        for key, y, rid, name, air in (("return", yu, f"{pid}-return", f"{pid}回风巷", air_ret),
                                       ("track", yl, f"{pid}-intake", f"{pid}运输巷", air_int)):
            x_start = dist[key]
            pts = _in_seam(geo, np.vstack([[x_start, y, 0.0],
                                           _line((x_start - 40.0, y, 0), (west, y, 0))]))
            pts[0, 2] = district_z(key, y)
            m.road(rid, name, "gateroad", rect_g, pts, air)
    cut = _in_seam(geo, _line((-1200.0, -700.0, 0), (-1200.0, -520.0, 0), 10.0))
    m.road("11701-cut", "11701开切眼(已封闭)", "cut_through", ("rectangle", 6.0, 2.6), cut, "none")
    n = len([r for r in m.roads if r.startswith("xc-")])
    for y in np.arange(-200.0, yb + 1.0, -150.0):
        n += 1
        pts = _line((dist["track"], y, 0), (dist["return"], y, 0), 10.0)
        pts[:, 2] = np.interp(pts[:, 0], [dist["return"], dist["track"]],
                              [district_z("return", y), district_z("track", y)])
        m.road(f"xc-{n:02d}", f"联络巷{n}", "cut_through", trap, pts, "none")
    return {"11702": {"yu": -250.0, "yl": -430.0, "xw": xw, "heading_return_m": 262.0,
                      "heading_intake_m": 218.0},
            "11701": {"yu": -520.0, "yl": -700.0, "xw": -1200.0}}


def _chainage(road: _Road) -> np.ndarray:
    p = np.asarray(road.points)
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])


def _crs(road: _Road, ch: float) -> list[str]:
    """x, y, z of a chainage in the mine's CRS (the origin added back), for RYJZ."""
    p = _point(road, ch)
    return [_fmt(p[0] + ORIGIN[0]), _fmt(p[1] + ORIGIN[1]), _fmt(p[2] + ORIGIN[2])]


def _point(road: _Road, ch: float) -> np.ndarray:
    p = np.asarray(road.points)
    c = _chainage(road)
    return np.array([np.interp(ch, c, p[:, k]) for k in range(3)])


# ---------------------------------------------------------------------- sensors

# (type code, unit, value type, range low/high, upper alarm, clear, power-off, re-power)
_CH4 = ("0001", "%", "MN", 0.0, 4.0)
_TYPES = {
    "CH4": _CH4, "V": ("0002", "m/s", "MN", 0.0, 15.0), "T": ("0003", "℃", "MN", 0.0, 40.0),
    "CO": ("0004", "ppm", "MN", 0.0, 500.0), "P": ("0006", "kPa", "MN", 0.0, 10.0),
    "O2": ("0012", "%", "MN", 0.0, 25.0), "CO2": ("0013", "%", "MN", 0.0, 5.0),
    "FAN": ("1001", "", "KG", None, None), "DOOR": ("1002", "", "KG", None, None),
    "SMOKE": ("1008", "", "KG", None, None), "MAINFAN": ("1010", "", "KG", None, None),
    "FEED": ("1011", "", "KG", None, None),
    # (the demo at a real district's size, #20.7)
    "DUST": ("0014", "mg/m³", "MN", 0.0, 1000.0), "SEP": ("0020", "mm", "MN", 0.0, 500.0),
    "STRESS": ("0034", "MPa", "MN", 0.0, 60.0), "N2": ("0045", "%", "MN", 0.0, 100.0),
    "C2H4": ("0046", "ppm", "MN", 0.0, 1000.0), "C2H6": ("0047", "ppm", "MN", 0.0, 1000.0),
    "WATER": ("0007", "m", "MN", 0.0, 10.0), "Q": ("0019", "m³/min", "MN", 0.0, 20000.0),
    "DUCT": ("1003", "", "KG", None, None), "EQUIP": ("1004", "", "KG", None, None),
    "BREAKER": ("1009", "", "KG", None, None),
    # a tube-bundle analyser's CH4 reads the goaf's, up to 100 %: the high/low-range type
    "CH4H": ("0011", "%", "MN", 0.0, 100.0),
}
#: A switch point's CDDY "on" and "off" texts.
_SWITCH_TEXTS = {"FAN": ("开", "停"), "DOOR": ("开", "关"), "SMOKE": ("报警", "正常"),
                 "MAINFAN": ("开", "停"), "FEED": ("有电", "无电"), "DUCT": ("有风", "无风"),
                 "EQUIP": ("开", "停"), "BREAKER": ("复电", "断电")}
#: Tube-bundle sampling points (束管监测, #20.7): id, name, roadway, chainage (None: a metre
#: count behind the face), sealed — each analysing these gases, one CDDY point per gas.
TUBE_GASES = ("O2", "N2", "CO", "CO2", "CH4", "C2H4", "C2H6")
# CH4 thresholds by AQ 1029 position (REFERENCE.md §2): alarm, power-off, re-power.
_CH4_BY_CATEGORY = {"T0": (1.0, 1.5, 1.0), "T1": (1.0, 1.5, 1.0), "T2": (1.0, 1.0, 1.0),
                    "T3": (0.5, 0.5, 0.5)}


def _sensors(m: _Mine, faces: dict) -> None:
    """Sensors placed by the AQ 1029 rules (distances from the standard's placement
    drawings: T0 ≤ 1 m from the face at the upper corner, T1 ≤ 10 m from the return end of
    the face, T2 10–15 m from the return gateroad's mouth; heading T1 ≤ 5 m from the face,
    T2 10–15 m from the heading's mouth)."""
    face = faces["11901"]
    face_x = face["xe"] - face["advanced_m"]
    ret, intake = m.roads["11901-return"], m.roads["11901-intake"]
    ch_face_ret = _chainage(ret)[-1] - face["advanced_m"]
    ch_face_int = _chainage(intake)[-1] - face["advanced_m"]

    def add(kind, outstation, location, road=None, ch=None, pos=None, category=None,
            alarm=None, key=None, links=()):
        """``key`` names the point for ``links`` of others: (CDDY relation code, key)."""
        m.sensors.append(dict(kind=kind, outstation=outstation, location=location, road=road,
                              ch=ch, pos=pos, category=category, alarm=alarm, key=key,
                              links=tuple(links)))

    # Longwall 11901. Its CH4 points cut the face's and return's power (AQ 1029: T0, T1, T2),
    # which the feeder sensor on the face's switchgear confirms (CDDY relation D).
    cut = (("D", "feed-11901"),)
    add("CH4", "002", "11901上隅角", "11901-return", ch_face_ret - 1.0, category="T0", links=cut)
    add("CH4", "002", "11901工作面", pos=(face_x - 1.0, face["yu"] - 8.0, None), category="T1",
        links=cut)
    add("CH4", "002", "11901回风巷", "11901-return", 12.0, category="T2", links=cut)
    add("CH4", "002", "11901运输巷(进风)", "11901-intake", ch_face_int - 15.0, category="T3")
    add("CO", "002", "11901上隅角", "11901-return", ch_face_ret - 1.5)
    add("CO", "002", "11901回风巷", "11901-return", 20.0)
    add("T", "002", "11901工作面回风", "11901-return", ch_face_ret - 8.0)
    add("V", "002", "11901回风巷测风站", "11901-return", 40.0)
    add("O2", "002", "11901运输巷", "11901-intake", 30.0)
    add("CO2", "002", "11901运输巷", "11901-intake", 35.0)
    add("SMOKE", "003", "11901运输巷胶带机头", "11901-intake", 8.0)
    add("CO", "003", "11901运输巷胶带机头", "11901-intake", 10.0)
    # Headings of 11902.
    for key, rid, name in (("heading_return_m", "11902-return", "11902回风巷掘进"),
                           ("heading_intake_m", "11902-intake", "11902运输巷掘进")):
        adv = faces["11902"][key]
        feed = (("D", f"feed-{rid}"),)
        add("CH4", "004", f"{name}工作面", rid, adv - 4.0, category="T1", links=feed)
        add("CH4", "004", f"{name}回风流", rid, 12.0, category="T2", links=feed)
        add("CO", "004", f"{name}回风流", rid, 18.0)
        add("V", "004", f"{name}", rid, 25.0)
        add("T", "004", f"{name}工作面", rid, adv - 6.0)
        add("FAN", "004", f"{name}局部通风机", rid, 6.0, key=f"fan1-{rid}",
            links=(("Z", f"fan2-{rid}"),))
    # District and main roadways.
    add("CH4", "005", "119盘区回风上山", "119-return", 30.0, alarm=0.75)
    add("CO", "005", "119盘区回风上山", "119-return", 35.0)
    add("V", "005", "119盘区回风上山测风站", "119-return", 60.0)
    add("CO", "005", "119盘区胶带上山机头", "119-belt", 10.0)
    add("SMOKE", "005", "119盘区胶带上山机头", "119-belt", 12.0)
    # air doors in pairs, interlocked (CDDY relation G): never both open
    add("DOOR", "005", "119盘区风门(外)", "xc-24", 20.0, key="door-xc24-1",
        links=(("G", "door-xc24-2"),))
    add("CH4", "001", "总回风巷", "main-return", 1500.0, alarm=0.75)
    add("CO", "001", "总回风巷", "main-return", 1520.0)
    add("V", "001", "总回风巷测风站", "main-return", 1560.0)
    add("T", "001", "中央变电所", "main-track", 1480.0)
    add("CO", "001", "主运输大巷胶带机头", "main-belt", 1450.0)
    add("SMOKE", "001", "主运输大巷胶带机头", "main-belt", 1455.0)
    add("CH4", "006", "回风斜井", "return-incline", 300.0, alarm=0.75)
    add("CO", "006", "回风斜井", "return-incline", 320.0)
    add("V", "006", "回风斜井", "return-incline", 340.0)
    add("P", "006", "主通风机负压", "return-incline", 2.0)
    # the main fan and its standby (CDDY relation Z: the standby starts when the main stops)
    add("MAINFAN", "006", "主通风机(1号)", "return-incline", 1.0, key="mainfan-1",
        links=(("Z", "mainfan-2"),))
    add("CO", "007", "主斜井胶带机头", "main-belt-incline", 15.0)
    add("SMOKE", "007", "主斜井胶带机头", "main-belt-incline", 18.0)
    add("T", "007", "主斜井", "main-belt-incline", 500.0)
    add("DOOR", "001", "大巷风门(外)", "xc-02", 10.0, key="door-xc02-1",
        links=(("G", "door-xc02-2"),))
    add("DOOR", "001", "大巷风门(内)", "xc-02", 16.0, key="door-xc02-2",
        links=(("G", "door-xc02-1"),))
    # (after the others: the points above keep the codes they had before these came)
    add("DOOR", "005", "119盘区风门(内)", "xc-24", 30.0, key="door-xc24-2",
        links=(("G", "door-xc24-1"),))
    add("MAINFAN", "006", "主通风机(2号备用)", "return-incline", 1.6, key="mainfan-2",
        links=(("Z", "mainfan-1"),))
    add("FEED", "002", "11901工作面馈电开关", "11901-intake", 50.0, key="feed-11901")
    for rid, name in (("11902-return", "11902回风巷掘进"), ("11902-intake", "11902运输巷掘进")):
        add("FEED", "004", f"{name}馈电开关", rid, 8.0, key=f"feed-{rid}")
    face["ch_face_ret"], face["ch_face_int"] = ch_face_ret, ch_face_int
    _more_sensors(m, faces, add, ch_face_ret, ch_face_int)
    for k, (d, panels) in enumerate(_large_of(faces)):
        district, west, east = large_outstations(k)
        xc = next(r for r in sorted(m.roads) if r.startswith("xc-") and
                  m.roads[r].points[0][0] == m.roads[f"{d}-track"].points[0][0])
        _district_points(add, district, d, xc, extra=True)
        for i, pid in enumerate(panels):
            for key, end in (("heading_return_m", "return"), ("heading_intake_m", "intake")):
                _heading_points(add, west if i % 2 == 0 else east, f"{pid}-{end}",
                                f"{pid}{'回风巷' if end == 'return' else '运输巷'}掘进",
                                faces[pid][key], extra=True)


def _large_of(faces: dict) -> list[tuple[str, list[str]]]:
    """(district, its panels) of the large demo's districts, in order."""
    ds = list(dict.fromkeys(f["district"] for f in faces.values() if f.get("large")))
    return [(d, [p for p, f in faces.items() if f.get("district") == d]) for d in ds]


def large_outstations(k: int) -> tuple[str, str, str]:
    """The outstation codes of the large demo's k-th district: its own, its west and east
    headings'."""
    return f"{12 + 3 * k:03d}", f"{13 + 3 * k:03d}", f"{14 + 3 * k:03d}"


def _more_sensors(m: _Mine, faces: dict, add, ch_face_ret: float, ch_face_int: float) -> None:
    """The points a real district has beyond the first 51 (#20.7), after them so theirs keep
    their codes: dust, roof separation and stress ahead of the face, equipment on/off, the
    headings' standby fans and ducts, the 117 district and its headings, the tube-bundle
    sampling points behind the face and in the sealed 11701 fire zone, the main level's
    east end, breakers and the sump."""
    # 11901 longwall
    add("DUST", "002", "11901工作面回风", "11901-return", ch_face_ret - 10.0)
    add("DUST", "003", "11901运输巷转载点", "11901-intake", 15.0)
    add("O2", "002", "11901上隅角", "11901-return", ch_face_ret - 2.0)
    add("CO", "002", "11901下隅角", "11901-intake", ch_face_int - 10.0)
    add("T", "003", "11901运输巷", "11901-intake", 40.0)
    add("V", "003", "11901运输巷测风站", "11901-intake", 45.0)
    add("EQUIP", "003", "11901采煤机开停", "11901-intake", ch_face_int - 5.0, key="on-shearer-11901")
    add("EQUIP", "003", "11901刮板输送机开停", "11901-intake", ch_face_int - 6.0,
        key="on-conveyor-11901")
    add("EQUIP", "003", "11901运输巷胶带机开停", "11901-intake", 9.0, key="on-belt-11901")
    add("BREAKER", "002", "11901工作面断电器", "11901-intake", 52.0)
    for where, rid, ahead in (("回风巷", "11901-return", 20.0), ("回风巷", "11901-return", 50.0),
                              ("运输巷", "11901-intake", 20.0)):
        ch = (ch_face_ret if rid.endswith("return") else ch_face_int) - ahead
        add("SEP", "011", f"11901{where}顶板离层(超前{ahead:.0f}m)", rid, ch)
    for where, rid, ahead in (("回风巷", "11901-return", 30.0), ("运输巷", "11901-intake", 30.0)):
        ch = (ch_face_ret if rid.endswith("return") else ch_face_int) - ahead
        add("STRESS", "011", f"11901{where}钻孔应力(超前{ahead:.0f}m)", rid, ch)
    # 11902 headings: the standby local fan (Z with the one already there), duct, dust, CO
    for key, rid, name in (("heading_return_m", "11902-return", "11902回风巷掘进"),
                           ("heading_intake_m", "11902-intake", "11902运输巷掘进")):
        adv = faces["11902"][key]
        add("FAN", "004", f"{name}局部通风机(备)", rid, 6.5, key=f"fan2-{rid}",
            links=(("Z", f"fan1-{rid}"),))
        add("DUCT", "004", f"{name}风筒", rid, 7.0)
        add("DUST", "004", f"{name}工作面", rid, adv - 10.0)
        add("CO", "004", f"{name}工作面", rid, adv - 6.0)
    # the 117 district
    xc = next(r for r in sorted(m.roads) if r.startswith("xc-") and
              m.roads[r].points[0][0] == -700.0)
    _district_points(add, "008", "117", xc)
    # 11702 headings
    for key, rid, name in (("heading_return_m", "11702-return", "11702回风巷掘进"),
                           ("heading_intake_m", "11702-intake", "11702运输巷掘进")):
        _heading_points(add, "009", rid, name, faces["11702"][key])
    # tube-bundle sampling points: behind the face (in the goaf) and inside the 11701 seals
    for tid, name, rid, ch, _sealed in tube_points(faces):
        for gas in TUBE_GASES:
            add("CH4H" if gas == "CH4" else gas, "010", f"{name}{gas}", rid, ch,
                key=f"tube-{tid}-{gas}")
        if _sealed:
            add("T", "010", f"{name}温度", rid, ch, key=f"tube-{tid}-T")
    add("CO", "008", "11701火区密闭外", "11701-return", 10.0)
    add("CH4", "008", "11701火区密闭外", "11701-return", 11.0)
    add("CO", "008", "11701火区运输巷密闭外", "11701-intake", 10.0)
    # the main level's east end, the main fan's air, breakers, the sump
    add("CH4", "001", "主运输大巷(东翼)", "main-track", 3600.0)
    add("CO", "001", "主运输大巷胶带(东翼)", "main-belt", 3600.0)
    add("V", "001", "主运输大巷东翼测风站", "main-track", 3700.0)
    add("CH4", "001", "总回风巷(东翼)", "main-return", 3600.0, alarm=0.75)
    add("CO", "001", "总回风巷(东翼)", "main-return", 3610.0)
    add("V", "001", "总回风巷东翼测风站", "main-return", 3650.0)
    add("BREAKER", "001", "中央变电所断电器", "main-track", 1478.0)
    add("WATER", "001", "中央水仓水位", "main-track", 1436.0)
    add("Q", "006", "主通风机风量", "return-incline", 3.0)
    add("EQUIP", "007", "主斜井胶带机开停", "main-belt-incline", 14.0, key="on-belt-main")
    add("EQUIP", "005", "119盘区胶带机开停", "119-belt", 9.0, key="on-belt-119")
    add("V", "005", "119盘区轨道上山测风站", "119-track", 50.0)
    add("CH4", "005", "119盘区轨道上山", "119-track", 55.0)
    add("T", "005", "119盘区回风上山", "119-return", 65.0)


def _district_points(add, outstation: str, d: str, xc: str, extra: bool = False) -> None:
    """A district's own points: its return's CH4 (0.75 %), CO, air velocity and temperature,
    the intake's air velocity, the belt head's CO, smoke and on/off, an interlocked door pair
    in the cut-through ``xc`` between intake and return, the substation's breaker."""
    add("CH4", outstation, f"{d}盘区回风上山", f"{d}-return", 30.0, alarm=0.75)
    add("CO", outstation, f"{d}盘区回风上山", f"{d}-return", 35.0)
    add("V", outstation, f"{d}盘区回风上山测风站", f"{d}-return", 60.0)
    add("T", outstation, f"{d}盘区回风上山", f"{d}-return", 65.0)
    add("V", outstation, f"{d}盘区轨道上山测风站", f"{d}-track", 50.0)
    add("CO", outstation, f"{d}盘区胶带上山机头", f"{d}-belt", 10.0)
    add("SMOKE", outstation, f"{d}盘区胶带上山机头", f"{d}-belt", 12.0)
    add("EQUIP", outstation, f"{d}盘区胶带机开停", f"{d}-belt", 9.0, key=f"on-belt-{d}")
    add("DOOR", outstation, f"{d}盘区风门(外)", xc, 10.0, key=f"door-{d}-1",
        links=(("G", f"door-{d}-2"),))
    add("DOOR", outstation, f"{d}盘区风门(内)", xc, 20.0, key=f"door-{d}-2",
        links=(("G", f"door-{d}-1"),))
    add("BREAKER", outstation, f"{d}盘区变电所断电器", f"{d}-track", 46.0)
    if extra:                      # (the large demo's districts)
        add("CO", outstation, f"{d}盘区轨道上山", f"{d}-track", 60.0)
        add("CH4", outstation, f"{d}盘区胶带上山", f"{d}-belt", 40.0)


def _heading_points(add, outstation: str, rid: str, name: str, adv: float,
                    extra: bool = False) -> None:
    """A heading's points as AQ 1029 places them: T1 ≤ 5 m from its face and T2 10–15 m from
    its mouth (both cutting its feeder, D), CO at the face and in the return air, air velocity,
    temperature and dust at the face, the main and standby local fan (Z), the duct, the feeder."""
    feed = (("D", f"feed-{rid}"),)
    add("CH4", outstation, f"{name}工作面", rid, adv - 4.0, category="T1", links=feed)
    add("CH4", outstation, f"{name}回风流", rid, 12.0, category="T2", links=feed)
    add("CO", outstation, f"{name}工作面", rid, adv - 6.0)
    add("CO", outstation, f"{name}回风流", rid, 18.0)
    add("V", outstation, f"{name}", rid, 25.0)
    add("T", outstation, f"{name}工作面", rid, adv - 6.0)
    add("DUST", outstation, f"{name}工作面", rid, adv - 10.0)
    add("FAN", outstation, f"{name}局部通风机(主)", rid, 6.0, key=f"fan1-{rid}",
        links=(("Z", f"fan2-{rid}"),))
    add("FAN", outstation, f"{name}局部通风机(备)", rid, 6.5, key=f"fan2-{rid}",
        links=(("Z", f"fan1-{rid}"),))
    add("DUCT", outstation, f"{name}风筒", rid, 7.0)
    add("FEED", outstation, f"{name}馈电开关", rid, 8.0, key=f"feed-{rid}")
    if extra:                      # (the large demo's headings)
        add("CH4", outstation, f"{name}局部通风机吸风口", rid, 3.0)
        add("O2", outstation, f"{name}工作面", rid, adv - 7.0)
        add("CO2", outstation, f"{name}回风流", rid, 20.0)
        add("T", outstation, f"{name}回风流", rid, 22.0)
        add("EQUIP", outstation, f"{name}掘进机开停", rid, adv - 12.0)


def tube_points(faces: dict) -> list[tuple[str, str, str, float, bool]]:
    """The demo's tube-bundle sampling points: (id, name, roadway, chainage, sealed)."""
    f = faces["11901"]
    return [("TB01", "11901采空区回风侧埋管", "11901-return", f["ch_face_ret"] + 30.0, False),
            ("TB02", "11901采空区进风侧埋管", "11901-intake", f["ch_face_int"] + 30.0, False),
            ("TB03", "11701火区回风巷密闭内", "11701-return", 30.0, True),
            ("TB04", "11701火区运输巷密闭内", "11701-intake", 30.0, True)]

_OUTSTATIONS = {"001": ("中央变电所分站", "main-track", 1470.0),
                "002": ("11901工作面分站", "11901-intake", 60.0),
                "003": ("11901运输巷分站", "11901-intake", 12.0),
                "004": ("11902掘进分站", "11902-return", 40.0),
                "005": ("119盘区分站", "119-track", 40.0),
                "006": ("回风斜井分站", "return-incline", 10.0),
                "007": ("主斜井分站", "main-belt-incline", 20.0),
                "008": ("117盘区分站", "117-track", 40.0),
                "009": ("11702掘进分站", "11702-return", 40.0),
                "010": ("束管监测分站", "main-track", 1490.0),
                "011": ("11901顶板监测分站", "11901-return", 80.0)}


# ---------------------------------------------------------------------- people

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林"
_GIVEN = "伟芳勇军杰强磊洋超明刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林"
_TEAMS = [("综采一队", "采煤工", 60), ("掘进一队", "掘进工", 45), ("掘进二队", "掘进工", 45),
          ("机电队", "电钳工", 40), ("通风队", "瓦斯检查工", 30), ("运输队", "运输工", 35),
          ("安检科", "安全检查工", 20), ("调度室", "调度员", 12), ("矿领导", "管理人员", 9)]
_SPECIAL = {"瓦斯检查工", "电钳工", "安全检查工"}


#: The 117 district's heading teams (#20.7): after the others, from a generator of their own.
_MORE_TEAMS = [("掘进三队", "掘进工", 45), ("掘进四队", "掘进工", 45), ("通风队", "瓦斯检查工", 10),
               ("机电队", "电钳工", 12)]


def _people(rng: np.random.Generator, more: np.random.Generator | None = None,
            large: tuple[np.random.Generator, int] | None = None) -> list[list[str]]:
    rows = []
    n = 0
    teams = [(t, tr, c, rng) for t, tr, c in _TEAMS] + \
        ([(t, tr, c, more) for t, tr, c in _MORE_TEAMS] if more is not None else [])
    if large is not None:         # a heading team for each of the large demo's headings
        lrng, headings = large
        teams += [(f"掘进{5 + i}队", "掘进工", LARGE_TEAM, lrng) for i in range(headings)]
    for team, trade, count, rng in teams:
        first = not any(r[4] == team for r in rows)
        for i in range(count):
            n += 1
            name = _SURNAMES[rng.integers(len(_SURNAMES))] + "".join(
                _GIVEN[k] for k in rng.integers(len(_GIVEN), size=int(rng.integers(1, 3))))
            leader = team == "矿领导" or (i == 0 and first)
            post = "队长" if i == 0 and first and team != "矿领导" else (
                "矿长" if team == "矿领导" and i == 0 else ("副矿长" if leader else "工人"))
            birth = f"{int(rng.integers(1970, 2003))}-{int(rng.integers(1, 13)):02d}-" \
                    f"{int(rng.integers(1, 29)):02d}"
            edu = ["初中", "高中", "中专", "大专", "本科"][int(rng.integers(5))]
            rows.append([f"{DEMO_MINE_CODE}{n:05d}", name, trade, post, team, birth, edu,
                         "1" if leader else "0", "1" if trade in _SPECIAL else "0"])
    return rows


# ---------------------------------------------------------------------- equipment

def _equipment(m: _Mine, faces: dict) -> None:
    f = faces["11901"]
    face_x = f["xe"] - f["advanced_m"]
    e = m.equipment

    def add(eid, kind, name, road=None, ch=None, pos=None, **params):
        e.append(dict(id=eid, kind=kind, name=name, road=road, ch=ch, pos=pos, params=params))

    length = f["yu"] - f["yl"]
    n_sup = int(length // 1.5)
    for i in range(n_sup):
        y = f["yl"] + 0.75 + 1.5 * i
        add(f"support-11901-{i + 1:03d}", "hydraulic_support", f"11901液压支架{i + 1}号",
            pos=(face_x - 2.0, y, None), model=("ZY6800/11/24D", None),
            rated_resistance_kN=(6800, "kN"), legs=(2, None), leg_bore_mm=(320, "mm"),
            width_m=(1.5, "m"))
    add("shearer-11901", "shearer", "11901采煤机", pos=(face_x + 0.5, (f["yu"] + f["yl"]) / 2, None),
        model=("MG300/700-WD", None), power_kW=(700, "kW"), cutting_height_m=(1.8, "m"),
        speed_m_min=(6.0, "m/min"))
    add("conveyor-11901", "face_conveyor", "11901刮板输送机",
        pos=(face_x + 1.5, (f["yu"] + f["yl"]) / 2, None), model=("SGZ764/500", None),
        power_kW=(500, "kW"), length_m=(length, "m"))
    add("belt-11901", "belt_conveyor", "11901运输巷胶带机", "11901-intake", 8.0,
        model=("DSJ100/63/2×90", None), power_kW=(180, "kW"), speed_m_s=(2.5, "m/s"))
    add("belt-119", "belt_conveyor", "119盘区胶带机", "119-belt", 8.0, power_kW=(2 * 160, "kW"),
        speed_m_s=(3.15, "m/s"))
    add("belt-main", "belt_conveyor", "主斜井胶带机", "main-belt-incline", 12.0,
        power_kW=(2 * 315, "kW"), speed_m_s=(3.15, "m/s"))
    for key, rid, name in (("heading_return_m", "11902-return", "11902回风巷"),
                           ("heading_intake_m", "11902-intake", "11902运输巷")):
        tag = "r" if "return" in rid else "i"
        add(f"local-fan-11902{tag}-1", "local_fan", f"{name}局部通风机(主)", rid, 5.0,
            model=("FBD№6.3/2×30", None), power_kW=(60, "kW"))
        add(f"local-fan-11902{tag}-2", "local_fan", f"{name}局部通风机(备)", rid, 5.5,
            model=("FBD№6.3/2×30", None), power_kW=(60, "kW"))
        add(f"roadheader-11902{tag}", "shearer", f"{name}掘进机", rid, faces["11902"][key] - 2.0,
            model=("EBZ160", None), power_kW=(160, "kW"))
    add("main-fan-1", "main_fan", "主通风机(1号)", "return-incline", 0.5, model=("FBCDZ-8-№24", None),
        power_kW=(2 * 250, "kW"), air_m3_min=(6800, "m³/min"), pressure_Pa=(2350, "Pa"))
    add("main-fan-2", "main_fan", "主通风机(2号备用)", "return-incline", 1.5,
        model=("FBCDZ-8-№24", None), power_kW=(2 * 250, "kW"))
    for i in (1, 2, 3):
        add(f"pump-{i}", "pump", f"主排水泵{i}号", "main-track", 1440.0 + 4 * i,
            model=("MD280-43×5", None), flow_m3_h=(280, "m³/h"), head_m=(215, "m"),
            power_kW=(250, "kW"))
    add("hoist-aux", "hoist", "副斜井提升绞车", "aux-incline", 3.0, model=("JK-2.5/20", None),
        power_kW=(400, "kW"), rope_speed_m_s=(4.0, "m/s"))
    for i in (1, 2):
        add(f"compressor-{i}", "compressor", f"空压机{i}号", "main-track", 1500.0 + 5 * i,
            model=("MLGF-20/8", None), flow_m3_min=(20, "m³/min"), pressure_MPa=(0.8, "MPa"))
    for i in (1, 2):
        add(f"drainage-pump-{i}", "gas_drainage_pump", f"瓦斯抽采泵{i}号", "main-return",
            1400.0 + 6 * i, model=("2BEC-52", None), flow_m3_min=(180, "m³/min"),
            power_kW=(185, "kW"))
    add("substation-central", "substation", "中央变电所", "main-track", 1475.0,
        voltage_kV=(10, "kV"))
    add("substation-119", "substation", "119盘区变电所", "119-track", 45.0, voltage_kV=(10, "kV"))
    # the 117 district (#20.7): its belt, substation and the 11702 headings' machines
    add("belt-117", "belt_conveyor", "117盘区胶带机", "117-belt", 8.0, power_kW=(2 * 160, "kW"),
        speed_m_s=(3.15, "m/s"))
    add("substation-117", "substation", "117盘区变电所", "117-track", 45.0, voltage_kV=(10, "kV"))
    for key, rid, name in (("heading_return_m", "11702-return", "11702回风巷"),
                           ("heading_intake_m", "11702-intake", "11702运输巷")):
        _heading_machines(add, "11702", rid, name, faces["11702"][key])
    _large_machines(add, faces)


def _large_machines(add, faces: dict) -> None:
    for d, panels in _large_of(faces):
        add(f"belt-{d}", "belt_conveyor", f"{d}盘区胶带机", f"{d}-belt", 8.0,
            power_kW=(2 * 160, "kW"), speed_m_s=(3.15, "m/s"))
        add(f"substation-{d}", "substation", f"{d}盘区变电所", f"{d}-track", 45.0,
            voltage_kV=(10, "kV"))
        for pid in panels:
            for key, end, zh in (("heading_return_m", "return", "回风巷"),
                                 ("heading_intake_m", "intake", "运输巷")):
                _heading_machines(add, pid, f"{pid}-{end}", f"{pid}{zh}", faces[pid][key])


def _heading_machines(add, panel: str, rid: str, name: str, adv: float) -> None:
    """A heading's main and standby local fan and its roadheader."""
    tag = "r" if "return" in rid else "i"
    add(f"local-fan-{panel}{tag}-1", "local_fan", f"{name}局部通风机(主)", rid, 5.0,
        model=("FBD№6.3/2×30", None), power_kW=(60, "kW"))
    add(f"local-fan-{panel}{tag}-2", "local_fan", f"{name}局部通风机(备)", rid, 5.5,
        model=("FBD№6.3/2×30", None), power_kW=(60, "kW"))
    add(f"roadheader-{panel}{tag}", "shearer", f"{name}掘进机", rid, adv - 2.0,
        model=("EBZ160", None), power_kW=(160, "kW"))


# ---------------------------------------------------------------------- areas, readers

def _areas_readers(m: _Mine, faces: dict) -> tuple[list, list, list]:
    areas = [  # (type, suffix, rated, name, roadways)
        ("其他区域", "0001", 150, "井口及斜井", ["main-belt-incline", "aux-incline", "return-incline"]),
        ("其他区域", "0002", 120, "主运输大巷", ["main-track", "main-belt", "main-return"]),
        ("其他区域", "0003", 40, "119盘区上山", ["119-track", "119-belt", "119-return"]),
        ("重点区域", "0004", 45, "11901综采工作面", ["11901-return", "11901-intake", "11901-cut"]),
        ("重点区域", "0005", 20, "11902回风巷掘进工作面", ["11902-return"]),
        ("重点区域", "0006", 20, "11902运输巷掘进工作面", ["11902-intake"]),
        ("准入区域", "0007", 8, "中央变电所及水泵房", []),
        ("限制区域", "0008", 0, "盲巷及密闭区", ["11701-return", "11701-intake", "11701-cut"]),
        # (the 117 district came later: its areas after the older ones)
        ("其他区域", "0009", 40, "117盘区上山", ["117-track", "117-belt", "117-return"]),
        ("重点区域", "0010", 20, "11702回风巷掘进工作面", ["11702-return"]),
        ("重点区域", "0011", 20, "11702运输巷掘进工作面", ["11702-intake"]),
    ]
    area_rows, area_links, reader_rows = [], [], []
    xcs = sorted(r for r in m.roads if r.startswith("xc-"))
    main_xcs = [x for x in xcs if int(x[3:]) <= _FIRST_MAIN_XC]
    district_xcs = [x for x in xcs if _FIRST_MAIN_XC < int(x[3:]) <= 26]
    east_xcs = [x for x in xcs if 26 < int(x[3:]) and m.roads[x].points[0][1] > -100.0]
    west_xcs = [x for x in xcs if x not in main_xcs + district_xcs + east_xcs]
    areas[1][4].extend(main_xcs + east_xcs)
    areas[2][4].extend(district_xcs)
    areas[8][4].extend(x for x in west_xcs if m.roads[x].points[0][0] < 0)
    for atype, suffix, rated, name, roads in areas:
        code = DEMO_MINE_CODE + suffix
        area_rows.append([atype, code, str(rated), name])
        if roads:
            area_links.append([code, "|".join(roads)])
    readers = []
    n = 0
    later: list[tuple[str, str, float]] = []     # (area code, roadway, chainage), numbered last

    def spots_of(rid: str) -> list[float]:
        road = m.roads[rid]
        length = _chainage(road)[-1]
        if rid.startswith("xc-"):
            return [length / 2]
        for pid in [p for p, f in faces.items() if "heading_return_m" in f]:
            if rid in (f"{pid}-return", f"{pid}-intake"):
                adv = faces[pid]["heading_return_m" if "return" in rid else "heading_intake_m"]
                return list(np.arange(10.0, adv, 150.0)) + [max(adv - 20.0, 0.0)]
        if rid.startswith("11701-"):
            return [15.0]                         # at the seal, outside it
        return list(np.arange(10.0, length, 200.0))

    def place(code: str, rid: str, ch: float) -> None:
        nonlocal n
        n += 1
        road = m.roads[rid]
        rcode = f"{code}{n:06d}"
        readers.append([rcode, f"{road.name}{int(ch)}m分站", *_crs(road, round(ch, 1)),
                        f"{road.name}距起点{int(ch)}米"])
        reader_rows.append([rcode, rid, f"{ch:.1f}"])

    last: list[tuple[str, str, float]] = []      # the large demo's main level, last of all
    standard_end = MAIN_LEVEL_EAST_X + 1500.0     # (the main level starts at x = -1500)
    for atype, suffix, rated, name, roads in areas[:7]:
        code = DEMO_MINE_CODE + suffix
        for rid in roads:
            for ch in spots_of(rid):
                beyond = rid.startswith("main-") and ch >= standard_end or \
                    rid in east_xcs and m.roads[rid].points[0][0] > MAIN_LEVEL_EAST_X
                if beyond:
                    last.append((code, rid, ch))
                elif rid.startswith("main-") and ch >= 3300.0 or rid in east_xcs:
                    later.append((code, rid, ch))      # the main level's east end
                else:
                    place(code, rid, ch)
    # Non-roadway areas get a reader at the substation and at a sealed dead end.
    for suffix, rid, ch, label in (("0007", "main-track", 1476.0, "中央变电所"),
                                   ("0008", "main-return", 3200.0, "盲巷密闭")):
        n += 1
        rcode = f"{DEMO_MINE_CODE}{suffix}{n:06d}"
        readers.append([rcode, label, *_crs(m.roads[rid], round(ch, 1)), label])
        reader_rows.append([rcode, rid, f"{ch:.1f}"])
    for code, rid, ch in later:
        place(code, rid, ch)
    for atype, suffix, rated, name, roads in [areas[7]] + areas[8:]:
        code = DEMO_MINE_CODE + suffix
        for rid in roads:
            for ch in spots_of(rid):
                place(code, rid, ch)
    # the large demo's main level and districts (their cut-throughs by where they lie)
    for code, rid, ch in last:
        place(code, rid, ch)
    n_area = len(areas)
    for d, panels in _large_of(faces):
        x = m.roads[f"{d}-track"].points[0][0]
        own = [r for r in xcs if r in west_xcs and m.roads[r].points[0][0] == x]
        mine_areas = [("其他区域", 40, f"{d}盘区上山", [f"{d}-track", f"{d}-belt", f"{d}-return",
                                                      *own])]
        for pid in panels:
            mine_areas += [("重点区域", 20, f"{pid}回风巷掘进工作面", [f"{pid}-return"]),
                           ("重点区域", 20, f"{pid}运输巷掘进工作面", [f"{pid}-intake"])]
        for atype, rated, name, roads in mine_areas:
            n_area += 1
            code = f"{DEMO_MINE_CODE}{n_area:04d}"
            area_rows.append([atype, code, str(rated), name])
            area_links.append([code, "|".join(roads)])
            for rid in roads:
                for ch in spots_of(rid):
                    place(code, rid, ch)
    return area_rows, area_links, (readers, reader_rows)


# ---------------------------------------------------------------------- boreholes

def _boreholes(geo: TrueGeology, grng: np.random.Generator,
               rng: np.random.Generator) -> tuple[list, list, list]:
    collars, surveys, intervals = [], [], []
    prng = np.random.default_rng(20_021)   # the coal tests' own stream: the rest stays as it was
    xs = np.arange(-1400.0, 1801.0, 400.0)
    ys = np.arange(-750.0, 701.0, 350.0)
    holes = []
    for x in xs:
        for y in ys:
            holes.append((x + rng.uniform(-60, 60), y + rng.uniform(-60, 60), 0.0, -90.0))
    for k in range(3):       # deviated holes
        holes.append((rng.uniform(-500, 1200), rng.uniform(-600, 300), float(rng.uniform(0, 360)),
                       float(rng.uniform(-80, -70))))
    for i, (x, y, az, dip) in enumerate(holes, start=1):
        hid = f"ZK{i:03d}"
        zc = float(geo.surface(x, y))
        deepest = min(float(geo.floor(MAIN_SEAM, x, y)) - 30.0, zc - 50)
        depth_to = (zc - deepest) / np.sin(np.radians(-dip))
        max_depth = round(float(depth_to), 1)
        collars.append([hid, f"{x + ORIGIN[0]:.2f}", f"{y + ORIGIN[1]:.2f}", f"{zc:.2f}",
                        f"{max_depth:.1f}"])
        surveys.append([hid, "0.0", f"{az:.1f}", f"{dip:.1f}"])
        surveys.append([hid, f"{max_depth:.1f}", f"{az:.1f}", f"{dip:.1f}"])
        # Straight hole: position at depth d.
        dirv = np.array([np.sin(np.radians(az)) * np.cos(np.radians(dip)),
                         np.cos(np.radians(az)) * np.cos(np.radians(dip)), np.sin(np.radians(dip))])
        d = np.arange(0.0, max_depth, 0.05)
        p = np.array([x, y, zc]) + d[:, None] * dirv
        for seam in geo.seams:
            fl = geo.floor(seam.name, p[:, 0], p[:, 1])
            rf = fl + geo.thickness(seam.name, p[:, 0], p[:, 1])
            inside = (p[:, 2] >= fl) & (p[:, 2] <= rf)
            if not inside.any():
                continue
            idx = np.flatnonzero(inside)
            top, bot = d[idx[0]], d[idx[-1]]
            noise = rng.normal(0, 0.03, 2)          # logging pick error
            rng.uniform(8, 16)           # (kept: the stream the picks' noise follows)
            mx, my = p[idx[len(idx) // 2], :2]
            pressure = float(gas_pressure(geo, seam.name, mx, my)) + float(grng.normal(0, 0.03))
            content = float(gas_content(pressure)) + float(grng.normal(0, 0.3))
            f, dp, lam = coal_tests(max(pressure, 0.0), prng)
            intervals.append([hid, f"{top + noise[0]:.2f}", f"{bot + noise[1]:.2f}", "coal",
                              seam.name, f"{content:.2f}", f"{max(pressure, 0.0):.3f}",
                              f"{f:.2f}", f"{dp:.1f}", f"{lam:.3f}"])
    return collars, surveys, intervals


# The demo's hidden gas and water (ground truth for the hazard-zone tests): gas pressure rises
# with depth, with two enriched anomalies; content follows pressure (Langmuir-like); an
# aquifer (Ordovician limestone, 奥灰) lies 30–60 m below the M9 floor under a 1250 m head.
GAS_ANOMALIES = ((300.0, -600.0, 250.0, 0.50), (-900.0, -300.0, 220.0, 0.45))  # x, y, r, +MPa
AQUIFER_HEAD_Z = 1250.0


def gas_pressure(geo: TrueGeology, seam: str, x, y) -> np.ndarray:
    x, y = np.asarray(x, float), np.asarray(y, float)
    depth = geo.surface(x, y) - geo.floor(seam, x, y)
    p = 0.30 + 0.0009 * (depth - 350.0)
    for ax, ay, r, amp in GAS_ANOMALIES:
        p = p + amp * np.exp(-((x - ax) ** 2 + (y - ay) ** 2) / r ** 2)
    return np.maximum(p, 0.05)


def coal_tests(pressure: float, rng) -> tuple[float, float, float]:
    """The demo's lab results of a coal sample: firmness f (softer where the gas is high),
    initial desorption velocity ΔP (mmHg, rising with pressure), the permeability coefficient
    λ (m²/(MPa²·d), lognormal). Synthetic, like all of the demo."""
    f = float(np.clip(0.9 - 0.5 * pressure + rng.normal(0, 0.06), 0.12, 1.5))
    dp = float(max(2.0, 4.0 + 10.0 * pressure + rng.normal(0, 1.0)))
    lam = float(np.exp(rng.normal(np.log(0.2), 0.6)))
    return f, dp, lam


def gas_content(pressure) -> np.ndarray:
    p = np.asarray(pressure, float)
    return 2.0 + 16.0 * p / (p + 0.9)


def aquifer_top(geo: TrueGeology, x, y) -> np.ndarray:
    x, y = np.asarray(x, float), np.asarray(y, float)
    return geo.floor(MAIN_SEAM, x, y) - (45.0 + 15.0 * np.sin(x / 500.0) * np.cos(y / 400.0))


def _seismic_rows(geo: TrueGeology, faces: dict, seed: int) -> list[list]:
    """An in-seam seismic survey (槽波) of panel 11902 between its headings: seam thickness
    on a 40 m grid, ±0.25 m (one sigma) — soft data, weighed as such by the model."""
    rng = np.random.default_rng(seed + 6006)
    f2 = faces["11902"]
    stamp = (DEMO_TIME - timedelta(days=20)).isoformat(timespec="seconds")
    rows = []
    for x in np.arange(220.0, f2["xe"], 40.0):
        for y in np.arange(f2["yl"] + 20.0, f2["yu"] - 10.0, 40.0):
            t = float(geo.thickness(MAIN_SEAM, x, y)) + float(rng.normal(0, 0.25))
            rows.append([MAIN_SEAM, f"{x + ORIGIN[0]:.2f}", f"{y + ORIGIN[1]:.2f}", "",
                         f"{max(t, 0.0):.2f}", "seismic:11902", stamp, "0.25"])
    return rows


def _water_rows(geo: TrueGeology, holes: list, seed: int) -> list[list]:
    """Hydrogeological holes (every other borehole site) to the aquifer: its top and head."""
    rng = np.random.default_rng(seed + 5005)
    rows = []
    for x, y in holes[::2]:
        top = float(aquifer_top(geo, x, y)) + float(rng.normal(0, 0.5))
        head = AQUIFER_HEAD_Z + float(rng.normal(0, 1.0))
        rows.append(["O2", f"{x + ORIGIN[0]:.2f}", f"{y + ORIGIN[1]:.2f}",
                     f"{top + ORIGIN[2]:.2f}", f"{head + ORIGIN[2]:.2f}"])
    return rows


def _hazards_toml(faces: dict) -> str:
    ox, oy = ORIGIN[0], ORIGIN[1]
    f1, f2 = faces["11901"], faces["11902"]

    def outline(pts):
        return "[" + ", ".join(f"[{x + ox:.1f}, {y + oy:.1f}]" for x, y in pts) + "]"
    return "\n".join([
        "# Hazard criteria and records of the demo mine (docs/geology.md \"Hazard zones\").", "",
        "[criteria]",
        "gas_pressure_MPa = 0.74        # REFERENCE.md §4",
        "inrush_normal = 0.1            # REFERENCE.md §4: Ts, MPa/m",
        "inrush_disturbed = 0.06",
        "disturbed_within_m = 50.0      # mine-specific",
        "stress_fault_m = 30.0",
        "stress_pillar_m = 20.0",
        'overburden = "medium-hard"', "",
        "[[pillar]]",
        'name = "11901/11902区段煤柱"',
        f"outline = {outline([(180.0, f1['yl']), (f1['xe'], f1['yl']), (f1['xe'], f2['yu']), (180.0, f2['yu'])])}",
        "",
        "[[sealed]]",
        'name = "11701火区"',
        'seam = "M9"',
        'reason = "fire"',
        'since = "2024-03-15"',
        f"outline = {outline([(-1200.0, -700.0), (-800.0, -700.0), (-800.0, -520.0), (-1200.0, -520.0)])}",
        ""])





def _exposures(geo: TrueGeology, m: _Mine, faces: dict, seed: int) -> str:
    """What mining has exposed of the main seam by the demo's time: its floor and thickness
    mapped every 10 m along the gateroads and cut of 11901, along the driven part of 11902's
    headings (day by day), and along 11901's face line each day of its advance — with 5 cm
    survey error, from a generator of their own so the rest of the demo stays as it was."""
    rng = np.random.default_rng(seed + 2002)
    rows = []

    def add(xy, source, when):
        floor, thick = geo.mapped(MAIN_SEAM, xy, rng)
        stamp = when.isoformat(timespec="seconds")
        for (x, y), z, t in zip(xy, floor, thick):
            rows.append([MAIN_SEAM, f"{x + ORIGIN[0]:.2f}", f"{y + ORIGIN[1]:.2f}",
                         f"{z + ORIGIN[2]:.3f}", f"{t:.3f}", source, stamp])
    f1, f2 = faces["11901"], faces["11902"]
    start = DEMO_TIME - timedelta(days=240)
    for rid in ("11901-intake", "11901-return", "11901-cut", "11902-return", "11902-intake"):
        pts = np.asarray(m.roads[rid].points)
        if rid != "11901-cut":
            pts = pts[1:]                              # the ramp from the district roadway
        ch = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1))]
        s = np.arange(0.0, ch[-1], 10.0)
        limit = {"11902-return": f2["heading_return_m"],
                 "11902-intake": f2["heading_intake_m"]}.get(rid)
        if limit is not None:                          # a heading: driven so far, 8 m a day
            s = s[s < limit - 40.0]
        xy = np.c_[np.interp(s, ch, pts[:, 0]), np.interp(s, ch, pts[:, 1])]
        for day in np.unique(s // 8.0):
            sel = s // 8.0 == day
            when = (DEMO_TIME - timedelta(days=float((limit - 40.0 - s[sel].max()) / 8.0))
                    if limit is not None else start + timedelta(days=float(day)))
            add(xy[sel], f"roadway:{rid}", when.replace(microsecond=0))
    adv_now, plan = f1["advanced_m"], 4.8
    for k in range(1, int(adv_now // plan) + 1):
        x = f1["xe"] - k * plan
        when = DEMO_TIME - timedelta(days=(adv_now - k * plan) / plan)
        add(face_points((x, f1["yl"]), (x, f1["yu"])), "face:11901", when.replace(microsecond=0))
    return _csv(rows, ["seam", "x", "y", "floor_z", "thickness_m", "source", "time"])


# ---------------------------------------------------------------------- writing

def _csv(rows: list[list], header: list[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _fmt(v: float) -> str:
    return f"{v:.3f}"


SIZES = ("standard", "large")


def generate_demo(out: str | Path, seed: int = 7, size: str = "standard") -> Path:
    """Write the demo mine folder to ``out`` (created; existing files are overwritten).
    ``size``: "standard" (a real district's size, #20.7) or "large" (19 more districts east
    along the main level, for the benchmarks: ≥ 1500 points, ≥ 1000 people, ≥ 80 km)."""
    if size not in SIZES:
        raise ValueError(f"size {size!r} is not one of {', '.join(SIZES)}")
    out = Path(out)
    rng = np.random.default_rng(seed)
    geo = _truth(rng)
    large = LARGE_DISTRICTS if size == "large" else 0
    m, faces = _layout(geo, rng, large)
    _sensors(m, faces)
    _equipment(m, faces)
    people = _people(rng, np.random.default_rng(seed + 7007),
                     (np.random.default_rng(seed + 9009), 8 * large) if large else None)
    area_rows, area_links, (readers, reader_rows) = _areas_readers(m, faces)
    # gas samples from a generator of their own (the rest of the demo stays as it was)
    collars, surveys, intervals = _boreholes(geo, np.random.default_rng(seed + 4004), rng)
    ox, oy, oz = ORIGIN

    files: dict[str, str | bytes] = {}
    files["mine.toml"] = (
        "# The demo mine (generated: minetwin demo generate). Format: docs/mine-data.md\n"
        "[mine]\n"
        f'name = "{DEMO_MINE_NAME}"\ncode = "{DEMO_MINE_CODE}"\ngas_class = "high"\n'
        'time_zone = "Asia/Shanghai"\n\n[crs]\n'
        'name = "CGCS2000 / 3-degree Gauss-Kruger zone 35 (easting with zone prefix)"\n'
        f"origin = [{ox:.1f}, {oy:.1f}, {oz:.1f}]\n\n[demo]\nseed = {seed}\n"
        + (f'size = "{size}"\n' if size != "standard" else ""))
    files["roadways.csv"] = _csv(
        [[r.id, r.name, r.type, r.profile[0], f"{r.profile[1]:.2f}", f"{r.profile[2]:.2f}",
          f"{r.profile[3]:.2f}" if len(r.profile) > 3 else "", r.air] for r in m.roads.values()],
        ["id", "name", "type", "profile", "width_m", "height_m", "top_width_m", "air"])
    files["centerlines.csv"] = _csv(
        [[r.id, str(i), _fmt(p[0] + ox), _fmt(p[1] + oy), _fmt(p[2] + oz)]
         for r in m.roads.values() for i, p in enumerate(r.points)],
        ["roadway", "seq", "x", "y", "z"])

    # Definition upload files.
    f0 = m.roads
    fz = []
    outstations = dict(_OUTSTATIONS)
    for k, (d, panels) in enumerate(_large_of(faces)):
        own, west, east = large_outstations(k)
        outstations[own] = (f"{d}盘区分站", f"{d}-track", 40.0)
        outstations[west] = (f"{d}盘区西翼掘进分站", f"{panels[0]}-return", 40.0)
        outstations[east] = (f"{d}盘区东翼掘进分站", f"{panels[1]}-return", 40.0)
    for code, (name, rid, ch) in outstations.items():
        p = _point(f0[rid], ch)
        fz.append([code, name, _fmt(p[0] + ox), _fmt(p[1] + oy), _fmt(p[2] + oz),
                   format_time(DEMO_TIME)])
    cd, links = [], []
    counters: dict[str, int] = {}
    codes: list[str] = []
    for s in m.sensors:
        vtype = _TYPES[s["kind"]][2]
        counters[s["outstation"]] = counters.get(s["outstation"], 0) + 1
        codes.append(f"{s['outstation']}{'A' if vtype == 'MN' else 'D'}{counters[s['outstation']]:02d}")
    by_key = {s["key"]: (code, s["location"]) for s, code in zip(m.sensors, codes) if s["key"]}
    for s, point in zip(m.sensors, codes):
        tcode, unit, vtype, lo, hi = _TYPES[s["kind"]]
        relations = format_relations(tuple(Relation(kind, *by_key[k]) for kind, k in s["links"]))
        if s["road"] is not None:
            p = _point(f0[s["road"]], s["ch"])
        else:
            x, y, _ = s["pos"]
            p = np.array([x, y, geo.floor(MAIN_SEAM, x, y) + 1.5])
        th = [""] * 8
        if (s["key"] or "").startswith("tube-"):
            pass             # a goaf's air: no working-place limits (the tube-bundle rules)
        elif s["kind"] == "CH4":
            alarm, poweroff, repower = _CH4_BY_CATEGORY.get(s["category"], (s["alarm"] or 1.0, None, None))
            th[0], th[1] = f"{alarm:.2f}", f"{alarm:.2f}"
            if poweroff is not None:
                th[4], th[5] = f"{poweroff:.2f}", f"{repower:.2f}"
        elif s["kind"] == "CO":
            th[0], th[1] = "24.00", "24.00"
        elif s["kind"] == "O2":
            th[2], th[3] = "20.00", "20.00"
        elif s["kind"] == "T":
            th[0], th[1] = "30.00", "30.00"
        elif s["kind"] == "CO2":
            th[0], th[1] = "0.50", "0.50"
        on, off = _SWITCH_TEXTS.get(s["kind"], ("", ""))
        cd.append([point, "01", s["outstation"], tcode, vtype, unit,
                   "" if hi is None else f"{hi:.2f}", "" if lo is None else f"{lo:.2f}",
                   *th, on, off, s["location"], _fmt(p[0] + ox), _fmt(p[1] + oy),
                   _fmt(p[2] + oz), relations, format_time(DEMO_TIME)])
        if s["road"] is not None:
            links.append([point, s["road"], f"{s['ch']:.1f}", s["category"] or ""])
        elif s["category"]:
            links.append([point, "", "", s["category"]])
    extra = ["KJ90X", "安全监控系统", "重庆煤科院", "2027-12-31"]
    for ftype, rows, hdr in (("CDDY", cd, extra), ("FZDY", fz, extra), ("RYQY", area_rows, None),
                             ("RYJZ", readers, None), ("RYXX", people, None)):
        name, data = write_upload(ftype, DEMO_MINE_CODE, DEMO_MINE_NAME, DEMO_TIME, rows, hdr)
        files[f"upload/{name}"] = data
    files["sensors.csv"] = _csv(links, ["point_code", "roadway", "chainage_m", "category"])
    tube_cols = [g.lower() for g in TUBE_GASES]
    files["tube_bundle.csv"] = _csv(
        [[tid, name, rid, f"{ch:.1f}", "1" if sealed else "0",
          *(by_key[f"tube-{tid}-{g}"][0] for g in TUBE_GASES),
          by_key[f"tube-{tid}-T"][0] if sealed else ""]
         for tid, name, rid, ch, sealed in tube_points(faces)],
        ["id", "name", "roadway", "chainage_m", "sealed", *tube_cols, "temperature"])
    files["readers.csv"] = _csv(reader_rows, ["reader_code", "roadway", "chainage_m"])
    files["areas.csv"] = _csv(area_links, ["area_code", "roadways"])

    # Faces.
    f1, f2 = faces["11901"], faces["11902"]
    yu, yl, xe = f1["yu"], f1["yl"], f1["xe"]
    z = lambda x, y: float(geo.floor(MAIN_SEAM, x, y))  # noqa: E731
    faces_toml = [
        "# Working faces. Coordinates in the mine CRS (see mine.toml).", "",
        "[[longwall]]", 'id = "11901"', 'name = "11901综采工作面"', f'seam = "{MAIN_SEAM}"',
        "outline = [" + ", ".join(f"[{x + ox:.1f}, {y + oy:.1f}]" for x, y in
                                  ((180.0, yl), (xe, yl), (xe, yu), (180.0, yu))) + "]",
        f"face_length_m = {yu - yl:.1f}",
        f"start_line = [[{xe + ox:.1f}, {yl + oy:.1f}, {z(xe, yl) + oz:.3f}], "
        f"[{xe + ox:.1f}, {yu + oy:.1f}, {z(xe, yu) + oz:.3f}]]",
        "advance_direction = [-1.0, 0.0]", "mining_height_m = 1.8", "plan_m_per_day = 4.8",
        f"advanced_m = {f1['advanced_m']}", 'intake_roadway = "11901-intake"',
        'return_roadway = "11901-return"', "",
        "[[heading]]", 'id = "11902-return-heading"', 'name = "11902回风巷掘进工作面"',
        'roadway = "11902-return"', f"advanced_m = {f2['heading_return_m']}",
        "plan_m_per_day = 8.0", "",
        "[[heading]]", 'id = "11902-intake-heading"', 'name = "11902运输巷掘进工作面"',
        'roadway = "11902-intake"', f"advanced_m = {f2['heading_intake_m']}",
        "plan_m_per_day = 8.0", "",
        "[[heading]]", 'id = "11702-return-heading"', 'name = "11702回风巷掘进工作面"',
        'roadway = "11702-return"', f"advanced_m = {faces['11702']['heading_return_m']}",
        "plan_m_per_day = 6.0", "",
        "[[heading]]", 'id = "11702-intake-heading"', 'name = "11702运输巷掘进工作面"',
        'roadway = "11702-intake"', f"advanced_m = {faces['11702']['heading_intake_m']}",
        "plan_m_per_day = 6.0", ""]
    for d, panels in _large_of(faces):
        for pid in panels:
            for key, end, zh in (("heading_return_m", "return", "回风巷"),
                                 ("heading_intake_m", "intake", "运输巷")):
                faces_toml += ["[[heading]]", f'id = "{pid}-{end}-heading"',
                               f'name = "{pid}{zh}掘进工作面"', f'roadway = "{pid}-{end}"',
                               f"advanced_m = {faces[pid][key]}", "plan_m_per_day = 6.0", ""]
    files["faces.toml"] = "\n".join(faces_toml)

    eq = ["# Equipment. Parameters are [value, unit]. Format: docs/mine-data.md", ""]
    for e in m.equipment:
        eq += ["[[equipment]]", f'id = "{e["id"]}"', f'kind = "{e["kind"]}"',
               f'name = "{e["name"]}"']
        if e["road"] is not None:
            eq += [f'roadway = "{e["road"]}"', f"chainage_m = {e['ch']:.1f}"]
        else:
            x, y, _ = e["pos"]
            eq.append(f"position = [{x + ox:.2f}, {y + oy:.2f}, {z(x, y) + 0.1 + oz:.3f}]")
        if e["params"]:
            eq.append("[equipment.parameters]")
            for k, (v, unit) in e["params"].items():
                vv = f'"{v}"' if isinstance(v, str) else repr(v)
                eq.append(f'{k} = [{vv}, "{unit or ""}"]')
        eq.append("")
    files["equipment.toml"] = "\n".join(eq)

    files["geology/collars.csv"] = _csv(collars, ["hole_id", "x", "y", "z", "max_depth"])
    files["geology/surveys.csv"] = _csv(surveys, ["hole_id", "depth", "azimuth", "dip"])
    files["geology/intervals.csv"] = _csv(intervals, ["hole_id", "from", "to", "lithology",
                                                      "seam", "gas_content_m3_t",
                                                      "gas_pressure_MPa", "firmness_f",
                                                      "desorption_dP_mmHg",
                                                      "permeability_m2_MPa2d"])
    sites = [(float(c[1]) - ox, float(c[2]) - oy) for c in collars]
    files["geology/water.csv"] = _csv(_water_rows(geo, sites, seed),
                                      ["aquifer", "x", "y", "top_z", "head_z"])
    files["geology/hazards.toml"] = _hazards_toml(faces)
    files["geology/geophysics.csv"] = _csv(_seismic_rows(geo, faces, seed), [
        "seam", "x", "y", "floor_z", "thickness_m", "source", "time", "sigma_m"])
    # Faults as the mine has mapped them (exploration, roadways that crossed them): the true
    # planes with survey error, from a generator of their own so the rest stays as it was.
    frng = np.random.default_rng(seed + 1001)
    files["geology/faults.csv"] = _csv([[
        f.name, round(f.point[0] + ox + float(frng.normal(0, 3.0)), 2),
        round(f.point[1] + oy + float(frng.normal(0, 3.0)), 2), round(f.point[2] + oz, 2),
        round(f.strike_deg + float(frng.normal(0, 1.0)), 1),
        round(f.dip_deg + float(frng.normal(0, 1.0)), 1),
        round(f.throw_m * (1 + float(frng.normal(0, 0.05))), 2)] for f in geo.faults],
        ["name", "x", "y", "z", "strike_deg", "dip_deg", "throw_m"])
    files["geology/exposures.csv"] = _exposures(geo, m, faces, seed)
    files["truth/geology.toml"] = geo.to_toml() + \
        f"\n# origin subtracted: local = CRS - [{ox}, {oy}, {oz}]\n"

    for rel, content in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return out
