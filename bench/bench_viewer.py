"""Browser viewer benchmark (issue: browser viewer): time to first frame for the demo mine
and the frame rate with every person moving, in Debian's headless Chromium with software
WebGL (SwiftShader) — so the figures are relative: what the viewer costs on a machine with
no GPU, not what a control-room PC shows.

    .venv/bin/python bench/bench_viewer.py [--seconds 10] [--loads 3] [--open 4]
                                           [--query '&fps=2'] [--demo-size large]

``--open N``: N views on this one machine (a display PC driving several screens, a test run),
opened one after another and left open while everyone moves: how long each took to show its
first frame with the others drawing meanwhile (``&fps=2`` caps each view's pictures).

The whole twin runs in this process (simulator off); every person of the demo mine reports a
position every 100 ms through the real bindings, walking along a roadway at 1.5 m/s, so every
person node moves each tick. The viewer is the built one (viewer_web/dist, `make setup`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking",
                 "--disable-component-update", "--use-angle=swiftshader",
                 "--enable-unsafe-swiftshader"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--loads", type=int, default=3)
    ap.add_argument("--size", default="1280x800")
    ap.add_argument("--query", default="", help="extra page query, e.g. '&aa=0'")
    ap.add_argument("--screenshot", help="also save the first load's picture (PNG) here")
    ap.add_argument("--demo-size", default="standard", choices=("standard", "large"),
                    help="the demo mine to show (large: #20.8's, for the benchmarks)")
    ap.add_argument("--open", type=int, default=0,
                    help="then open this many views one after another, leaving them open")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    from playwright.async_api import async_playwright

    from minetwin.app import TwinApp
    from minetwin.config import parse_config
    from twin.demo.generator import generate_demo
    from twin.observation import Observation

    if not (ROOT / "viewer_web" / "dist" / "index.html").exists():
        sys.exit("the viewer is not built: make setup")
    with tempfile.TemporaryDirectory() as tmp:
        mine = generate_demo(Path(tmp) / "mine", 7, args.demo_size)
        config = parse_config({
            "mine": {"path": str(mine)}, "assets": {"path": f"{tmp}/assets"},
            "alarms": {"db": f"{tmp}/a.sqlite"}, "history": {"db": f"{tmp}/h.sqlite"},
            "sim": {"enabled": False}, "recording": {"enabled": False},
            "server": {"audit_log": f"{tmp}/audit.jsonl",
                       "viewer_dir": str(ROOT / "viewer_web" / "dist")}},
            Path(tmp) / "c.toml")
        app = TwinApp(config, mine, port=0)
        people = sorted(app.model.people)
        roads = sorted((r for r in app.model.roadways.values() if r.length_m > 100),
                       key=lambda r: r.id)
        rng = np.random.default_rng(0)
        where = [(roads[i % len(roads)], float(rng.uniform(0, roads[i % len(roads)].length_m)))
                 for i in range(len(people))]
        walking = {"on": True}

        async def walk() -> None:
            while True:
                now = int(time.time() * 1000)
                batch = []
                for i, card in enumerate(people):
                    road, s = where[i]
                    if walking["on"]:
                        s = (s + 0.15) % road.length_m
                        where[i] = (road, s)
                    batch.append(Observation("bench", "card", card, now, True,
                                             position=tuple(road.point_at(s).tolist())))
                app.queue.put_many(batch)
                await asyncio.sleep(0.1)

        async def measure(page, seconds: float) -> dict:
            a = await page.evaluate("window.minetwin.stats()")
            await asyncio.sleep(seconds)
            b = await page.evaluate("window.minetwin.stats()")
            renders = b["renders"] - a["renders"]
            return {"fps": renders / seconds, "raf": (b["frames"] - a["frames"]) / seconds,
                    "ms": (b["renderMs"] - a["renderMs"]) / max(1, renders)}

        async def open_page(browser, url):
            """A fresh profile (no cache) showing the viewer's first frame."""
            ctx = await browser.new_context(viewport={"width": width, "height": height})
            page = await ctx.new_page()
            await page.goto(url, timeout=300_000)
            await page.wait_for_function(
                "window.minetwin && window.minetwin.stats().firstFrameMs !== null",
                timeout=300_000)
            return ctx, page

        async def run():
            stop = asyncio.Event()
            twin = asyncio.create_task(app.run(stop))
            while app.server is None or app.server.port == 0:
                await asyncio.sleep(0.01)
            walker = asyncio.create_task(walk())
            await asyncio.sleep(1.0)
            url = f"http://127.0.0.1:{app.server.port}/?token=minetwin-viewer{args.query}"
            out = {"ttff": [], "moving": None, "idle": None}
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path="/usr/bin/chromium",
                                                  args=CHROMIUM_ARGS)
                for _ in range(args.loads):
                    ctx, page = await open_page(browser, url)
                    out["ttff"].append(await page.evaluate("window.minetwin.stats().firstFrameMs"))
                    await asyncio.sleep(1.0)        # (the batches fill at the next picture)
                    out["nodes"] = await page.evaluate("window.minetwin.stats().nodes")
                    out["meshes"] = await page.evaluate("window.minetwin.stats().meshes")
                    out["instanced"] = await page.evaluate(
                        "window.minetwin.stats().instanced?.instances ?? 0")
                    if args.screenshot and len(out["ttff"]) == 1:
                        await page.screenshot(path=args.screenshot)
                    await ctx.close()
                ctx, page = await open_page(browser, url)
                await asyncio.sleep(2)
                out["visible"] = await page.evaluate(
                    "[...window.minetwin.view.views.values()].filter(v => v.group.visible && "
                    "window.minetwin.replica.nodes.get(v.handle).tags.includes('person')).length")
                # people are drawn as one Points of markers (people.js), not one mesh each
                out["markers"] = await page.evaluate("window.minetwin.view.people?.shown.length ?? null")
                out["labels"] = await page.evaluate("window.minetwin.view.labelsShown ?? null")
                # draw calls and triangles of the last picture (three.js counts them per render)
                out["calls"] = await page.evaluate(
                    "(({calls, triangles}) => ({calls, triangles}))"
                    "(window.minetwin.view.renderer.info.render)")
                out["moving"] = await measure(page, args.seconds)
                walking["on"] = False
                await asyncio.sleep(1.0)
                out["idle"] = await measure(page, args.seconds)
                await ctx.close()
                walking["on"] = True
                out["stacked"], held = [], []
                for _ in range(args.open):
                    t0 = time.perf_counter()
                    held.append(await open_page(browser, url))
                    out["stacked"].append(time.perf_counter() - t0)
                await browser.close()
            walker.cancel()
            stop.set()
            await twin
            return out

        r = asyncio.run(run())
        app.close()
    m, i = r["moving"], r["idle"]
    print(f"| demo mine: {r['nodes']} nodes, {r['meshes']} own meshes, {r['instanced']} instanced; "
          f"{args.size}{args.query}, headless "
          f"Chromium, SwiftShader (no GPU) | |")
    print(f"| time to first frame (snapshot + every GLB loaded + drawn), median of "
          f"{args.loads} cold loads | {statistics.median(r['ttff']):.0f} ms "
          f"(runs {', '.join(f'{v:.0f}' for v in r['ttff'])}) |")
    print(f"| people drawn | {r['markers']} markers in one draw call; {r['labels']} labels placed "
          f"without overlap |")
    print(f"| one picture of the default view | {r['calls']['calls']} draw calls, "
          f"{r['calls']['triangles']} triangles |")
    print(f"| every person moving ({r['visible']} shown, positions at 10 Hz, interpolated) | "
          f"{m['fps']:.1f} frames/s drawn of {m['raf']:.1f} animation frames/s; "
          f"{m['ms']:.1f} ms per drawn frame |")
    print(f"| nothing moving (render on demand) | {i['fps']:.1f} frames/s drawn of "
          f"{i['raf']:.1f} animation frames/s |")
    if r["stacked"]:
        print(f"| {len(r['stacked'])} views opened one after another, the others left open, "
              f"everyone moving: seconds to each one's first frame | "
              f"{', '.join(f'{v:.1f}' for v in r['stacked'])} s |")


if __name__ == "__main__":
    main()
