"""Laser scan → roadway mesh (open3d), and the mesh's error against a known surface.

The steps (``reconstruct``), each with its parameter in ``ScanParams`` and recorded in the
asset's metadata:

1. **crop** to a box (the part of the scan wanted), when given;
2. **voxel downsample** (``voxel`` m): an even density, and the scale everything else uses;
3. **statistical outlier removal** (``outlier_neighbours``, ``outlier_std``): dust, people,
   multipath returns;
4. **normals**, estimated from ``3 × voxel`` neighbourhoods and **oriented toward the inside
   of the roadway**: toward the scanner position each point was measured from when the scan
   has a trajectory, else toward the nearest point of the roadway's centerline;
5. **screened Poisson** reconstruction (``poisson_depth``) and **density trimming**: the
   lowest ``trim_quantile`` of Poisson densities and everything farther than
   ``trim_distance × voxel`` from the scan go (Poisson closes the open ends of a roadway
   with invented caps; this removes them);
6. **hole filling** of holes up to ``hole_size`` m across (occlusion shadows), leaving the
   roadway's open ends alone (open3d's own ``fill_holes`` returned garbage vertices in
   about one run in two here, so the holes are closed with a fan per boundary loop);
7. **simplification** (quadric, fast-simplification) to the fewest triangles whose surface
   stays within ``max_error`` m of the unsimplified mesh.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from assets.scan_sections import project_on_polyline

__all__ = ["ScanParams", "ScanResult", "reconstruct", "surface_error", "ScanError",
           "fill_small_holes", "boundary_loops"]


class ScanError(ValueError):
    """The scan cannot be turned into a mesh (too few points, no normals …); says why."""


@dataclass(frozen=True)
class ScanParams:
    voxel: float = 0.05
    crop: tuple[float, float, float, float, float, float] | None = None
    outlier_neighbours: int = 20
    outlier_std: float = 2.0
    poisson_depth: int = 10
    trim_quantile: float = 0.02
    trim_distance: float = 2.0
    hole_size: float = 1.0
    max_error: float = 0.01


@dataclass
class ScanResult:
    mesh: trimesh.Trimesh
    params: ScanParams
    stats: dict = field(default_factory=dict)

    def metadata(self) -> dict:
        return {"processing": {"pipeline": "scan→mesh (open3d Poisson)", **asdict(self.params)},
                "scan_stats": self.stats}


def reconstruct(points: np.ndarray, *, origins: np.ndarray | None = None,
                centerline: np.ndarray | None = None,
                params: ScanParams = ScanParams(), progress=None) -> ScanResult:
    """A roadway mesh from scan points ((n, 3), metres, z up). ``origins`` (scanner position
    per point) or ``centerline`` tells the inside; one of them is required."""
    import open3d as o3d

    pts = np.asarray(points, np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) < 100:
        raise ScanError(f"a scan needs at least 100 points as (n, 3); got {pts.shape}")
    if not np.isfinite(pts).all():
        raise ScanError("the scan has NaN or infinite coordinates")
    if origins is None and centerline is None:
        raise ScanError("the inside of the roadway is unknown: give the scanner trajectory "
                        "(origins) or the roadway centerline")
    p = params
    stats: dict = {"points_in": int(len(pts))}
    t0 = time.perf_counter()
    step = (lambda name: progress(name)) if progress else (lambda name: None)

    step("crop")
    keep = np.ones(len(pts), bool)
    if p.crop is not None:
        lo, hi = np.asarray(p.crop[:3]), np.asarray(p.crop[3:])
        keep = ((pts >= lo) & (pts <= hi)).all(axis=1)
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts[keep]))
    step("voxel downsample")
    pcd = pcd.voxel_down_sample(p.voxel)
    towards = None
    if origins is not None:
        # Each kept point looks toward the scanner position of the raw point nearest to it.
        _, nearest = cKDTree(pts[keep]).query(np.asarray(pcd.points))
        towards = np.asarray(origins, np.float64)[keep][nearest]
    stats["points_voxel"] = len(pcd.points)
    step("outlier removal")
    pcd, kept = pcd.remove_statistical_outlier(p.outlier_neighbours, p.outlier_std)
    if towards is not None:
        towards = towards[np.asarray(kept)]
    stats["points_filtered"] = len(pcd.points)
    if len(pcd.points) < 100:
        raise ScanError(f"only {len(pcd.points)} points left after filtering")
    step("normals")
    pcd.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=3 * p.voxel, max_nn=30))
    xyz = np.asarray(pcd.points)
    if towards is None:
        towards, _ = project_on_polyline(xyz, np.asarray(centerline, float))
    n = np.asarray(pcd.normals)
    flip = np.einsum("ij,ij->i", n, towards - xyz) < 0
    n[flip] *= -1
    pcd.normals = o3d.utility.Vector3dVector(n)
    step("poisson")
    mesh, dens = o3d.geometry.TriangleMesh.create_from_point_cloud_poisson(
        pcd, depth=p.poisson_depth, linear_fit=True)
    dens = np.asarray(dens)
    step("trim")
    gap, _ = cKDTree(xyz).query(np.asarray(mesh.vertices))
    far = gap > p.trim_distance * p.voxel
    mesh.remove_vertices_by_mask(far | (dens < np.quantile(dens, p.trim_quantile)))
    mesh.remove_unreferenced_vertices()
    mesh.remove_degenerate_triangles()
    stats["triangles_poisson"] = len(mesh.triangles)
    step("fill holes")
    tri = trimesh.Trimesh(np.asarray(mesh.vertices), np.asarray(mesh.triangles), process=True)
    if p.hole_size > 0:
        tri, stats["holes_filled"] = fill_small_holes(tri, p.hole_size)
    step("simplify")
    tri = _simplify_within(tri, p.max_error)
    stats["triangles"] = int(len(tri.faces))
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    return ScanResult(tri, p, stats)


def boundary_loops(mesh: trimesh.Trimesh) -> list[np.ndarray]:
    """The mesh's boundary loops as vertex index arrays, each in the direction its faces
    traverse it."""
    edges = mesh.edges                               # directed, per face
    key = np.sort(edges, axis=1)
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    boundary = edges[counts[inverse.ravel()] == 1]
    nxt = {int(a): int(b) for a, b in boundary}
    loops, seen = [], set()
    for start in nxt:
        if start in seen:
            continue
        loop, v = [], start
        while v not in seen and v in nxt:
            seen.add(v)
            loop.append(v)
            v = nxt[v]
        if v == start and len(loop) >= 3:
            loops.append(np.array(loop))
    return loops


def fill_small_holes(mesh: trimesh.Trimesh, max_size: float) -> tuple[trimesh.Trimesh, int]:
    """Closes boundary loops no wider than ``max_size`` m (occlusion shadows, dropouts) with
    a fan around the loop's centroid; larger loops (the roadway's open ends) stay open."""
    verts = [np.asarray(mesh.vertices)]
    faces = [np.asarray(mesh.faces)]
    n, filled = len(mesh.vertices), 0
    for loop in boundary_loops(mesh):
        pts = mesh.vertices[loop]
        width = np.linalg.norm(pts.max(axis=0) - pts.min(axis=0))
        if width > max_size:
            continue
        verts.append(pts.mean(axis=0)[None])
        # the fan runs against the loop's direction so its faces wind like their neighbours
        faces.append(np.c_[np.roll(loop, -1), loop, np.full(len(loop), n)])
        n += 1
        filled += 1
    if not filled:
        return mesh, 0
    return trimesh.Trimesh(np.vstack(verts), np.vstack(faces), process=False), filled


def _simplify_within(mesh: trimesh.Trimesh, max_error: float) -> trimesh.Trimesh:
    """The most reduced of a few quadric decimations whose vertices stay within
    ``max_error`` of the original surface."""
    import fast_simplification

    best = mesh
    for reduction in (0.9, 0.75, 0.5):
        v, f = fast_simplification.simplify(np.asarray(mesh.vertices, np.float32),
                                            np.asarray(mesh.faces, np.int32),
                                            target_reduction=reduction)
        cand = trimesh.Trimesh(v, f, process=True)
        if len(cand.faces) and surface_error(cand, mesh)["p95"] <= max_error:
            return cand
    return best


def surface_error(mesh: trimesh.Trimesh, truth: trimesh.Trimesh,
                  samples: int = 200_000, seed: int = 0) -> dict:
    """Distances from points sampled uniformly (by area) on ``mesh`` to the ``truth`` surface: mean,
    95th percentile and max, metres."""
    import open3d as o3d

    pts, _ = trimesh.sample.sample_surface(mesh, samples, seed=seed) \
        if len(mesh.faces) else (np.zeros((0, 3)), None)
    if not len(pts):
        pts = np.asarray(mesh.vertices)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(np.asarray(truth.vertices, np.float32), np.asarray(truth.faces, np.uint32))
    d = scene.compute_distance(o3d.core.Tensor(np.asarray(pts, np.float32))).numpy()
    return {"mean": float(d.mean()), "p95": float(np.quantile(d, 0.95)), "max": float(d.max()),
            "samples": int(len(d))}
