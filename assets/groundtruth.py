"""Ground truth for the scan pipeline: a synthetic mobile laser scanner.

A scanner on a trolley moves along a trajectory inside a known mesh (a roadway swept from
its design, possibly deformed, with optional occluding boxes: cabinets, pipes, a shearer)
and casts rays from each station (open3d's Embree ray casting). Each hit gets Gaussian range
noise; some returns drop out; rays that miss or run past the maximum range give nothing.
Because the true surface is known, the pipeline's error can be measured
(``assets.scan.surface_error``) — in the tests and in ``bench/bench_scan.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

__all__ = ["SyntheticScan", "synthetic_scan", "fibonacci_directions", "polyline_at"]


@dataclass(frozen=True)
class SyntheticScan:
    points: np.ndarray        # (n, 3) float64, metres
    origins: np.ndarray       # (n, 3) the scanner position each point was measured from
    on_truth: np.ndarray      # (n,) bool: the ray hit the truth mesh (not an occluder)
    stations: np.ndarray      # (m, 3) scanner positions
    noise_sigma: float


def fibonacci_directions(n: int) -> np.ndarray:
    """n unit vectors spread evenly over the sphere."""
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5 ** 0.5) * i
    return np.c_[np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)]


def polyline_at(line: np.ndarray, spacing: float) -> np.ndarray:
    """Points every ``spacing`` metres along a polyline (both ends included)."""
    line = np.asarray(line, float)
    seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
    ch = np.r_[0.0, np.cumsum(seg)]
    s = np.linspace(0.0, ch[-1], max(2, int(round(ch[-1] / spacing)) + 1))
    return np.c_[[np.interp(s, ch, line[:, k]) for k in range(3)]].T


def synthetic_scan(truth: trimesh.Trimesh, trajectory: np.ndarray, *, station_spacing: float = 0.5,
                   rays_per_station: int = 4000, noise_sigma: float = 0.01,
                   dropout: float = 0.05, max_range: float = 40.0,
                   occluders: list[trimesh.Trimesh] | None = None,
                   seed: int = 0) -> SyntheticScan:
    """Scan ``truth`` from stations every ``station_spacing`` m along ``trajectory``."""
    import open3d as o3d

    rng = np.random.default_rng(seed)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(np.asarray(truth.vertices, np.float32), np.asarray(truth.faces, np.uint32))
    for occ in occluders or []:
        scene.add_triangles(np.asarray(occ.vertices, np.float32), np.asarray(occ.faces, np.uint32))
    stations = polyline_at(trajectory, station_spacing)
    base = fibonacci_directions(rays_per_station)
    pts, origins, truth_hit = [], [], []
    for s in stations:
        # A random rotation per station, so stations do not sample the same directions.
        q = trimesh.transformations.random_rotation_matrix(rng.random(3))[:3, :3]
        d = base @ q.T
        rays = np.hstack([np.broadcast_to(s, d.shape), d]).astype(np.float32)
        hit = scene.cast_rays(o3d.core.Tensor(rays))
        t = hit["t_hit"].numpy().astype(np.float64)
        gid = hit["geometry_ids"].numpy()
        ok = np.isfinite(t) & (t <= max_range) & (rng.random(len(t)) >= dropout)
        r = t[ok] + rng.normal(0.0, noise_sigma, ok.sum())
        pts.append(s + d[ok] * r[:, None])
        origins.append(np.broadcast_to(s, (ok.sum(), 3)))
        truth_hit.append(gid[ok] == 0)
    return SyntheticScan(np.vstack(pts), np.vstack(origins), np.concatenate(truth_hit),
                         stations, noise_sigma)
