"""Rendering benchmark (issue: server-side rendering with Panda3D): alarm-snapshot render
time, the plan picture (``render --view overview``, an area's alarm picture) and
wall-client frames per second on the demo mine, with Panda3D's software renderer
(tinydisplay) and with OpenGL over EGL (here Mesa's llvmpipe — a CPU; a GPU's driver on a
display PC).

    .venv/bin/python bench/bench_render.py [--frames 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from assets import AssetStore
    from live_bindings import DefaultBindings
    from render.plan import plan_hidden, plan_picture, plan_region
    from render.renderer import PandaMirror, Renderer, frame_node, node_picture, overview
    from twin.plan import mine_plan
    from twin.demo.generator import generate_demo
    from twin.minefolder import load_mine
    from twin.scene_build import build_scene
    from twin.sim import Simulator

    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=60)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    model = load_mine(generate_demo(tmp / "demo"))
    store = AssetStore(tmp / "store")
    scene = build_scene(model, store)
    bindings = DefaultBindings(model, scene)
    scene.commit()
    sim = Simulator(model, seed=1, start=datetime(2026, 11, 2, 9, 0))
    bindings.apply(sim.advance(60.0))
    scene.commit()
    sensors = sorted(n for n in scene if n.startswith("sensor/"))[::3][:15]
    print(f"demo scene: {len(scene)} nodes")
    for software, label in ((True, "software (tinydisplay)"), (None, "OpenGL (EGL)")):
        r = Renderer((960, 540), software=software)
        t = time.perf_counter()
        mirror = PandaMirror(scene, r.render.attach_new_node("scene"), store.path)
        t_mirror = time.perf_counter() - t
        node_picture(r, mirror, sensors[0])                          # warm (first textures)
        times = []
        for nid in sensors:
            t = time.perf_counter()
            node_picture(r, mirror, nid, banner=f"报警 {nid}").save(tmp / "snap.png")
            times.append(time.perf_counter() - t)
        r.close()
        print(f"| snapshot 960×540, {label}: {r.driver} | mirror built in {t_mirror:.2f} s; "
              f"picture + labels + PNG {statistics.median(times) * 1000:.0f} ms median, "
              f"{max(times) * 1000:.0f} ms max ({len(times)} alarms) |")
        plan = mine_plan(model, scene)
        area = next(a for a in plan["areas"] if len(a["roadways"]) >= 3)
        for size, what in (((1920, 1080), "whole mine"), ((960, 540), "an area's alarm")):
            r = Renderer(size, software=software)
            mirror = PandaMirror(scene, r.render.attach_new_node("scene"), store.path,
                                 hide=plan_hidden)
            kw = {} if what == "whole mine" else {
                "region": plan_region(plan, set(area["roadways"]), 40.0),
                "highlight_area": area["code"], "legend": False, "banner": "超员"}
            plan_picture(r, mirror, plan, title=model.mine.name, **kw)          # warm
            times = []
            for _ in range(5):
                t = time.perf_counter()
                plan_picture(r, mirror, plan, title=model.mine.name, **kw).save(tmp / "p.png")
                times.append(time.perf_counter() - t)
            r.close()
            print(f"| plan picture {size[0]}×{size[1]} ({what}), {label} | picture + lines + "
                  f"labels + PNG **{statistics.median(times) * 1000:.0f} ms** median |")
        for size in ((1920, 1080), (960, 540)):
            r = Renderer(size, software=software)
            mirror = PandaMirror(scene, r.render.attach_new_node("scene"), store.path)
            views = [overview(mirror), frame_node(mirror, "equipment/shearer-11901", margin_m=60)]
            r.look(views[1], (3, 2), (1, 0))
            r.frame()
            t_apply = t_render = 0.0
            for k in range(args.frames):
                bindings.apply(sim.advance(1.0))                    # the live twin moving on
                t0 = time.perf_counter()
                mirror.apply(scene.commit())
                t1 = time.perf_counter()
                if k % 20 == 0:
                    r.look(views[(k // 20) % 2], (3, 2), (1, 0))    # a tour step
                mirror.animate(k / 30)
                r.frame()
                t2 = time.perf_counter()
                t_apply += t1 - t0
                t_render += t2 - t1
            r.close()
            print(f"| wall tile {size[0]}×{size[1]} (of a 3×2 wall), {label} | "
                  f"**{args.frames / (t_apply + t_render):.0f} frames/s** "
                  f"({t_render / args.frames * 1000:.1f} ms rendering + "
                  f"{t_apply / args.frames * 1000:.1f} ms applying the diff, per frame) |")


if __name__ == "__main__":
    main()
