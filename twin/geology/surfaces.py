"""Seam surfaces from borehole picks: a thin-plate RBF with a linear trend (scipy), its
smoothing chosen by leave-one-out cross-validation, with an uncertainty beside
every prediction; the roof is the floor plus a thickness surface clipped at zero, and seams
never cross (a seam's floor is never below the roof of the seam beneath it).

Faults: each pick is *restored* to where it was before the mapped normal faults dropped it
(the throws added back, block by block, the way the faults act: in their order, each on the
surface the earlier ones left), one continuous surface is fitted to the restored points, and
predictions are faulted again — so every fault block honours its throw while all the
boreholes inform every block.

Not yet here: kriging, exposure updates, meshes — the rest of the geology issue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import RBFInterpolator
from scipy.spatial import cKDTree

from .boreholes import Boreholes

__all__ = ["Surface", "SeamModel", "build_seam_model"]

SMOOTHING = (0.0, 1e-3, 1e-2, 1e-1, 1.0, 10.0)


@dataclass
class Surface:
    """A thin-plate RBF with a linear trend; ``cv_rmse`` from leave-one-out; ``spacing`` the
    median distance between data points (for the uncertainty's growth away from them)."""
    xy: np.ndarray
    z: np.ndarray
    coef: np.ndarray
    rbf: RBFInterpolator | None
    smoothing: float
    cv_rmse: float
    spacing: float
    cv_errors: np.ndarray                 # leave-one-out error at each data point

    def __call__(self, x, y) -> np.ndarray:
        x, y = np.asarray(x, float), np.asarray(y, float)
        return _predict(self.coef, self.rbf, np.c_[x.ravel(), y.ravel()]).reshape(x.shape)

    def sigma(self, x, y) -> np.ndarray:
        """One standard error: the cross-validated error at the data spacing, growing with
        the distance to the nearest data point."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        d, _ = cKDTree(self.xy).query(np.c_[x.ravel(), y.ravel()])
        return (self.cv_rmse * np.sqrt(0.25 + (d / self.spacing) ** 2)).reshape(x.shape)


def _fit(xy: np.ndarray, z: np.ndarray, smoothing: float):
    """The trend plane (least squares, for extrapolation far from data) and a thin-plate
    RBF with its own linear term fitted jointly to the points."""
    a = np.c_[np.ones(len(xy)), xy]
    coef = np.linalg.lstsq(a, z, rcond=None)[0]
    # The kernel works on distances in units of the data's extent, so one set of smoothing
    # candidates fits a 100 m panel and a 10 km field alike.
    scale = 1.0 / max(float(np.ptp(xy, axis=0).max()), 1e-9)
    rbf = RBFInterpolator(xy, z, kernel="thin_plate_spline", smoothing=smoothing, degree=1,
                          epsilon=scale) if len(xy) >= 4 else None
    return coef, rbf


def _predict(coef, rbf, xy):
    return rbf(xy) if rbf is not None else coef[0] + xy @ coef[1:]


def fit_surface(xy: np.ndarray, z: np.ndarray) -> Surface:
    xy, z = np.asarray(xy, float), np.asarray(z, float)
    if len(xy) < 3:
        raise ValueError(f"a surface needs at least 3 points, got {len(xy)}")
    best = None
    for s in SMOOTHING:
        err = []
        for i in range(len(xy)):
            keep = np.arange(len(xy)) != i
            coef, rbf = _fit(xy[keep], z[keep], s)
            err.append(_predict(coef, rbf, xy[i:i + 1])[0] - z[i])
        rmse = float(np.sqrt(np.mean(np.square(err))))
        if best is None or rmse < best[1]:
            best = (s, rmse, np.array(err))
    coef, rbf = _fit(xy, z, best[0])
    d, _ = cKDTree(xy).query(xy, k=2)
    return Surface(xy, z, coef, rbf, best[0], best[1], float(np.median(d[:, 1])), best[2])


def fault(z_restored: np.ndarray, x, y, faults) -> np.ndarray:
    """Drops a restored (unfaulted) surface by the faults, in order (as the truth does)."""
    z = np.asarray(z_restored, float)
    for f in faults:
        z = np.where(f.hanging_wall(x, y, z), z - f.throw_m, z)
    return z


def restore(z_observed: np.ndarray, x, y, faults, iterations: int = 6) -> np.ndarray:
    """The unfaulted elevation whose faulting gives the observed one."""
    z = np.asarray(z_observed, float).copy()
    for _ in range(iterations):
        miss = z_observed - fault(z, x, y, faults)
        if np.all(np.abs(miss) < 1e-9):
            break
        z = z + miss
    return z


@dataclass
class SeamModel:
    seams: list[str]                      # bottom to top
    floors: dict[str, Surface]            # restored (unfaulted) floors
    thicknesses: dict[str, Surface]
    faults: tuple = ()

    def floor(self, seam: str, x, y) -> np.ndarray:
        x, y = np.asarray(x, float), np.asarray(y, float)
        z = fault(self.floors[seam](x, y), x, y, self.faults)
        i = self.seams.index(seam)
        if i > 0:                             # never below the roof of the seam beneath
            z = np.maximum(z, self.roof(self.seams[i - 1], x, y))
        return z

    def thickness(self, seam: str, x, y) -> np.ndarray:
        return np.maximum(self.thicknesses[seam](x, y), 0.0)

    def roof(self, seam: str, x, y) -> np.ndarray:
        return self.floor(seam, x, y) + self.thickness(seam, x, y)

    def report(self) -> dict:
        """Errors at held-out boreholes (leave-one-hole-out: each hole's picks predicted by
        surfaces fitted without it), pooled over seams and per seam (docs/geology.md)."""
        def rmse(e):
            return round(float(np.sqrt(np.mean(np.square(e)))), 3)
        floor = [self.floors[s].cv_errors for s in self.seams]
        thick = [self.thicknesses[s].cv_errors for s in self.seams]
        roof = [f + t for f, t in zip(floor, thick)]
        return {
            "floor_rmse_m": rmse(np.concatenate(floor)), "roof_rmse_m": rmse(np.concatenate(roof)),
            "thickness_rmse_m": rmse(np.concatenate(thick)),
            "seams": {s: {"floor_rmse_m": rmse(f), "roof_rmse_m": rmse(r),
                          "thickness_rmse_m": rmse(t), "boreholes": int(len(f)),
                          "floor_smoothing": self.floors[s].smoothing}
                      for s, f, t, r in zip(self.seams, floor, thick, roof)}}


def build_seam_model(boreholes: Boreholes, exclude: set[str] = frozenset()) -> SeamModel:
    floors, thick, mean_z = {}, {}, {}
    for seam in boreholes.seams():
        p = boreholes.picks(seam, exclude)
        if len(p["floor"]) < 3:
            continue
        fx, fy = p["floor"][:, 0], p["floor"][:, 1]
        floors[seam] = fit_surface(p["floor"][:, :2],
                                   restore(p["floor"][:, 2], fx, fy, boreholes.faults))
        thick[seam] = fit_surface(p["floor"][:, :2], p["roof"][:, 2] - p["floor"][:, 2])
        mean_z[seam] = float(p["floor"][:, 2].mean())
    order = sorted(floors, key=lambda s: mean_z[s])
    return SeamModel(order, floors, thick, tuple(boreholes.faults))
