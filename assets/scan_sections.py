"""A roadway's centerline and cross-sections from its scan.

``centerline_from_scan`` marches through the point cloud: from one end of the roadway (the
extreme of the cloud along its main axis), it steps ``spacing`` metres along the current
direction, takes the slab of points across the roadway there, and puts the centerline point
at the middle of the slab's width, on its floor (the design convention: floor centre, z up);
the direction follows the last points, so bends are followed. ``cross_section`` cuts the
slab at a chainage and measures it: width at mid-height, height at the axis, area, and the
(u across, v up) outline points to compare with the design profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, cKDTree

__all__ = ["centerline_from_scan", "cross_section", "project_on_polyline", "Section",
           "SectionError"]


class SectionError(ValueError):
    pass


@dataclass
class Section:
    chainage: float
    origin: np.ndarray        # the centerline point (floor centre)
    right: np.ndarray         # horizontal unit vector across (u)
    points: np.ndarray        # (n, 2) u across, v up from the floor centre
    width: float              # at mid-height
    height: float             # at the axis (|u| < 0.25 m)
    area: float               # of the outline (convex hull of the section)


def project_on_polyline(points: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nearest point of a polyline to each point, and its chainage along the line."""
    a, b = line[:-1], line[1:]
    ab = b - a
    lengths = np.linalg.norm(ab, axis=1)
    start = np.r_[0.0, np.cumsum(lengths)][:-1]
    best = np.full(len(points), np.inf)
    near = np.empty_like(points)
    ch = np.zeros(len(points))
    for k in range(len(a)):
        t = np.clip(((points - a[k]) @ ab[k]) / max(lengths[k] ** 2, 1e-12), 0, 1)
        q = a[k] + t[:, None] * ab[k]
        d = np.einsum("ij,ij->i", points - q, points - q)
        m = d < best
        best[m], near[m], ch[m] = d[m], q[m], start[k] + t[m] * lengths[k]
    return near, ch


def _frame(tangent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = tangent / np.linalg.norm(tangent)
    right = np.cross(t, [0.0, 0.0, 1.0])
    n = np.linalg.norm(right)
    right = right / n if n > 1e-9 else np.array([1.0, 0.0, 0.0])
    return t, right


def _slab(tree: cKDTree, pts: np.ndarray, c: np.ndarray, t: np.ndarray, half: float,
          radius: float) -> np.ndarray:
    idx = np.array(tree.query_ball_point(c, radius), dtype=np.int64)
    if not len(idx):
        return idx
    along = (pts[idx] - c) @ t
    return idx[np.abs(along) <= half]


def _centre(pts: np.ndarray, c: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The floor centre of a slab: middle of the width (robust percentiles), lowest points."""
    rel = pts - c
    u = rel @ right
    z = pts[:, 2]
    if len(u) < 20:
        return None
    floor = np.quantile(z, 0.02)
    mid = (z > floor + 0.3) & (z < floor + 1.8)         # the ribs, above the floor
    if mid.sum() < 10:
        return None
    lo, hi = np.quantile(u[mid], [0.01, 0.99])
    centre = c + right * (lo + hi) / 2
    centre = np.array([centre[0], centre[1], floor])
    return centre, hi - lo


def centerline_from_scan(points: np.ndarray, *, spacing: float = 1.0, slab: float = 0.2,
                         radius: float = 8.0, start: np.ndarray | None = None) -> np.ndarray:
    """The roadway's centerline (floor centre, (n, 3)) from its scan points."""
    pts = np.asarray(points, float)
    if len(pts) < 1000:
        raise SectionError(f"a centerline needs a scan of at least 1000 points, got {len(pts)}")
    tree = cKDTree(pts)
    mean = pts.mean(axis=0)
    axis = np.linalg.svd(pts[::max(1, len(pts) // 20000)] - mean, full_matrices=False)[2][0]
    axis[2] = 0.0 if np.linalg.norm(axis[:2]) > 1e-6 else axis[2]
    proj = (pts - mean) @ axis
    if start is None:
        start = pts[np.argmin(proj)]
    t, right = _frame(axis)
    # First centre a little inside the end, where the slab is whole.
    c = np.asarray(start, float) + t * slab
    line, widths = [], []
    for _ in range(100000):
        idx = _slab(tree, pts, c, t, slab / 2, radius)
        got = _centre(pts[idx], c, right) if len(idx) else None
        if got is None:
            break
        centre, width = got
        if line and np.linalg.norm(centre - line[-1]) < spacing * 0.3:
            break                                        # not advancing: the end
        line.append(centre)
        widths.append(width)
        if len(line) >= 2:
            d = line[-1] - line[-2]
            d[2] = 0.0 if np.linalg.norm(d[:2]) > 1e-6 else d[2]
            t, right = _frame(0.5 * t + 0.5 * d / np.linalg.norm(d))
        c = centre + t * spacing + np.array([0, 0, 1.5])     # look at the next slab mid-height
    # Slabs cut at the open ends see one rib only: drop the centres of partial sections.
    whole = np.array(widths) >= 0.8 * np.median(widths)
    line = [p for p, ok in zip(line, whole) if ok]
    if len(line) < 2:
        raise SectionError("no roadway could be followed through the scan")
    return np.array(line)


def cross_section(points: np.ndarray, centerline: np.ndarray, chainage: float,
                  thickness: float = 0.1) -> Section:
    """The scan's cross-section at ``chainage`` along ``centerline``."""
    pts = np.asarray(points, float)
    line = np.asarray(centerline, float)
    seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
    ch = np.r_[0.0, np.cumsum(seg)]
    if not 0 <= chainage <= ch[-1]:
        raise SectionError(f"chainage {chainage} outside the centerline (0 … {ch[-1]:.2f} m)")
    k = min(int(np.searchsorted(ch, chainage, side="right")) - 1, len(line) - 2)
    f = (chainage - ch[k]) / max(seg[k], 1e-12)
    origin = line[k] + f * (line[k + 1] - line[k])
    t, right = _frame(line[k + 1] - line[k])
    rel = pts - origin
    sel = np.abs(rel @ t) <= thickness / 2
    sel &= np.linalg.norm(rel, axis=1) < 15.0
    uv = np.c_[rel[sel] @ right, rel[sel][:, 2]]
    if len(uv) < 20:
        raise SectionError(f"only {len(uv)} scan points at chainage {chainage}")
    floor_v = np.quantile(uv[:, 1], 0.02)
    uv[:, 1] -= floor_v
    top = uv[:, 1].max()
    band = np.abs(uv[:, 1] - top / 2) < 0.1
    width = float(np.ptp(uv[band, 0])) if band.sum() >= 2 else float(np.ptp(uv[:, 0]))
    axis_pts = np.abs(uv[:, 0]) < 0.25
    height = float(uv[axis_pts, 1].max()) if axis_pts.any() else float(top)
    area = float(ConvexHull(uv).volume) if len(uv) >= 3 else 0.0
    return Section(float(chainage), origin + [0, 0, floor_v], right, uv, width, height, area)
