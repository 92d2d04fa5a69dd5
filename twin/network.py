"""The roadway network as a graph: junctions found from the geometry, shortest routes, and
location mapping (a point ↔ roadway + chainage; a reader + signed distance → a point).

Junctions: a roadway end that lies within ``tolerance_m`` of another roadway's end or of any
point of another roadway's centerline joins them there (T-junctions included). Routes run
along centerlines (scipy's Dijkstra over the junction graph).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .model import Reader, Roadway

__all__ = ["Location", "Route", "Network"]


@dataclass(frozen=True, slots=True)
class Location:
    roadway: str
    chainage_m: float


@dataclass(frozen=True, slots=True)
class Route:
    """A walk along centerlines: ``legs`` of (roadway, from chainage, to chainage)."""

    legs: tuple[tuple[str, float, float], ...]

    @property
    def length_m(self) -> float:
        return float(sum(abs(b - a) for _, a, b in self.legs))

    def location_at(self, s: float) -> Location:
        """Where one is after walking ``s`` metres (clamped to the route)."""
        s = max(0.0, s)
        for rid, a, b in self.legs:
            d = abs(b - a)
            if s <= d:
                return Location(rid, a + (s if b >= a else -s))
            s -= d
        rid, a, b = self.legs[-1]
        return Location(rid, b)


class Network:
    def __init__(self, roadways: Mapping[str, Roadway], tolerance_m: float = 1.5):
        self.roadways = dict(roadways)
        self.tolerance_m = tolerance_m
        # Junction points on each roadway: chainage -> node index.
        stops: dict[str, list[tuple[float, int]]] = {rid: [] for rid in self.roadways}
        nodes: list[np.ndarray] = []

        grid: dict[tuple[int, int, int], list[int]] = {}   # cells of the tolerance's size

        def node_at(p: np.ndarray) -> int:
            """The node within the tolerance of ``p`` (the first made), else a new one."""
            c = tuple(int(v) for v in np.floor(p / tolerance_m))
            near = [i for dx in (-1, 0, 1) for dy in (-1, 0, 1) for dz in (-1, 0, 1)
                    for i in grid.get((c[0] + dx, c[1] + dy, c[2] + dz), ())]
            for i in sorted(near):
                if np.linalg.norm(nodes[i] - p) <= tolerance_m:
                    return i
            nodes.append(p)
            grid.setdefault(c, []).append(len(nodes) - 1)
            return len(nodes) - 1

        # each roadway's box, widened by the tolerance: a point outside it cannot be on it
        ids = list(self.roadways)
        lo = np.array([self.roadways[i].centerline.min(axis=0) for i in ids]) - tolerance_m
        hi = np.array([self.roadways[i].centerline.max(axis=0) for i in ids]) + tolerance_m
        for rid, r in self.roadways.items():
            for end_ch in (0.0, r.length_m):
                p = r.point_at(end_ch)
                n = node_at(p)
                stops[rid].append((end_ch, n))
                near = np.flatnonzero(((p >= lo) & (p <= hi)).all(axis=1))
                for oid in (ids[k] for k in near):
                    if oid == rid:
                        continue
                    o = self.roadways[oid]
                    ch, d = o.project(p)
                    if d <= tolerance_m:
                        stops[oid].append((ch, n))
        self.nodes = np.array(nodes)
        self._stops: dict[str, np.ndarray] = {}
        rows, cols, weights = [], [], []
        for rid, lst in stops.items():
            lst = sorted(set((round(c, 6), n) for c, n in lst))
            arr = np.array(lst, dtype=float)
            self._stops[rid] = arr
            for (c1, n1), (c2, n2) in zip(lst, lst[1:]):
                if n1 != n2:
                    rows += [n1, n2]
                    cols += [n2, n1]
                    weights += [c2 - c1 + 1e-9] * 2
        n = len(nodes)
        self._graph = csr_matrix((weights, (rows, cols)), shape=(n, n))
        self._dist, self._pred = dijkstra(self._graph, return_predecessors=True)
        # For each pair of adjacent nodes, the roadway that joins them (shortest if several).
        self._edge: dict[tuple[int, int], tuple[str, float, float]] = {}
        for rid, arr in self._stops.items():
            for (c1, n1), (c2, n2) in zip(arr, arr[1:]):
                n1, n2 = int(n1), int(n2)
                for key, leg in (((n1, n2), (rid, c1, c2)), ((n2, n1), (rid, c2, c1))):
                    if key not in self._edge or abs(leg[2] - leg[1]) < abs(
                            self._edge[key][2] - self._edge[key][1]):
                        self._edge[key] = leg

    # ------------------------------------------------------------------ queries

    def point(self, loc: Location) -> np.ndarray:
        return self.roadways[loc.roadway].point_at(loc.chainage_m)

    def locate(self, point) -> tuple[Location, float]:
        """The nearest centerline location to a point, and the distance to it."""
        best = None
        for rid, r in self.roadways.items():
            ch, d = r.project(np.asarray(point, float))
            if best is None or d < best[1]:
                best = (Location(rid, ch), d)
        assert best is not None
        return best

    def connected(self, a: str, b: str) -> bool:
        na, nb = int(self._stops[a][0, 1]), int(self._stops[b][0, 1])
        return bool(np.isfinite(self._dist[na, nb]))

    def route(self, a: Location, b: Location) -> Route:
        """The shortest walk from ``a`` to ``b`` along the network."""
        if a.roadway == b.roadway:
            direct = Route(((a.roadway, a.chainage_m, b.chainage_m),))
        else:
            direct = None
        best = (direct.length_m if direct else np.inf, direct)
        for na, da, leg_a in self._exits(a):
            for nb, db, leg_b in self._exits(b):
                total = da + self._dist[na, nb] + db
                if total < best[0]:
                    legs = [leg_a] + self._legs(na, nb) + [(leg_b[0], leg_b[2], leg_b[1])]
                    best = (total, Route(tuple(l for l in legs if abs(l[2] - l[1]) > 1e-9)
                                          or ((a.roadway, a.chainage_m, a.chainage_m),)))
        if best[1] is None:
            raise ValueError(f"no route from {a} to {b}: the roadways are not connected")
        return best[1]

    def _exits(self, loc: Location):
        """The junctions either side of a location: (node, distance, leg to it)."""
        arr = self._stops[loc.roadway]
        ch = loc.chainage_m
        out = []
        before = arr[arr[:, 0] <= ch + 1e-9]
        after = arr[arr[:, 0] >= ch - 1e-9]
        if len(before):
            c, n = before[-1]
            out.append((int(n), ch - c, (loc.roadway, ch, float(c))))
        if len(after):
            c, n = after[0]
            out.append((int(n), c - ch, (loc.roadway, ch, float(c))))
        return out

    def _legs(self, na: int, nb: int) -> list[tuple[str, float, float]]:
        path = [nb]
        while path[-1] != na:
            p = self._pred[na, path[-1]]
            if p < 0:
                return []
            path.append(int(p))
        path.reverse()
        return [self._edge[(u, v)] for u, v in zip(path, path[1:])]

    def reader_location(self, reader: Reader, distance_m: float = 0.0) -> Location:
        """A reader plus the signed distance of an RYSS record → a location on the reader's
        roadway. Positive distances point towards increasing chainage (our convention —
        vendors differ; document it per deployment); clamped to the roadway's ends."""
        if reader.roadway is None or reader.chainage_m is None:
            raise ValueError(f"reader {reader.code} is not placed on a roadway (readers.csv)")
        r = self.roadways[reader.roadway]
        return Location(r.id, float(np.clip(reader.chainage_m + distance_m, 0.0, r.length_m)))
