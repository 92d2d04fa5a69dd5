"""Seam surfaces from borehole picks: a thin-plate RBF with a linear trend (scipy), its
smoothing chosen by leave-one-out cross-validation (in closed form: Rippa's formula, one
factorisation per candidate instead of a refit per point), with an uncertainty beside
every prediction; the roof is the floor plus a thickness surface clipped at zero, and seams
never cross (a seam's floor is never below the roof of the seam beneath it).

Faults: each pick is *restored* to where it was before the mapped normal faults dropped it
(the throws added back, block by block, the way the faults act: in their order, each on the
surface the earlier ones left), one continuous surface is fitted to the restored points, and
predictions are faulted again — so every fault block honours its throw while all the
boreholes inform every block.

Exposure (roadways driven in the seam, the face as it advances, docs/geology.md) corrects
the borehole surfaces: the residuals of the exposed points against them (restored across the
faults like the picks) are interpolated by a Gaussian kernel (simple kriging with a Gaussian
covariance; scipy's RBFInterpolator over the nearest points), which fades back to the
borehole surface away from the exposure, and the uncertainty falls to the mapping error near
it. Adding points refits only that correction — milliseconds to a second for thousands of
points — so the model keeps up with the faces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import RBFInterpolator
from scipy.spatial import cKDTree

from .boreholes import Boreholes
from .kriging import Kriged, Spectra, fit_kriging

__all__ = ["Surface", "SeamModel", "Correction", "build_seam_model", "fit_surface", "fit_tps"]

SMOOTHING = (0.0, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
CORRECTION_RANGE_M = 200.0       # the exposure correction's correlation length
CORRECTION_SMOOTHING = 1e-3      # the nugget, relative to the kernel's unit sill
CORRECTION_NEIGHBOURS = 64       # the local neighbourhood the correction solves over
MAPPING_SIGMA_M = 0.05           # default one-sigma error of a mapped exposure point
GLOBAL_SOLVE_MAX = 4000          # exposure points up to which a grid is corrected in one solve
KRIGING_MIN_POINTS = 8           # fewer points: the thin-plate RBF alone (too few for a covariance)
THROW_SIGMA_SHARE = 0.15         # a mapped fault's throw error (one sigma) where faults.csv gives none
POSITION_SIGMA_M = 10.0          # a mapped fault plane's position error where faults.csv gives none


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
    cv_sigma: np.ndarray | None = None    # and its standard error (``sigma`` without it)

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


def _loo_errors(xy: np.ndarray, z: np.ndarray, smoothing: float) -> np.ndarray:
    """Each point's leave-one-out error (prediction from the others − its value) of the
    thin-plate RBF with a linear term, in closed form (Rippa 1999; Dubrule 1983 for kriging):
    with M the system [[K + λI, P], [Pᵀ, 0]] and c = (M⁻¹ [z; 0])[:n], the error at point i
    is −cᵢ / (M⁻¹)ᵢᵢ — one factorisation instead of n refits. The kernel is scaled by the
    whole data's extent (a refit on n − 1 points would rescale it a little each time)."""
    from scipy.spatial.distance import cdist
    n = len(xy)
    scale = 1.0 / max(float(np.ptp(xy, axis=0).max()), 1e-9)
    r = cdist(xy, xy) * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(r > 0, r * r * np.log(r), 0.0)
    k[np.diag_indices(n)] += smoothing
    p = np.c_[np.ones(n), (xy - xy.mean(axis=0)) * scale]
    inv = np.linalg.inv(np.block([[k, p], [p.T, np.zeros((3, 3))]]))
    return -(inv[:n, :n] @ z) / np.diag(inv)[:n]


