"""Recording benchmark (issue: streaming): write one hour at 10 Hz, then seek in it.

    .venv/bin/python bench/bench_recording.py [--nodes N] [--moving M]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scene import Scene  # noqa: E402
from streaming.recording import Recorder, Recording  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=2000)
    ap.add_argument("--moving", type=int, default=300)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    scene = Scene(history_limit=10)
    for i in range(args.nodes):
        scene.add(f"person/{i:05d}", tags=["person"], translation=rng.uniform(-1e3, 1e3, 3))
    t0 = 1_793_577_600_000
    scene.commit(t0)
    h = scene.handles(list(scene))
    with tempfile.TemporaryDirectory() as tmp:
        rec = Recorder(tmp, scene, keyframe_s=15.0, segment_s=3600.0, fsync_every_s=5.0)
        ticks = 36_000
        start = time.perf_counter()
        for k in range(1, ticks + 1):
            sel = np.sort(rng.choice(h, args.moving, replace=False))
            scene.set_translations(sel, rng.uniform(-1e3, 1e3, (args.moving, 3)))
            rec.record(scene.commit(t0 + k * 100))
        write_s = time.perf_counter() - start
        rec.close()
        size = sum(p.stat().st_size for p in Path(tmp).glob("*.mcap"))
        recording = Recording(tmp)
        start = time.perf_counter()
        recording.state_at(t0 + 1000)
        open_s = time.perf_counter() - start
        seeks = []
        for t in rng.integers(t0, t0 + ticks * 100, 50):
            s0 = time.perf_counter()
            recording.state_at(int(t))
            seeks.append(time.perf_counter() - s0)
        print(f"| one hour at 10 Hz ({args.nodes} nodes, {args.moving} moving a tick): record "
              f"| {write_s:.1f} s ({ticks / write_s:,.0f} ticks/s) |")
        print(f"| file size | {size / 1e6:.1f} MB |")
        print(f"| open (first seek reads the hour) | {open_s * 1000:.0f} ms |")
        print(f"| seek, median / p99 of 50 | {statistics.median(seeks) * 1000:.1f} ms / "
              f"{sorted(seeks)[int(len(seeks) * 0.99) - 1] * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
