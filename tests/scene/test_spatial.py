"""Spatial queries against brute force over generated scenes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scene import MeshRef, Scene
from scene.spatial import SpatialIndex, world_bounds


def build(seed: int, n: int = 300) -> Scene:
    rng = np.random.default_rng(seed)
    s = Scene()
    for i in range(n):
        parent = None if i < 10 or rng.random() < 0.3 else f"n/{rng.integers(0, i)}"
        mesh = None
        if rng.random() < 0.6:
            lo = rng.uniform(-20, 0, 3)
            size = rng.uniform(0, 40, 3) * (30 if rng.random() < 0.05 else 1)  # a few large
            mesh = MeshRef("e" * 64, (), tuple(lo) + tuple(lo + size))
        q = rng.normal(size=4)
        s.add(f"n/{i}", parent, translation=rng.uniform(-500, 500, 3) / (3 if parent else 1),
              rotation=q / np.linalg.norm(q), scale=rng.uniform(0.5, 2, 3), mesh=mesh)
    s.commit(1)
    return s


def brute(s: Scene):
    h, lo, hi = world_bounds(s)
    ids = [s.id_of(x) for x in h.tolist()]
    return h, ids, lo, hi


def corners_bounds(s: Scene, node: str):
    """Bounds from all 8 transformed corners (independent of the index's centre/extent)."""
    m = s.world_matrix(node)
    mesh = s.node(node).mesh
    if mesh is None:
        p = m[:3, 3]
        return p, p
    b = np.array(mesh.bounds)
    c = np.array([[x, y, z, 1] for x in (b[0], b[3]) for y in (b[1], b[4]) for z in (b[2], b[5])])
    w = (m @ c.T).T[:, :3]
    return w.min(axis=0), w.max(axis=0)


def test_world_bounds_equal_transformed_corners():
    s = build(1, 120)
    h, ids, lo, hi = brute(s)
    for i, node in enumerate(ids):
        clo, chi = corners_bounds(s, node)
        np.testing.assert_allclose(lo[i], clo, atol=1e-6)
        np.testing.assert_allclose(hi[i], chi, atol=1e-6)


@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), qseed=st.integers(0, 10_000))
def test_queries_match_brute_force(seed, qseed):
    s = build(seed)
    idx = SpatialIndex(s)
    rng = np.random.default_rng(qseed)
    for round_ in range(2):
        h, ids, lo, hi = brute(s)
        order = np.argsort(h)
        for _ in range(10):
            a, b = rng.uniform(-600, 600, 3), rng.uniform(-600, 600, 3)
            qlo, qhi = np.minimum(a, b), np.minimum(a, b) + rng.uniform(0, 300, 3)
            want = [ids[i] for i in order if ((lo[i] <= qhi) & (hi[i] >= qlo)).all()]
            assert idx.in_box(qlo, qhi) == want

            p, r = rng.uniform(-600, 600, 3), float(rng.uniform(0, 200))
            gap = np.maximum(lo - p, 0) + np.maximum(p - hi, 0)
            d = np.linalg.norm(gap, axis=1)
            want_r = [ids[i] for i in np.lexsort((h, d)) if d[i] <= r]
            assert idx.within(p, r) == want_r

            k = int(rng.integers(1, 6))
            got = idx.nearest(p, k)
            best = np.lexsort((h, d))[:k]
            assert [g[0] for g in got] == [ids[i] for i in best]
            np.testing.assert_allclose([g[1] for g in got], d[best])

            o, direction = rng.uniform(-600, 600, 3), rng.normal(size=3)
            hit = idx.raycast(o, direction)
            want_hit = _brute_ray(o, direction / np.linalg.norm(direction), lo, hi, h, ids)
            assert (hit is None) == (want_hit is None)
            if hit is not None:
                assert hit[0] == want_hit[0]
                assert abs(hit[1] - want_hit[1]) < 1e-6
        # Move things and query again: the index follows the scene.
        handles = s.handles(list(s)[:50])
        s.set_translations(handles, rng.uniform(-300, 300, (50, 3)))
        s.commit(2 + round_)


def _brute_ray(o, d, lo, hi, h, ids):
    best = None
    for i in range(len(ids)):
        tmin, tmax = -np.inf, np.inf
        miss = False
        for ax in range(3):
            if d[ax] == 0:
                if not lo[i, ax] <= o[ax] <= hi[i, ax]:
                    miss = True
                    break
                continue
            t1, t2 = (lo[i, ax] - o[ax]) / d[ax], (hi[i, ax] - o[ax]) / d[ax]
            tmin, tmax = max(tmin, min(t1, t2)), min(tmax, max(t1, t2))
        if miss or tmax < max(tmin, 0):
            continue
        t = max(tmin, 0)
        if best is None or (t, h[i]) < (best[1], best[2]):
            best = (ids[i], t, h[i])
    return best


def test_ray_from_inside_a_box_hits_it_at_zero():
    s = Scene()
    s.add("roadway", mesh=MeshRef("e" * 64, (), (-100, -2, -2, 100, 2, 2)))
    s.add("sensor", translation=(50, 0, 0))
    s.commit(1)
    idx = SpatialIndex(s)
    assert idx.raycast((0, 0, 0), (1, 0, 0)) == ("roadway", 0.0)
    assert idx.raycast((0, 10, 0), (0, 0, 1)) is None
    assert idx.nearest((49, 0, 0), 2) == [("roadway", 0.0), ("sensor", 1.0)]