def fit_tps(xy: np.ndarray, z: np.ndarray) -> Surface:
    """The thin-plate RBF with the smoothing of the lowest leave-one-out error."""
    xy, z = np.asarray(xy, float), np.asarray(z, float)
    if len(xy) < 3:
        raise ValueError(f"a surface needs at least 3 points, got {len(xy)}")
    best = None
    for s in SMOOTHING:
        if len(xy) >= 6:        # (n − 1 points still fit an RBF: the closed form holds)
            err = _loo_errors(xy, z, s)
        else:
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
    spacing = float(np.median(d[:, 1]))
    return Surface(xy, z, coef, rbf, best[0], best[1], spacing, best[2],
                   best[1] * np.sqrt(0.25 + (d[:, 1] / spacing) ** 2))


def fit_surface(xy: np.ndarray, z: np.ndarray, *, tau=(), data_blocks=None,
                block_fn=None, spectra: Spectra | None = None) -> Surface | Kriged:
    """The better of two models by their leave-one-out error (both in closed form): the
    thin-plate RBF (its smoothing chosen by leave-one-out) and kriging with a REML-fitted
    covariance (twin.geology.kriging; from KRIGING_MIN_POINTS points), which also carries
    the faults' throw errors (``tau``, ``data_blocks``, ``block_fn``) when given;
    ``spectra`` shares the covariance's eigendecompositions between surfaces at the same
    points."""
    tps = fit_tps(xy, z)
    if len(tps.z) < KRIGING_MIN_POINTS:
        return tps
    kr = fit_kriging(xy, z, tau=tau, data_blocks=data_blocks, block_fn=block_fn,
                     spectra=spectra)
    return kr if kr.cv_rmse < tps.cv_rmse else tps


