"""Scene-graph benchmark on a 100 000-node scene (issue: foundation).

    .venv/bin/python bench/bench_scene.py [--nodes N] [--repeat K]

Prints build time and memory; field changes committed per second through the batch path
and through the per-node API; bytes on the wire per changed entity when 3 float fields of
N entities change; snapshot encode + decode time; and a few more figures that later issues
lean on (replica apply, merge, world update, spatial queries). Never part of `make test`.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scene import MeshRef, Replica, Scene, merge  # noqa: E402
from scene.spatial import SpatialIndex  # noqa: E402
from scene.wire import WireDecoder, WireEncoder  # noqa: E402


def build(n: int, seed: int = 0) -> tuple[Scene, dict[str, np.ndarray]]:
    """A mine-like scene: roadways with meshes, sensors under them with a CH4 value and a
    location, equipment with meshes, and people (the rest) under team groups."""
    rng = np.random.default_rng(seed)
    s = Scene(capacity=n + 16)
    n_road, n_sensor, n_equip = n // 50, n * 3 // 10, n // 12
    n_people = n - n_road - n_sensor - n_equip - 10
    s.define_property("ch4", "float", "%")
    s.define_property("location", "str")
    roads = []
    for i in range(n_road):
        rid = f"roadway/{i:05d}"
        lo = rng.uniform(-2000, 2000, 3)
        s.add(rid, name=f"{i}回风巷", tags=["roadway"], translation=lo,
              mesh=MeshRef(f"{i % 256:064x}", (), (0, -2.5, -1.5, 400, 2.5, 1.5)))
        roads.append(rid)
    sensors = []
    for i in range(n_sensor):
        sid = f"sensor/{i:06d}"
        s.add(sid, roads[i % n_road], tags=["sensor"], translation=(rng.uniform(0, 400), 0, 1),
              properties={"ch4": float(rng.uniform(0, 0.8)), "location": f"巷道 {i % 400} m"})
        sensors.append(sid)
    for i in range(n_equip):
        s.add(f"equipment/{i:05d}", tags=["equipment"], translation=rng.uniform(-2000, 2000, 3),
              mesh=MeshRef(f"{(i + 7) % 256:064x}", (), (-1, -1, -1, 1, 1, 1)))
    for g in range(10):
        s.add(f"team/{g}", name=f"班组{g}")
    people = []
    for i in range(n_people):
        pid = f"person/{i:06d}"
        s.add(pid, f"team/{i % 10}", tags=["person"], translation=rng.uniform(-2000, 2000, 3))
        people.append(pid)
    s.commit(1)
    return s, {"sensors": s.handles(sensors), "people": s.handles(people),
               "all": s.handles(list(s))}


def timed(fn, repeat: int) -> float:
    """Median seconds of ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n, k = args.nodes, args.repeat
    rows: list[tuple[str, str, str]] = []

    def row(name: str, value: str, target: str = "") -> None:
        rows.append((name, value, target))
        print(f"{name:62s} {value:>16s}  {target}", flush=True)

    print(f"# MineTwin scene benchmark — {n} nodes, median of {k}; Python "
          f"{platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"{platform.machine()}")
    t0 = time.perf_counter()
    scene, h = build(n)
    row("build (add + commit), s", f"{time.perf_counter() - t0:.2f}")
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    scene2, _ = build(n)
    mem = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del scene2
    row("memory of the scene, MB (tracemalloc)", f"{mem / 1e6:.0f}")
    rng = np.random.default_rng(1)

    # Batch path: every node moves (100 000 translation changes) + commit.
    allh = h["all"]
    pos = [rng.uniform(-2000, 2000, (len(allh), 3)) for _ in range(k)]
    it = iter(range(10**9))

    def batch_tick() -> None:
        i = next(it)
        scene.set_translations(allh, pos[i % k])
        scene.commit(10 + i)
    t = timed(batch_tick, k)
    row("batch path: field changes committed per s (all nodes move)",
        f"{len(allh) / t:,.0f}", "target >= 1,000,000")

    # Mixed hot path: people move, sensors report — the twin's real tick shape.
    ph, sh = h["people"], h["sensors"]
    ppos = [rng.uniform(-2000, 2000, (len(ph), 3)) for _ in range(k)]
    vals = [rng.uniform(0, 1.5, len(sh)) for _ in range(k)]

    def mixed_tick() -> None:
        i = next(it)
        scene.set_translations(ph, ppos[i % k])
        scene.set_values(sh, "ch4", vals[i % k])
        scene.commit(10 + i)
    t = timed(mixed_tick, k)
    row("batch path: people positions + sensor values, changes per s",
        f"{(len(ph) + len(sh)) / t:,.0f}")

    # Per-node API.
    ids = list(scene)
    xyz = rng.uniform(-2000, 2000, (len(ids), 3)).tolist()

    def per_node_tick() -> None:
        i = next(it)
        for node_id, p in zip(ids, xyz):
            scene.set_translation(node_id, (p[0] + i, p[1], p[2]))
        scene.commit(10 + i)
    t = timed(per_node_tick, max(1, k // 2))
    row("per-node API: field changes committed per s", f"{len(ids) / t:,.0f}")

    # Wire bytes per changed entity (3 float fields = one translation per entity).
    enc = WireEncoder(precision=4)
    for count, stride in ((100, 1), (1000, 1), (10_000, 1), (len(allh), 1), (10_000, 7)):
        sel = allh[::stride][:count]
        scene.set_translations(sel, rng.uniform(-2000, 2000, (len(sel), 3)))
        frame = enc.encode(scene.commit(10 + next(it)))
        label = f"wire bytes per entity, 3 floats of {len(sel):,} entities" + \
            (f" (every {stride}th)" if stride > 1 else "")
        row(label, f"{len(frame) / len(sel):.2f}", "target <= 16 (Colyseus ~19)")

    # Snapshot encode + decode.
    snap = scene.snapshot()
    frame = b""

    def encode() -> None:
        nonlocal frame
        frame = enc.encode(snap)
    te = timed(encode, k)
    decoded = None

    def decode() -> None:
        nonlocal decoded
        decoded = WireDecoder().decode(frame)
    td = timed(decode, k)
    row("snapshot size, MB", f"{len(frame) / 1e6:.2f}")
    row("snapshot encode, s", f"{te:.3f}")
    row("snapshot decode, s", f"{td:.3f}")
    row("snapshot encode + decode, s", f"{te + td:.3f}", "target < 1")
    row("snapshot() build from the scene, s", f"{timed(scene.snapshot, k):.3f}")

    def apply() -> None:
        Replica().apply(decoded)
    row("replica apply of the snapshot, s", f"{timed(apply, k):.3f}")

    # Merge a minute of 10 Hz mixed ticks (catch-up for a reconnecting client).
    small = rng.choice(ph, 1000, replace=False)
    small.sort()
    css = []
    for i in range(600):
        scene.set_translations(small, rng.uniform(-2000, 2000, (1000, 3)))
        scene.set_values(sh[:500], "ch4", rng.uniform(0, 1.5, 500))
        css.append(scene.commit(100 + next(it)))
    row("merge 600 ticks (1 000 moves + 500 values each), s", f"{timed(lambda: merge(css), k):.3f}")

    # World transforms and spatial queries.
    scene.set_translations(ph, ppos[0])
    row("update_world after all people moved, s", f"{timed(scene.update_world, 1):.3f}")
    idx = SpatialIndex(scene)
    t0 = time.perf_counter()
    idx.in_box((0, 0, 0), (1, 1, 1))
    row("spatial index (re)build, s", f"{time.perf_counter() - t0:.3f}")
    pts = rng.uniform(-2000, 2000, (100, 3))
    row("in_box 100 m cube, ms", f"{timed(lambda: [idx.in_box(p, p + 100) for p in pts], 3) * 10:.2f}")
    row("within 50 m, ms", f"{timed(lambda: [idx.within(p, 50) for p in pts], 3) * 10:.2f}")
    row("nearest k=5, ms", f"{timed(lambda: [idx.nearest(p, 5) for p in pts], 3) * 10:.2f}")
    row("raycast, ms", f"{timed(lambda: [idx.raycast(p, (1, 0.2, 0)) for p in pts], 3) * 10:.2f}")

    print("\n| figure | value | target |\n| --- | ---: | --- |")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")


if __name__ == "__main__":
    main()
