"""Observation history: stored, queried, downsampled exactly, pruned, kept across restarts."""

import numpy as np

from live_bindings import Bucket, History, Sample
from twin.observation import Observation


def points(n, t0=0, dt=2000, seed=0):
    rng = np.random.default_rng(seed)
    return [Observation("t", "point", "002A02", t0 + i * dt, float(round(rng.uniform(0, 1), 3)))
            for i in range(n)]


def test_raw_and_downsampled_queries_match_brute_force(tmp_path):
    h = History(tmp_path / "h.sqlite")
    obs = points(1000)
    assert h.record(obs + [Observation("t", "equipment", "pump-1", 0, True, param="running"),
                           Observation("t", "card", "x", 0, True)]) == 1001
    raw = h.query("002A02", 0, 198_000)
    assert raw == [Sample(o.time_ms, o.value, 0) for o in obs[:100]]
    t = np.array([o.time_ms for o in obs])
    v = np.array([o.value for o in obs])
    buckets = h.query("002A02", 0, 1_999_999, max_points=50)
    assert len(buckets) == 50 and all(isinstance(b, Bucket) for b in buckets)
    width = 40_000
    for b in buckets:
        sel = v[(t >= b.t) & (t < b.t + width)]
        assert (b.min, b.max, b.count) == (sel.min(), sel.max(), len(sel))
        assert abs(b.mean - sel.mean()) < 1e-9
    assert h.series() == ["002A02", "pump-1/running"]


def test_retention_and_restart(tmp_path):
    path = tmp_path / "h.sqlite"
    h = History(path, retention_days=1)
    h.record(points(10, t0=0) + points(10, t0=2 * 86_400_000))
    assert h.prune(now_ms=2 * 86_400_000 + 1) == 10
    h.close()
    again = History(path)
    assert len(again.query("002A02", 0, 10 * 86_400_000)) == 10
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
