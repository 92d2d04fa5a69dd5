"""Boreholes as the collar / survey / interval tables geological modelling tools share
(CSV, docs/mine-data.md), desurveyed by the minimum-curvature method, and the seam picks
(roof and floor points) they give.

Coordinates: collars are in the mine's projected CRS (e.g. Gauss–Krüger with the zone
prefix); everything returned here is in the mine's local grid (minus ``mine.toml``'s origin).
Surveys: depth along the hole, azimuth (degrees clockwise from north), dip (degrees, −90 =
straight down).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Borehole", "Boreholes", "BoreholeError", "load_boreholes", "load_faults",
           "min_curvature"]


class BoreholeError(ValueError):
    pass


def _direction(azimuth_deg, dip_deg) -> np.ndarray:
    az, dip = np.radians(azimuth_deg), np.radians(dip_deg)
    return np.c_[np.sin(az) * np.cos(dip), np.cos(az) * np.cos(dip), np.sin(dip)]


def min_curvature(depths: np.ndarray, azimuths: np.ndarray, dips: np.ndarray) -> np.ndarray:
    """Offsets (x, y, z) from the collar at each survey depth (minimum curvature)."""
    d = _direction(azimuths, dips)
    out = np.zeros((len(depths), 3))
    for i in range(1, len(depths)):
        md = depths[i] - depths[i - 1]
        cos = float(np.clip(d[i - 1] @ d[i], -1.0, 1.0))
        dog = np.arccos(cos)
        rf = 1.0 if dog < 1e-9 else 2 / dog * np.tan(dog / 2)
        out[i] = out[i - 1] + md / 2 * (d[i - 1] + d[i]) * rf
    return out


@dataclass
class Borehole:
    id: str
    collar: np.ndarray                    # local grid
    max_depth: float
    survey: np.ndarray                    # (n, 3): depth, azimuth, dip
    intervals: list[dict] = field(default_factory=list)
    _path: np.ndarray | None = None

    def at(self, depth) -> np.ndarray:
        """Local (x, y, z) at depth(s) along the hole (linear between desurveyed stations,
        which the minimum-curvature stations make exact for straight holes)."""
        if self._path is None:
            s = self.survey
            if s[0, 0] > 0:                     # extend the first station to the collar
                s = np.vstack([[0.0, s[0, 1], s[0, 2]], s])
            if s[-1, 0] < self.max_depth:
                s = np.vstack([s, [self.max_depth, s[-1, 1], s[-1, 2]]])
            self.survey = s
            self._path = self.collar + min_curvature(s[:, 0], s[:, 1], s[:, 2])
        depth = np.atleast_1d(np.asarray(depth, float))
        if (depth < 0).any() or (depth > self.max_depth + 1e-6).any():
            raise BoreholeError(f"{self.id}: depth outside 0 … {self.max_depth} m")
        xyz = np.stack([np.interp(depth, self.survey[:, 0], self._path[:, k]) for k in range(3)],
                       axis=-1)
        return xyz[0] if np.ndim(xyz) == 2 and xyz.shape[0] == 1 else xyz


@dataclass
class Boreholes:
    holes: dict[str, Borehole]
    faults: tuple = ()                    # mapped faults (twin.demo.truth.Fault geometry)

    def seams(self) -> list[str]:
        return sorted({iv["seam"] for h in self.holes.values() for iv in h.intervals if iv["seam"]})

    def picks(self, seam: str, exclude: set[str] = frozenset()) -> dict[str, np.ndarray]:
        """Roof and floor points of ``seam`` from every hole that cut it: ``holes`` (ids),
        ``floor`` (n, 3) and ``roof`` (n, 3), local grid; thickness = roof z − floor z."""
        ids, floor, roof = [], [], []
        for h in self.holes.values():
            if h.id in exclude:
                continue
            for iv in h.intervals:
                if iv["seam"] == seam:
                    ids.append(h.id)
                    roof.append(h.at(iv["from"]))      # shallower along the hole: the roof
                    floor.append(h.at(iv["to"]))
        return {"holes": np.array(ids), "floor": np.array(floor).reshape(-1, 3),
                "roof": np.array(roof).reshape(-1, 3)}


def _rows(path: Path, need: list[str]) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = [c for c in need if c not in (reader.fieldnames or [])]
            if missing:
                raise BoreholeError(f"{path}: missing columns {missing}")
            return list(reader)
    except FileNotFoundError:
        raise BoreholeError(f"{path}: no such file") from None


def _num(row: dict, key: str, path: Path, n: int) -> float:
    try:
        v = float(row[key])
    except (TypeError, ValueError):
        raise BoreholeError(f"{path}:{n}: {key} is not a number: {row[key]!r}") from None
    if not np.isfinite(v):
        raise BoreholeError(f"{path}:{n}: {key} is not finite")
    return v


def load_boreholes(folder: str | Path, origin=(0.0, 0.0, 0.0)) -> Boreholes:
    """The ``collars.csv``, ``surveys.csv`` and ``intervals.csv`` of a mine's geology folder;
    every problem raises BoreholeError naming the file and line."""
    folder = Path(folder)
    o = np.asarray(origin, float)
    holes: dict[str, Borehole] = {}
    p = folder / "collars.csv"
    for n, r in enumerate(_rows(p, ["hole_id", "x", "y", "z", "max_depth"]), 2):
        holes[r["hole_id"]] = Borehole(r["hole_id"], np.array(
            [_num(r, k, p, n) for k in ("x", "y", "z")]) - o, _num(r, "max_depth", p, n),
            np.zeros((0, 3)))
    p = folder / "surveys.csv"
    surveys: dict[str, list] = {}
    for n, r in enumerate(_rows(p, ["hole_id", "depth", "azimuth", "dip"]), 2):
        if r["hole_id"] not in holes:
            raise BoreholeError(f"{p}:{n}: unknown hole {r['hole_id']!r}")
        surveys.setdefault(r["hole_id"], []).append(
            [_num(r, k, p, n) for k in ("depth", "azimuth", "dip")])
    for hid, h in holes.items():
        s = np.array(sorted(surveys.get(hid, [[0.0, 0.0, -90.0]])))
        h.survey = s
    p = folder / "intervals.csv"
    for n, r in enumerate(_rows(p, ["hole_id", "from", "to", "lithology", "seam"]), 2):
        h = holes.get(r["hole_id"])
        if h is None:
            raise BoreholeError(f"{p}:{n}: unknown hole {r['hole_id']!r}")
        a, b = _num(r, "from", p, n), _num(r, "to", p, n)
        if not 0 <= a < b <= h.max_depth + 1e-6:
            raise BoreholeError(f"{p}:{n}: interval {a}–{b} m outside the hole (0–{h.max_depth} m) "
                                "or empty")
        h.intervals.append({"from": a, "to": b, "lithology": r["lithology"],
                            "seam": r["seam"].strip(), **{k: v for k, v in r.items()
                                                          if k not in ("hole_id", "from", "to",
                                                                       "lithology", "seam")}})
    return Boreholes(holes, load_faults(folder / "faults.csv", origin))


def load_faults(path: Path, origin=(0.0, 0.0, 0.0)) -> tuple:
    """Mapped faults (``faults.csv``: name, x, y, z of a point on the plane, strike_deg,
    dip_deg, throw_m — a normal fault's hanging wall dropped by the throw; optional
    throw_sigma_m and position_sigma_m, how sure the map is, blank for the defaults); none
    when the file is absent."""
    from twin.demo.truth import Fault
    if not path.exists():
        return ()
    o = np.asarray(origin, float)
    out = []
    for n, r in enumerate(_rows(path, ["name", "x", "y", "z", "strike_deg", "dip_deg",
                                        "throw_m"]), 2):
        pt = np.array([_num(r, k, path, n) for k in ("x", "y", "z")]) - o
        sure = {}
        for k in ("throw_sigma_m", "position_sigma_m"):
            if (r.get(k) or "").strip():
                sure[k] = _num(r, k, path, n)
                if sure[k] < 0:
                    raise BoreholeError(f"{path}:{n}: {k} is negative")
        out.append(Fault(r["name"], tuple(float(v) for v in pt), _num(r, "strike_deg", path, n),
                         _num(r, "dip_deg", path, n), _num(r, "throw_m", path, n), **sure))
    return tuple(out)
