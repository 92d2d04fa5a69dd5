"""Spatial queries over world-space bounds: nodes in a box, within a radius, nearest to a
point, first hit along a ray.

A node's world bounds are its mesh's local bounds (``MeshRef.bounds``) carried through its
world matrix (an axis-aligned box around the transformed box), or its world position as a
point when it has no mesh (sensors, people). The index keeps those boxes for every node and
a k-d tree (scipy) over the centres of the small ones; the few large ones (long roadways,
strata) are tested by brute force, so one 2 km roadway does not make every query visit
everything. It is rebuilt lazily, on the first query after anything moved.

Distances are to the box (0 inside it). The ray test is against boxes too: the first box the
ray enters (distance 0 when it starts inside one) — exact picking against triangles belongs
to whoever holds the mesh.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .graph import Scene
from .tolerances import SPATIAL_LARGE_ITEM_M

__all__ = ["SpatialIndex", "world_bounds"]


def world_bounds(scene: Scene, handles: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(handles, lo, hi): world-space axis-aligned bounds of live nodes (root excluded)."""
    if handles is None:
        handles = scene.live_handles()
    handles = np.asarray(handles, dtype=np.int64)
    world = scene.world_matrices(handles)
    centre_l = np.zeros((len(handles), 3))
    half_l = np.zeros((len(handles), 3))
    meshes = scene.meshes(handles)
    has = np.fromiter((m is not None for m in meshes), dtype=bool, count=len(handles))
    if has.any():
        b = np.array([m.bounds for m in meshes[has]], dtype=np.float64)
        centre_l[has] = (b[:, :3] + b[:, 3:]) / 2
        half_l[has] = (b[:, 3:] - b[:, :3]) / 2
    rot = world[:, :3, :3]
    centre = np.einsum("nij,nj->ni", rot, centre_l) + world[:, :3, 3]
    half = np.einsum("nij,nj->ni", np.abs(rot), half_l)
    return handles, centre - half, centre + half


class SpatialIndex:
    """Spatial queries on one scene. Results are node ids, nearest first where it matters."""

    def __init__(self, scene: Scene, *, large_item_m: float = SPATIAL_LARGE_ITEM_M):
        self.scene = scene
        self.large_item_m = large_item_m
        self._stamp = -1

    def _refresh(self) -> None:
        s = self.scene
        if self._stamp == s.spatial_stamp():
            return
        self._handles, self._lo, self._hi = world_bounds(s)
        centre = (self._lo + self._hi) / 2
        halfdiag = np.linalg.norm(self._hi - self._lo, axis=1) / 2
        large = halfdiag > self.large_item_m
        self._small = np.flatnonzero(~large)
        self._large = np.flatnonzero(large)
        self._tree = cKDTree(centre[self._small]) if len(self._small) else None
        small_half = (self._hi - self._lo)[self._small] / 2
        self._small_maxhalf = float(small_half.max()) if len(self._small) else 0.0
        self._small_maxdiag = float(halfdiag[self._small].max()) if len(self._small) else 0.0
        self._stamp = s.spatial_stamp()

    def _ids(self, idx: np.ndarray) -> list[str]:
        return self.scene.ids_of(self._handles[idx].tolist())

    def _distances(self, idx: np.ndarray, point: np.ndarray) -> np.ndarray:
        gap = np.maximum(self._lo[idx] - point, 0) + np.maximum(point - self._hi[idx], 0)
        return np.linalg.norm(gap, axis=1)

    def bounds(self, node: str) -> tuple[np.ndarray, np.ndarray]:
        """World bounds (lo, hi) of one node."""
        _, lo, hi = world_bounds(self.scene, np.array([self.scene.handle(node)]))
        return lo[0], hi[0]

    def in_box(self, lo: np.ndarray, hi: np.ndarray) -> list[str]:
        """Nodes whose bounds intersect the box [lo, hi], in handle order."""
        self._refresh()
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        cand = [self._large]
        if self._tree is not None:
            centre, half = (lo + hi) / 2, (hi - lo) / 2
            r = float(half.max()) + self._small_maxhalf
            cand.append(self._small[self._tree.query_ball_point(centre, r, p=np.inf)])
        idx = np.unique(np.concatenate(cand).astype(np.int64))
        hit = ((self._lo[idx] <= hi) & (self._hi[idx] >= lo)).all(axis=1)
        return self._ids(idx[hit])

    def within(self, point: np.ndarray, radius: float) -> list[str]:
        """Nodes whose bounds come within ``radius`` of ``point``, nearest first."""
        self._refresh()
        p = np.asarray(point, float)
        cand = [self._large]
        if self._tree is not None:
            cand.append(self._small[self._tree.query_ball_point(
                p, radius + self._small_maxdiag)])
        idx = np.unique(np.concatenate(cand).astype(np.int64))
        d = self._distances(idx, p)
        keep = d <= radius
        idx, d = idx[keep], d[keep]
        order = np.lexsort((self._handles[idx], d))
        return self._ids(idx[order])

    def nearest(self, point: np.ndarray, k: int = 1) -> list[tuple[str, float]]:
        """The ``k`` nodes nearest to ``point`` with their distances (ties: lower handle)."""
        self._refresh()
        p = np.asarray(point, float)
        n = len(self._handles)
        if n == 0 or k <= 0:
            return []
        k = min(k, n)
        cand = [self._large]
        if self._tree is not None:
            kk = min(k, len(self._small))
            _, first = self._tree.query(p, k=kk)
            first = self._small[np.atleast_1d(first)]
            # Any small item whose box could be as near as the k-th found lies within
            # (k-th distance + largest half-diagonal) of the point, centre to centre.
            dk = np.sort(self._distances(first, p))[-1]
            cand.append(self._small[self._tree.query_ball_point(p, dk + self._small_maxdiag)])
            cand.append(first)
        idx = np.unique(np.concatenate(cand).astype(np.int64))
        d = self._distances(idx, p)
        order = np.lexsort((self._handles[idx], d))[:k]
        return list(zip(self._ids(idx[order]), d[order].tolist()))

    def raycast(self, origin: np.ndarray, direction: np.ndarray,
                max_distance: float = np.inf) -> tuple[str, float] | None:
        """The first node whose bounds the ray enters, with the distance along the ray
        (``direction`` is normalised), or None."""
        self._refresh()
        o = np.asarray(origin, float)
        d = np.asarray(direction, float)
        norm = np.linalg.norm(d)
        if not norm:
            raise ValueError("a ray needs a non-zero direction")
        d = d / norm
        if not len(self._handles):
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / d
            t1 = (self._lo - o) * inv
            t2 = (self._hi - o) * inv
        # An axis the ray runs parallel to: inside the slab → no constraint, outside → miss.
        par = d == 0
        inside = (o >= self._lo) & (o <= self._hi)
        tmin = np.where(par, np.where(inside, -np.inf, np.inf), np.minimum(t1, t2))
        tmax = np.where(par, np.where(inside, np.inf, -np.inf), np.maximum(t1, t2))
        near = tmin.max(axis=1)
        far = tmax.min(axis=1)
        hit = (far >= np.maximum(near, 0)) & (np.maximum(near, 0) <= max_distance)
        if not hit.any():
            return None
        idx = np.flatnonzero(hit)
        t = np.maximum(near[idx], 0)
        best = np.lexsort((self._handles[idx], t))[0]
        return self._ids(idx[best:best + 1])[0], float(t[best])