@dataclass
class Correction:
    """Residuals of exposed points against a borehole surface, interpolated by a Gaussian
    kernel that fades to zero away from them. ``sill`` is their RMS (how wrong the borehole
    surface was there; given: the surface's cross-validated error), ``noise`` each point's
    error (one value or one per point)."""
    xy: np.ndarray
    r: np.ndarray
    noise: np.ndarray
    length: float = CORRECTION_RANGE_M
    rbf: RBFInterpolator | None = None
    sill: float = 0.0
    nugget: np.ndarray | float = CORRECTION_SMOOTHING
    _global: RBFInterpolator | None = None
    _tree: cKDTree | None = None

    def __post_init__(self) -> None:
        self.noise = np.broadcast_to(np.asarray(self.noise, float), (len(self.r),)).copy()
        # The correction's prior spread: how wrong the borehole surface is where nothing
        # else is known — its cross-validated error (given), else what the residuals vary
        # by beyond their own errors (never below the smallest error).
        if self.sill <= 0 and len(self.r):
            signal = float(np.mean(np.square(self.r)) - np.mean(np.square(self.noise)))
            self.sill = float(np.sqrt(max(signal, float(self.noise.min()) ** 2)))
        # The nugget of each point: its error's share of the residuals' variance (thickness
        # residuals are mostly mapping error; floor residuals mostly the boreholes' miss;
        # soft data such as in-seam seismic weigh less than a mapped face).
        self.nugget = np.maximum(CORRECTION_SMOOTHING,
                                 (self.noise / max(self.sill, 1e-9)) ** 2)
        if len(self.xy):
            self.rbf = RBFInterpolator(self.xy, self.r, kernel="gaussian",
                                       epsilon=1.0 / self.length,
                                       smoothing=self.nugget, degree=-1,
                                       neighbors=min(len(self.xy), CORRECTION_NEIGHBOURS))
            self._tree = cKDTree(self.xy)

    def __call__(self, x, y) -> np.ndarray:
        """The correction; exactly zero beyond 3 correlation lengths of every exposed point
        (where the kernel has faded below 1e-4), which spares evaluating it mine-wide."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        out = np.zeros(x.size)
        if self.rbf is None:
            return out.reshape(x.shape)
        pts = np.c_[x.ravel(), y.ravel()]
        d, _ = self._tree.query(pts, distance_upper_bound=3 * self.length)
        near = np.isfinite(d)
        if near.any():
            out[near] = self._for(int(near.sum()))(pts[near])
        return out.reshape(x.shape)

    def _for(self, queries: int):
        """The local (nearest-64) solve for a few queries; for a grid's worth, one global
        solve (built once per refit, while the exposure is small enough to solve at once),
        which is far cheaper than a local system per point."""
        if queries < 2000 or len(self.xy) > GLOBAL_SOLVE_MAX:
            return self.rbf
        if self._global is None:
            self._global = RBFInterpolator(self.xy, self.r, kernel="gaussian",
                                           epsilon=1.0 / self.length, smoothing=self.nugget,
                                           degree=-1)
        return self._global

    def sigma(self, x, y) -> np.ndarray:
        """One standard error of the corrected surface: the simple-kriging standard deviation
        over the same neighbourhood, ``sill`` × √(1 − kᵀ(K + N)⁻¹k), N the points' nuggets —
        about a point's own error where it was seen (less where many agree), rising toward
        the borehole surface's error as the exposure falls out of reach."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        if self._tree is None:
            return np.full(x.shape, np.inf)
        pts = np.c_[x.ravel(), y.ravel()]
        k = min(len(self.xy), 32)
        d, idx = self._tree.query(pts, k=k)
        d, idx = d.reshape(len(pts), k), idx.reshape(len(pts), k)
        near = self.xy[idx]                                   # (m, k, 2)
        dd = np.linalg.norm(near[:, :, None, :] - near[:, None, :, :], axis=-1)
        cov = np.exp(-(dd / self.length) ** 2) + self.nugget[idx][:, :, None] * np.eye(k)
        c0 = np.exp(-(d / self.length) ** 2)
        w = np.linalg.solve(cov, c0[..., None])[..., 0]
        var = np.clip(1.0 - np.einsum("ij,ij->i", w, c0), 0.0, 1.0)
        return (self.sill * np.sqrt(var)).reshape(x.shape)


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
    floors: dict[str, Surface | Kriged]   # restored (unfaulted) floors
    thicknesses: dict[str, Surface | Kriged | Difference]
    faults: tuple = ()
    floor_fix: dict[str, Correction] = field(default_factory=dict)     # from exposure
    thickness_fix: dict[str, Correction] = field(default_factory=dict)

    def restored_floor(self, seam: str, x, y) -> np.ndarray:
        x, y = np.asarray(x, float), np.asarray(y, float)
        z = self.floors[seam](x, y)
        fix = self.floor_fix.get(seam)
        return z + fix(x, y) if fix is not None else z

    def floor(self, seam: str, x, y) -> np.ndarray:
        x, y = np.asarray(x, float), np.asarray(y, float)
        z = fault(self.restored_floor(seam, x, y), x, y, self.faults)
        i = self.seams.index(seam)
        if i > 0:                             # never below the roof of the seam beneath
            z = np.maximum(z, self.roof(self.seams[i - 1], x, y))
        return z

    def thickness(self, seam: str, x, y) -> np.ndarray:
        x, y = np.asarray(x, float), np.asarray(y, float)
        t = self.thicknesses[seam](x, y)
        fix = self.thickness_fix.get(seam)
        return np.maximum(t + fix(x, y) if fix is not None else t, 0.0)

    def roof(self, seam: str, x, y) -> np.ndarray:
        return self.floor(seam, x, y) + self.thickness(seam, x, y)

    def floor_sigma(self, seam: str, x, y) -> np.ndarray:
        """One standard error of the floor: the borehole surface's, or the exposure's where
        that is smaller (near roadways and the face)."""
        s = self.floors[seam].sigma(x, y)
        fix = self.floor_fix.get(seam)
        return np.minimum(s, fix.sigma(x, y)) if fix is not None else s

    def thickness_sigma(self, seam: str, x, y) -> np.ndarray:
        s = self.thicknesses[seam].sigma(x, y)
        fix = self.thickness_fix.get(seam)
        return np.minimum(s, fix.sigma(x, y)) if fix is not None else s

    def set_exposure(self, seam: str, xy: np.ndarray, floor_z: np.ndarray,
                     thickness: np.ndarray, sigma=MAPPING_SIGMA_M) -> None:
        """Refit the seam's corrections to all its exposed points so far: floor elevations
        and thicknesses where given (NaN where not), each with its one-sigma error (mapped
        exposure a few cm; soft data such as in-seam seismic more) — weighted accordingly."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        x, y = xy[:, 0], xy[:, 1]
        sig = np.broadcast_to(np.asarray(sigma, float), (len(xy),))
        z = np.asarray(floor_z, float)
        ok = np.isfinite(z)
        if ok.any():
            r = restore(z[ok], x[ok], y[ok], self.faults) - self.floors[seam](x[ok], y[ok])
            self.floor_fix[seam] = Correction(xy[ok], r, sig[ok],
                                              sill=self.floors[seam].cv_rmse)
        t = np.asarray(thickness, float)
        ok = np.isfinite(t)
        if ok.any():
            self.thickness_fix[seam] = Correction(
                xy[ok], t[ok] - self.thicknesses[seam](x[ok], y[ok]), sig[ok],
                sill=self.thicknesses[seam].cv_rmse)

    def report(self) -> dict:
        """Errors at held-out boreholes (leave-one-hole-out: each hole's picks predicted by
        surfaces fitted without it), pooled over seams and per seam, and the share of
        held-out floors inside their 95 % band (docs/geology.md)."""
        def rmse(e):
            return round(float(np.sqrt(np.mean(np.square(e)))), 3)
        floor = [self.floors[s].cv_errors for s in self.seams]
        inside = [np.abs(self.floors[s].cv_errors) <= 1.96 * self.floors[s].cv_sigma
                  for s in self.seams]
        thick = [self.thicknesses[s].cv_errors for s in self.seams]
        roof = [f + t for f, t in zip(floor, thick)]
        return {
            "floor_rmse_m": rmse(np.concatenate(floor)), "roof_rmse_m": rmse(np.concatenate(roof)),
            "thickness_rmse_m": rmse(np.concatenate(thick)),
            "floor_band_coverage": round(float(np.mean(np.concatenate(inside))), 3),
            "seams": {s: {"floor_rmse_m": rmse(f), "roof_rmse_m": rmse(r),
                          "thickness_rmse_m": rmse(t), "boreholes": int(len(f)),
                          "floor_band_coverage": round(float(np.mean(c)), 3),
                          "floor_smoothing": self.floors[s].smoothing,
                          "roof": ("fitted directly" if isinstance(self.thicknesses[s], Difference)
                                   else "floor + thickness")}
                      for s, f, t, r, c in zip(self.seams, floor, thick, roof, inside)}}


def dropped(z_restored: np.ndarray, x, y, faults) -> np.ndarray:
    """(n, F): which faults drop each point of the restored surface (as ``fault`` does)."""
    z = np.asarray(z_restored, float)
    out = np.zeros((z.size, len(faults)), bool)
    for k, f in enumerate(faults):
        out[:, k] = np.ravel(f.hanging_wall(x, y, z))
        z = np.where(np.reshape(out[:, k], z.shape), z - f.throw_m, z)
    return out


def throw_sigma(f) -> float:
    return f.throw_sigma_m if f.throw_sigma_m is not None else THROW_SIGMA_SHARE * abs(f.throw_m)


def _sides(z_obs, zr, x, y, faults, floor: Surface | Kriged) -> tuple[np.ndarray, np.ndarray]:
    """Picks at a mapped fault's trace — closer to its plane than the heave plus twice the
    plane's position error — may lie on either side of the real fault. Each such pick goes
    to the side (its restored elevation with or without that throw) nearer to what the
    other boreholes predict there (the leave-one-out prediction); returns the restored
    elevations and the faults that drop each pick."""
    zr, blocks = zr.copy(), dropped(zr, x, y, faults)
    pred = zr + floor.cv_errors
    for k, f in enumerate(faults):
        pos = f.position_sigma_m if f.position_sigma_m is not None else POSITION_SIGMA_M
        band = abs(f.throw_m) / np.tan(np.radians(f.dip_deg)) + 2 * pos
        near = np.abs(f.plan_distance(x, y, z_obs)) < band
        other = np.where(blocks[:, k], zr - f.throw_m, zr + f.throw_m)
        flip = near & (np.abs(other - pred) < np.abs(zr - pred))
        zr[flip] = other[flip]
        blocks[flip, k] = ~blocks[flip, k]
    return zr, blocks


@dataclass
class Difference:
    """A seam's thickness as its directly fitted roof minus its floor (where that predicts
    the roof better than floor + thickness); cross-validated like a surface."""
    roof: Surface | Kriged
    floor: Surface | Kriged

    def __post_init__(self) -> None:
        self.cv_errors = self.roof.cv_errors - self.floor.cv_errors
        self.cv_rmse = float(np.sqrt(np.mean(np.square(self.cv_errors))))
        self.smoothing = f"roof fitted directly ({self.roof.smoothing})"
        self.xy, self.spacing = self.roof.xy, self.roof.spacing

    def __call__(self, x, y) -> np.ndarray:
        return self.roof(x, y) - self.floor(x, y)

    def sigma(self, x, y) -> np.ndarray:
        x, y = np.asarray(x, float), np.asarray(y, float)
        d, _ = cKDTree(self.xy).query(np.c_[x.ravel(), y.ravel()])
        return (self.cv_rmse * np.sqrt(0.25 + (d / self.spacing) ** 2)).reshape(x.shape)


def build_seam_model(boreholes: Boreholes, exclude: set[str] = frozenset()) -> SeamModel:
    """Per seam: the floor from the restored picks (twin.geology.kriging carries the throw
    errors), the picks at a fault's trace put on their likelier side and the floor refitted;
    the thickness surface, or the roof fitted directly when its leave-one-out error is the
    smaller."""
    faults = tuple(boreholes.faults)
    tau = np.array([throw_sigma(f) for f in faults])

    def blocks_of(x, y, z):
        return dropped(z, x, y, faults)

    floors, thick, mean_z = {}, {}, {}
    for seam in boreholes.seams():
        p = boreholes.picks(seam, exclude)
        if len(p["floor"]) < 3:
            continue
        xy, fz = p["floor"][:, :2], p["floor"][:, 2]
        zr = restore(fz, xy[:, 0], xy[:, 1], faults)
        fit = dict(tau=tau, block_fn=blocks_of, spectra=Spectra(xy))
        floor = fit_surface(xy, zr, data_blocks=dropped(zr, xy[:, 0], xy[:, 1], faults), **fit)
        if faults:
            zr2, blocks = _sides(fz, zr, xy[:, 0], xy[:, 1], faults, floor)
            if np.any(zr2 != zr):
                zr = zr2
                floor = fit_surface(xy, zr, data_blocks=blocks, **fit)
        t = p["roof"][:, 2] - fz
        thickness = fit_surface(xy, t, spectra=fit["spectra"])
        if len(xy) >= KRIGING_MIN_POINTS:
            roof = fit_surface(xy, zr + t, data_blocks=dropped(zr, xy[:, 0], xy[:, 1], faults),
                               **fit)
            if roof.cv_rmse < np.sqrt(np.mean(np.square(floor.cv_errors + thickness.cv_errors))):
                thickness = Difference(roof, floor)
        floors[seam], thick[seam], mean_z[seam] = floor, thickness, float(fz.mean())
    order = sorted(floors, key=lambda s: mean_z[s])
    return SeamModel(order, floors, thick, faults)
