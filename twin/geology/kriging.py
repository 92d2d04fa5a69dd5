"""Kriging (Gaussian-process regression) of a surface from scattered points, its covariance
fitted to the data by restricted maximum likelihood (REML).

The model of the surface z(x):  z = f(x)ᵀβ + s(x) + Σ_f δ_f h_f(x) + ε
- f(x)ᵀβ a trend (a plane: constant and x, y), its coefficients unknown (universal kriging:
  they are estimated with the rest, and their uncertainty is in every standard error);
- s(x) a stationary random field of variance σ² and correlation ρ(|Δx| / ℓ) of one of the
  families below (exponential, Matérn 3/2, Matérn 5/2, Gaussian: rough to smooth);
- δ_f the error of a mapped fault's throw, N(0, τ_f²), shared by every point the fault
  dropped (h_f = 1 on its hanging wall): the surface is fitted to picks *restored* across the
  mapped faults, and a throw that is off by δ shifts every restored pick of that block by δ —
  so points of one block are correlated by τ_f² beyond s, the data estimate each block's
  offset as far as they can, and a prediction informed across a fault carries the throw's
  uncertainty in its standard error;
- ε a nugget: pick error and variation shorter than the data can resolve, η σ².

σ², ℓ and η are chosen per family by maximising the restricted likelihood (σ² in closed form,
η over a fine grid from one eigendecomposition per ℓ, ℓ by a coarse grid and Brent's method); the family with the highest
likelihood wins (same trend, so the likelihoods compare). Leave-one-out errors come in closed
form from one inverse of the kriging system (Dubrule 1983) — no refits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

__all__ = ["FAMILIES", "Kriged", "Spectra", "fit_kriging", "correlation"]

FAMILIES = ("matern32", "matern52", "gaussian")
_ETA = np.geomspace(1e-6, 3.0, 45)          # the nugget's share of σ², candidates
_LENGTHS = 8                                 # coarse grid of correlation lengths


def correlation(family: str, h: np.ndarray) -> np.ndarray:
    """ρ(h), h the distance in correlation lengths."""
    if family == "exponential":
        return np.exp(-h)
    if family == "matern32":
        a = np.sqrt(3.0) * h
        return (1.0 + a) * np.exp(-a)
    if family == "matern52":
        a = np.sqrt(5.0) * h
        return (1.0 + a + a * a / 3.0) * np.exp(-a)
    if family == "gaussian":
        return np.exp(-h * h)
    raise ValueError(f"unknown covariance family {family!r}")


def _trend(xy: np.ndarray, center: np.ndarray, scale: float) -> np.ndarray:
    u = (xy - center) * scale
    return np.c_[np.ones(len(xy)), u]


@dataclass
class Kriged:
    """A kriged surface: callable like a function of (x, y), with ``sigma(x, y)`` its one
    standard error; ``blocks(x, y, z)`` (the faults' hanging-wall indicators of points at
    restored elevation z) and ``tau`` (each fault's throw error) when it models faults."""
    xy: np.ndarray
    z: np.ndarray
    family: str
    sill: float                     # σ²
    length: float                   # ℓ, metres
    nugget: float                   # η σ², m²
    reml: float                     # the restricted log-likelihood's negative (its minimum)
    tau: np.ndarray                 # (F,) one-sigma throw errors of the faults
    data_blocks: np.ndarray         # (n, F) hanging-wall indicators of the data
    block_fn: object = None         # (x, y, z_restored) -> (m, F) indicators
    cv_errors: np.ndarray | None = None
    cv_sigma: np.ndarray | None = None
    cv_rmse: float = 0.0
    spacing: float = 0.0

    def __post_init__(self) -> None:
        self.center = self.xy.mean(axis=0)
        self.scale = 1.0 / max(float(np.ptp(self.xy, axis=0).max()), 1e-9)
        self.F = _trend(self.xy, self.center, self.scale)
        c = self._cov_data()
        self._cf = linalg.cho_factor(c, lower=True, check_finite=False)
        cif = linalg.cho_solve(self._cf, self.F, check_finite=False)
        self._G = self.F.T @ cif
        self.beta = np.linalg.solve(self._G, cif.T @ self.z)
        self._alpha = linalg.cho_solve(self._cf, self.z - self.F @ self.beta, check_finite=False)
        self._tree = cKDTree(self.xy)
        if self.cv_errors is None:
            self.cv_errors, self.cv_sigma = self._loo(c)
            self.cv_rmse = float(np.sqrt(np.mean(np.square(self.cv_errors))))
        d, _ = self._tree.query(self.xy, k=2)
        self.spacing = float(np.median(d[:, 1]))

    @property
    def smoothing(self) -> str:     # the report's one-word description of the model
        return f"kriging {self.family} ℓ={self.length:.0f} m"

    def _blocks_cov(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a * self.tau ** 2) @ b.T if len(self.tau) else 0.0

    def _cov_data(self) -> np.ndarray:
        c = self.sill * correlation(self.family, cdist(self.xy, self.xy) / self.length)
        c[np.diag_indices(len(self.z))] += self.nugget
        return c + self._blocks_cov(self.data_blocks, self.data_blocks)

    def _loo(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out errors (prediction from the others − value) and their standard
        deviations, from the inverse of the bordered kriging system (Dubrule)."""
        n, p = self.F.shape
        m = np.block([[c, self.F], [self.F.T, np.zeros((p, p))]])
        inv = np.linalg.inv(m)
        d = np.diag(inv)[:n]
        return -(inv[:n, :n] @ self.z) / d, np.sqrt(1.0 / d)

    def _parts(self, x, y):
        pts = np.c_[np.ravel(x), np.ravel(y)].astype(float)
        k = self.sill * correlation(self.family, cdist(pts, self.xy) / self.length)
        mean = _trend(pts, self.center, self.scale) @ self.beta + k @ self._alpha
        blocks = None
        if len(self.tau):
            # Which blocks a point is in follows from where the restored surface is there
            # (the faults are planes in 3D); the block offsets then shift it a little.
            blocks = np.asarray(self.block_fn(pts[:, 0], pts[:, 1], mean), float)
            kb = self._blocks_cov(blocks, self.data_blocks)
            k = k + kb
            mean = mean + kb @ self._alpha
        return pts, k, mean, blocks

    def __call__(self, x, y) -> np.ndarray:
        x = np.asarray(x, float)
        return self._parts(x, y)[2].reshape(x.shape)

    def sigma(self, x, y) -> np.ndarray:
        """The universal-kriging standard deviation of the surface (without the nugget: the
        error of the predicted surface itself), the throw errors included."""
        x = np.asarray(x, float)
        pts, k, _, blocks = self._parts(x, y)
        c0 = np.full(len(pts), self.sill)
        if blocks is not None:
            c0 = c0 + (blocks ** 2 * self.tau ** 2).sum(axis=1)
        var = np.empty(len(pts))
        for s in range(0, len(pts), 4096):        # bounded memory for mine-wide grids
            kk = k[s:s + 4096]
            cik = linalg.cho_solve(self._cf, kk.T, check_finite=False)
            r = _trend(pts[s:s + 4096], self.center, self.scale).T - self.F.T @ cik
            var[s:s + 4096] = (c0[s:s + 4096] - np.einsum("ij,ji->i", kk, cik)
                               + np.einsum("ij,ji->i", r.T, np.linalg.solve(self._G, r)))
        return np.sqrt(np.maximum(var, 0.0)).reshape(x.shape)


class Spectra:
    """Eigendecompositions of the correlation matrices of one set of points, kept: a seam's
    floor, thickness and roof are picked at the same places, so their REML fits share them."""

    def __init__(self, xy: np.ndarray) -> None:
        self.xy = np.asarray(xy, float)
        self.d = cdist(self.xy, self.xy)
        self._eig: dict = {}

    def fits(self, xy: np.ndarray) -> bool:
        return self.xy.shape == np.shape(xy) and np.array_equal(self.xy, xy)

    def __call__(self, family: str, log_l: float) -> tuple[np.ndarray, np.ndarray]:
        key = (family, float(log_l))
        if key not in self._eig:
            self._eig[key] = np.linalg.eigh(correlation(family, self.d / np.exp(log_l)))
        return self._eig[key]


def _reml(z, family, spectra: Spectra, trend, log_l) -> tuple[float, float, float]:
    """The restricted likelihood's negative at correlation length exp(log_l), minimised over
    the nugget: one eigendecomposition of the correlation matrix R gives (R + ηI)⁻¹ and
    |R + ηI| for every η at once. Returns (its value, η, σ² profiled out)."""
    n, p = trend.shape
    lam, q = spectra(family, log_l)
    zt, ft = q.T @ z, q.T @ trend
    w = 1.0 / (lam[None, :] + _ETA[:, None])                       # (k, n)
    ok = (lam[None, :] + _ETA[:, None] > 0).all(axis=1)
    w = np.where(ok[:, None], w, 1.0)
    g = np.einsum("ni,kn,nj->kij", ft, w, ft)
    fz = np.einsum("ni,kn,n->ki", ft, w, zt)
    sign, logdet_g = np.linalg.slogdet(g)
    quad = np.einsum("kn,n->k", w, zt * zt) - np.einsum(
        "ki,ki->k", fz, np.linalg.solve(g, fz[..., None])[..., 0])
    sigma2 = np.maximum(quad, 1e-300) / (n - p)
    nll = 0.5 * ((n - p) * np.log(sigma2) - np.log(w).sum(axis=1) + logdet_g)
    nll = np.where(ok & (sign > 0), nll, np.inf)
    i = int(np.argmin(nll))
    return float(nll[i]), float(_ETA[i]), float(sigma2[i])


def fit_kriging(xy: np.ndarray, z: np.ndarray, *, tau=(), data_blocks=None, block_fn=None,
                families=FAMILIES, spectra: Spectra | None = None) -> Kriged:
    """REML fit of each family, the best kept. ``tau`` and ``data_blocks`` (n, F) add the
    faults' throw errors (see the module's text); the covariance is fitted without them
    (they are small beside the surface's own variation and known), then they join the
    system for prediction and cross-validation. ``spectra``: kept eigendecompositions of
    these points (surfaces fitted at the same points share them)."""
    xy, z = np.asarray(xy, float), np.asarray(z, float)
    n = len(z)
    if n < 6:
        raise ValueError(f"kriging needs at least 6 points, got {n}")
    if spectra is None or not spectra.fits(xy):
        spectra = Spectra(xy)
    d = spectra.d
    center, scale = xy.mean(axis=0), 1.0 / max(float(np.ptp(xy, axis=0).max()), 1e-9)
    trend = _trend(xy, center, scale)
    spacing = max(float(np.median(np.sort(d, axis=1)[:, 1])), 1e-6)
    extent = max(float(np.ptp(xy, axis=0).max()), spacing)
    # The nugget on a fine grid for each length (free, given the eigendecomposition); the
    # length on a coarse grid, then by Brent's method between the best grid point's
    # neighbours — for every family: the smooth ones' likelihood peaks sharply in ℓ, so a
    # coarse value says little about which family will win.
    grid = np.linspace(np.log(spacing * 0.2), np.log(extent * 2.0), _LENGTHS)
    best = None
    for family in families:
        vals = [_reml(z, family, spectra, trend, ll)[0] for ll in grid]
        i = int(np.argmin(vals))
        if not np.isfinite(vals[i]):
            continue
        res = optimize.minimize_scalar(
            lambda ll: _reml(z, family, spectra, trend, ll)[0], method="bounded",
            bounds=(grid[max(i - 1, 0)], grid[min(i + 1, _LENGTHS - 1)]),
            options={"xatol": 0.05})
        ll = float(res.x) if res.fun < vals[i] else float(grid[i])
        nll, eta, s2 = _reml(z, family, spectra, trend, ll)
        if np.isfinite(nll) and (best is None or nll < best[0] - 1e-9):
            best = (nll, family, s2, float(np.exp(ll)), eta * s2)
    if best is None:
        raise ValueError("kriging: no covariance fits these points")
    nll, family, s2, length, nugget = best
    tau = np.asarray(tau, float)
    blocks = (np.zeros((n, 0)) if data_blocks is None or not len(tau)
              else np.asarray(data_blocks, float))
    return Kriged(xy, z, family, s2, length, nugget, float(nll), tau if len(blocks.T) else
                  np.zeros(0), blocks, block_fn)
