"""Roadway deformation (巷道变形): an as-built scan or mesh against the design profile or an
earlier scan.

Each vertex of the as-built mesh gets its distance to the reference surface, signed
**positive toward the roadway's centerline** — convergence: roof sag, floor heave, ribs
squeezing in — and negative away from it (overbreak, spalling). The result is a coloured
mesh (vertex colours: blue = away, green = within tolerance, red = convergence) and a report:
the largest convergence with where it is (position and chainage along the centerline), the
share of the surface beyond the tolerance, and the zones (chainage ranges) where convergence
exceeds it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from assets.scan_sections import project_on_polyline

__all__ = ["DeviationReport", "deviation", "deviation_colors"]


@dataclass
class DeviationReport:
    signed: np.ndarray              # per as-built vertex, metres (+ = convergence)
    chainage: np.ndarray            # per vertex, along the centerline
    max_convergence: float
    max_at: tuple[float, float, float]
    max_at_chainage: float
    max_overbreak: float
    mean_abs: float
    beyond_tolerance: float         # share of vertices with |d| > tolerance
    zones: list[dict]               # [{"from_m", "to_m", "max_m", "at_m"}] convergence zones
    tolerance: float

    def summary(self) -> dict:
        return {"max_convergence_m": round(self.max_convergence, 4),
                "max_at": [round(v, 3) for v in self.max_at],
                "max_at_chainage_m": round(self.max_at_chainage, 2),
                "max_overbreak_m": round(self.max_overbreak, 4),
                "mean_abs_m": round(self.mean_abs, 4),
                "beyond_tolerance": round(self.beyond_tolerance, 4),
                "tolerance_m": self.tolerance, "zones": self.zones}


def deviation(as_built: trimesh.Trimesh, reference: trimesh.Trimesh, centerline: np.ndarray,
              *, tolerance: float = 0.05, axis_height: float = 0.0,
              zone_gap: float = 1.0) -> DeviationReport:
    """Signed distances of ``as_built``'s vertices to ``reference``. The centerline is the
    roadway's (floor centre, as the design gives it); ``axis_height`` raises it to the
    axis convergence is measured toward (e.g. half the roadway height)."""
    import open3d as o3d

    v = np.asarray(as_built.vertices, np.float64)
    line = np.asarray(centerline, float) + [0.0, 0.0, axis_height]
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(np.asarray(reference.vertices, np.float32),
                        np.asarray(reference.faces, np.uint32))
    closest = scene.compute_closest_points(o3d.core.Tensor(v.astype(np.float32)))
    q = closest["points"].numpy().astype(np.float64)
    dist = np.linalg.norm(v - q, axis=1)
    axis, ch = project_on_polyline(v, line)
    # Toward the axis (inside the reference) = convergence.
    sign = np.where(np.einsum("ij,ij->i", v - q, axis - q) > 0, 1.0, -1.0)
    signed = sign * dist
    i = int(np.argmax(signed))
    zones = _zones(ch, signed, tolerance, zone_gap)
    return DeviationReport(signed, ch, float(signed[i]), tuple(float(x) for x in v[i]),
                           float(ch[i]), float(max(0.0, -signed.min())),
                           float(np.abs(signed).mean()),
                           float((np.abs(signed) > tolerance).mean()), zones, tolerance)


def _zones(ch: np.ndarray, signed: np.ndarray, tol: float, gap: float) -> list[dict]:
    over = signed > tol
    if not over.any():
        return []
    c, s = ch[over], signed[over]
    order = np.argsort(c)
    c, s = c[order], s[order]
    breaks = np.flatnonzero(np.diff(c) > gap) + 1
    out = []
    for part_c, part_s in zip(np.split(c, breaks), np.split(s, breaks)):
        k = int(np.argmax(part_s))
        out.append({"from_m": round(float(part_c[0]), 2), "to_m": round(float(part_c[-1]), 2),
                    "max_m": round(float(part_s[k]), 4), "at_m": round(float(part_c[k]), 2)})
    return out


def deviation_colors(signed: np.ndarray, tolerance: float, full_scale: float | None = None
                     ) -> np.ndarray:
    """RGBA uint8 per vertex: green within ±tolerance, toward red (convergence) or blue
    (overbreak) up to ``full_scale`` (default 5 × tolerance)."""
    full = full_scale or 5 * tolerance
    x = np.clip(signed / full, -1, 1)
    green = np.array([46, 204, 113], float)
    red = np.array([231, 76, 60], float)
    blue = np.array([52, 152, 219], float)
    w = np.clip((np.abs(x) - tolerance / full) / max(1 - tolerance / full, 1e-9), 0, 1)[:, None]
    rgb = np.where(x[:, None] > 0, green * (1 - w) + red * w, green * (1 - w) + blue * w)
    return np.c_[rgb.round().astype(np.uint8), np.full(len(x), 255, np.uint8)]
