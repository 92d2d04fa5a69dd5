"""The demo mine's hidden "true" geology: seam floors and thicknesses as smooth functions
with dip, undulation and normal faults. The demo generator samples it with boreholes and
writes its parameters to ``truth/geology.toml`` as ground truth for accuracy tests; the
geology model must never read that file.

Frame: local mine grid, x east (strike), y north (up dip), z up (elevation, metres).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin.tomlfile import read_toml

__all__ = ["Fault", "Seam", "TrueGeology"]


@dataclass(frozen=True, slots=True)
class Fault:
    """A normal fault: a plane through ``point`` (x, y, z) whose strike is ``strike_deg``
    (clockwise from north) dipping ``dip_deg`` to the right of the strike; the hanging wall
    (the side it dips towards) is dropped by ``throw_m``. A mapped fault may say how sure
    its map is: ``throw_sigma_m`` (one sigma of the throw) and ``position_sigma_m`` (of the
    plane's position); None: the geology model's defaults."""

    name: str
    point: tuple[float, float, float]
    strike_deg: float
    dip_deg: float
    throw_m: float
    throw_sigma_m: float | None = None
    position_sigma_m: float | None = None

    def hanging_wall(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        s = np.radians(self.strike_deg)
        strike = np.array([np.sin(s), np.cos(s)])
        right = np.array([strike[1], -strike[0]])         # dip direction in plan
        d = np.radians(self.dip_deg)
        normal = np.array([right[0] * np.sin(d), right[1] * np.sin(d), np.cos(d)])
        p = np.asarray(self.point)
        return ((x - p[0]) * normal[0] + (y - p[1]) * normal[1] + (z - p[2]) * normal[2]) > 0

    def plan_distance(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Horizontal distance (m) from (x, y) to the plane's trace at elevation z, positive
        on the hanging-wall side."""
        s, d = np.radians(self.strike_deg), np.radians(self.dip_deg)
        right = np.array([np.cos(s), -np.sin(s)])
        p = np.asarray(self.point)
        return ((x - p[0]) * right[0] + (y - p[1]) * right[1]
                + (z - p[2]) / np.tan(d))


@dataclass(frozen=True, slots=True)
class Seam:
    name: str
    offset_m: float                  # floor height above the reference seam's floor
    thickness_m: float               # mean thickness
    thickness_var_m: float           # amplitude of its smooth variation


@dataclass(frozen=True, slots=True)
class TrueGeology:
    reference_floor_m: float         # reference seam floor elevation at (0, 0)
    dip_deg: float                   # dip towards -y (south)
    undulations: tuple[tuple[float, float, float, float], ...]   # (amp m, λx m, λy m, phase)
    seams: tuple[Seam, ...]
    faults: tuple[Fault, ...]
    surface_m: float                 # mean surface elevation
    surface_relief_m: float

    def _base(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        z = self.reference_floor_m + np.tan(np.radians(self.dip_deg)) * y
        for amp, lx, ly, ph in self.undulations:
            z = z + amp * np.sin(2 * np.pi * x / lx + ph) * np.cos(2 * np.pi * y / ly + ph / 2)
        return z

    def floor(self, seam: str, x, y) -> np.ndarray:
        """True floor elevation of ``seam`` at (x, y), faults applied."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        s = self._seam(seam)
        z = self._base(x, y) + s.offset_m
        for f in self.faults:
            # Which block a point of the unfaulted surface is in decides its drop.
            z = np.where(f.hanging_wall(x, y, z), z - f.throw_m, z)
        return z

    def thickness(self, seam: str, x, y) -> np.ndarray:
        x, y = np.asarray(x, float), np.asarray(y, float)
        s = self._seam(seam)
        var = s.thickness_var_m * np.sin(x / 430.0 + s.offset_m) * np.cos(y / 310.0 - s.offset_m)
        return np.maximum(s.thickness_m + var, 0.3)

    def roof(self, seam: str, x, y) -> np.ndarray:
        return self.floor(seam, x, y) + self.thickness(seam, x, y)

    def surface(self, x, y) -> np.ndarray:
        x, y = np.asarray(x, float), np.asarray(y, float)
        return self.surface_m + self.surface_relief_m * np.sin(x / 370.0) * np.cos(y / 290.0)

    def mapped(self, seam: str, xy: np.ndarray, rng: np.random.Generator,
               sigma_m: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """What a geologist maps where the seam is exposed at ``xy`` (n, 2): floor elevation
        and thickness, each with a survey error of ``sigma_m`` (one sigma)."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        floor = self.floor(seam, xy[:, 0], xy[:, 1]) + rng.normal(0, sigma_m, len(xy))
        thick = self.thickness(seam, xy[:, 0], xy[:, 1]) + rng.normal(0, sigma_m, len(xy))
        return floor, np.maximum(thick, 0.0)

    def _seam(self, name: str) -> Seam:
        for s in self.seams:
            if s.name == name:
                return s
        raise KeyError(f"no seam {name!r}")

    # ------------------------------------------------------------------ grading

    def grade(self, model, hole_xy: np.ndarray, spacing_m: float = 10.0) -> dict:
        """A seam model's floor against this truth on a ``spacing_m`` grid inside the convex
        hull of the boreholes (``hole_xy``): per seam and pooled, the RMSE
        (``truth_floor_rmse_m``) and the share of the grid inside the model's 95 % band
        (±1.96 σ: ``truth_band_coverage``). ``model``: anything with ``seams``,
        ``floor(seam, x, y)`` and ``floor_sigma(seam, x, y)``."""
        from scipy.spatial import Delaunay
        hull = Delaunay(np.asarray(hole_xy, float)[:, :2])
        lo, hi = hull.points.min(axis=0), hull.points.max(axis=0)
        gx, gy = np.meshgrid(np.arange(lo[0], hi[0] + 1e-9, spacing_m),
                             np.arange(lo[1], hi[1] + 1e-9, spacing_m))
        inside = hull.find_simplex(np.c_[gx.ravel(), gy.ravel()]) >= 0
        x, y = gx.ravel()[inside], gy.ravel()[inside]
        seams, errs, covered = {}, [], []
        for seam in model.seams:
            e = np.asarray(model.floor(seam, x, y)) - self.floor(seam, x, y)
            band = 1.96 * np.asarray(model.floor_sigma(seam, x, y))
            seams[seam] = {"truth_floor_rmse_m": round(float(np.sqrt(np.mean(e ** 2))), 3),
                           "truth_band_coverage": round(float(np.mean(np.abs(e) <= band)), 3)}
            errs.append(e)
            covered.append(np.abs(e) <= band)
        e, c = np.concatenate(errs), np.concatenate(covered)
        return {"truth_floor_rmse_m": round(float(np.sqrt(np.mean(e ** 2))), 3),
                "truth_band_coverage": round(float(np.mean(c)), 3),
                "truth_grid_points": int(inside.sum()), "truth_seams": seams}

    # ------------------------------------------------------------------ files

    def to_toml(self) -> str:
        out = ["# Hidden true geology of the demo mine: ground truth for accuracy tests only.",
               "# The geology model must never read this file.", "",
               f"reference_floor_m = {self.reference_floor_m!r}", f"dip_deg = {self.dip_deg!r}",
               f"surface_m = {self.surface_m!r}", f"surface_relief_m = {self.surface_relief_m!r}",
               "undulations = [" + ", ".join(f"[{a!r}, {b!r}, {c!r}, {d!r}]"
                                            for a, b, c, d in self.undulations) + "]", ""]
        for s in self.seams:
            out += ["[[seam]]", f'name = "{s.name}"', f"offset_m = {s.offset_m!r}",
                    f"thickness_m = {s.thickness_m!r}", f"thickness_var_m = {s.thickness_var_m!r}",
                    ""]
        for f in self.faults:
            out += ["[[fault]]", f'name = "{f.name}"', f"point = {list(f.point)!r}",
                    f"strike_deg = {f.strike_deg!r}", f"dip_deg = {f.dip_deg!r}",
                    f"throw_m = {f.throw_m!r}", ""]
        return "\n".join(out)

    @classmethod
    def load(cls, path: str | Path) -> "TrueGeology":
        d = read_toml(path, ValueError)
        return cls(reference_floor_m=d["reference_floor_m"], dip_deg=d["dip_deg"],
                   undulations=tuple(tuple(u) for u in d["undulations"]),
                   seams=tuple(Seam(**s) for s in d["seam"]),
                   faults=tuple(Fault(f["name"], tuple(f["point"]), f["strike_deg"],
                                      f["dip_deg"], f["throw_m"]) for f in d.get("fault", [])),
                   surface_m=d["surface_m"], surface_relief_m=d["surface_relief_m"])
