"""Georeferencing: the similarity transform (scale, rotation, translation) that takes a scan
or photogrammetry frame to the mine grid, from control points measured in both (Umeyama's
least-squares solution), with each point's residual reported so a bad control point shows.

Control-point files are CSV: ``name, x_src, y_src, z_src, x_mine, y_mine, z_mine``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Similarity", "fit_similarity", "read_control_points", "GeoreferenceError"]


class GeoreferenceError(ValueError):
    pass


@dataclass(frozen=True)
class Similarity:
    scale: float
    rotation: np.ndarray        # (3, 3), a proper rotation
    translation: np.ndarray     # (3,)
    residuals: np.ndarray       # (n,) metres, per control point
    names: tuple[str, ...] = ()
    allow_scale: bool = True

    def apply(self, points: np.ndarray) -> np.ndarray:
        return self.scale * np.asarray(points, float) @ self.rotation.T + self.translation

    @property
    def matrix(self) -> np.ndarray:
        m = np.eye(4)
        m[:3, :3] = self.scale * self.rotation
        m[:3, 3] = self.translation
        return m

    @property
    def rms(self) -> float:
        return float(np.sqrt(np.mean(self.residuals ** 2)))

    def report(self) -> dict:
        return {"scale": self.scale, "matrix": self.matrix.round(9).tolist(),
                "rms_m": round(self.rms, 4),
                "residuals_m": {n or str(i): round(float(r), 4) for i, (n, r) in
                                enumerate(zip(self.names or [""] * len(self.residuals),
                                              self.residuals))}}


def fit_similarity(src: np.ndarray, dst: np.ndarray, *, allow_scale: bool = True,
                   names: tuple[str, ...] = ()) -> Similarity:
    """dst ≈ s R src + t (Umeyama 1991). At least 3 points, not all on one line."""
    a, b = np.asarray(src, float), np.asarray(dst, float)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 3:
        raise GeoreferenceError(f"control points must pair up as (n, 3); got {a.shape} and {b.shape}")
    if len(a) < 3:
        raise GeoreferenceError(f"at least 3 control points are needed, got {len(a)}")
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    ca, cb = a - ma, b - mb
    if np.linalg.matrix_rank(ca, tol=1e-6 * max(1.0, np.abs(ca).max())) < 2:
        raise GeoreferenceError("the control points lie on one line: the rotation is undetermined")
    cov = cb.T @ ca / len(a)
    u, d, vt = np.linalg.svd(cov)
    e = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        e[2, 2] = -1
    r = u @ e @ vt
    var = (ca ** 2).sum() / len(a)
    s = float(np.trace(np.diag(d) @ e) / var) if allow_scale else 1.0
    t = mb - s * r @ ma
    res = np.linalg.norm(s * a @ r.T + t - b, axis=1)
    return Similarity(s, r, t, res, tuple(names), allow_scale)


def read_control_points(path: str | Path) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    names, src, dst = [], [], []
    with open(path, newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.reader(f), 1):
            if not row or row[0].startswith("#"):
                continue
            try:
                vals = [float(v) for v in row[1:7]]
            except ValueError:
                if n == 1:
                    continue                          # a header
                raise GeoreferenceError(f"{path}:{n}: expected name and six numbers") from None
            if len(vals) != 6:
                raise GeoreferenceError(f"{path}:{n}: expected name and six numbers")
            names.append(row[0].strip())
            src.append(vals[:3])
            dst.append(vals[3:])
    return tuple(names), np.array(src), np.array(dst)
