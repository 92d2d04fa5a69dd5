"""Design sweep benchmark (issue: asset pipeline): joining a roadway network at its junctions.

    .venv/bin/python bench/bench_sweep.py [--grid 12] [--spacing 150]

The demo mine's network as it stands, then a synthetic panel district: a grid of G × G
arched roadways (G east–west, G north–south, crossing at G² junctions, with a gentle grade
and a kink in each). Reports sweep + union + UV/normal time, triangles, and whether the
joined surface has open edges (gaps).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import trimesh

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assets.sweep import join_roadways  # noqa: E402
from twin.model import Profile  # noqa: E402


def _report(name: str, roadways: dict) -> None:
    t0 = time.perf_counter()
    parts = join_roadways(roadways)
    dt = time.perf_counter() - t0
    whole = trimesh.util.concatenate(list(parts.values()))
    whole.merge_vertices(merge_tex=True, merge_norm=True)
    _, uses = np.unique(np.sort(whole.edges, axis=1), axis=0, return_counts=True)
    # open edges (uses 1) are gaps; edges used 4 times are places where two roadways' surfaces
    # only touch (manifold keeps them apart; merging by position pinches them)
    print(f"{name}: {len(roadways)} roadways joined in {dt * 1000:.0f} ms, "
          f"{sum(len(p.faces) for p in parts.values())} triangles, open edges "
          f"{int((uses == 1).sum())}, touching edges {int((uses > 2).sum())}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid", type=int, default=12)
    ap.add_argument("--spacing", type=float, default=150.0)
    args = ap.parse_args()

    from twin.demo.generator import generate_demo
    from twin.minefolder import load_mine
    from twin.scene_build import _driven_lines
    with tempfile.TemporaryDirectory() as tmp:
        model = load_mine(generate_demo(Path(tmp) / "demo"))
    lines = _driven_lines(model)
    _report("demo mine", {rid: (line, model.roadways[rid].profile.outline())
                          for rid, line in lines.items()})

    g, sp = args.grid, args.spacing
    arch = Profile("semicircular_arch", 4.5, 3.6).outline(segments=12)
    length = sp * (g + 1)
    t = np.linspace(0, length, 9)
    roadways = {}
    for i in range(g):
        y = sp * (i + 1) + 3.0 * np.sin(t / 200.0)
        roadways[f"ew-{i}"] = (np.c_[t, y, 0.002 * t], arch)
        x = sp * (i + 1) + 3.0 * np.sin(t / 170.0)
        roadways[f"ns-{i}"] = (np.c_[x, t, 0.002 * x], arch)
    _report(f"{g}×{g} grid", roadways)


if __name__ == "__main__":
    main()
