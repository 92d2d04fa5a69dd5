"""Screens as the control room sees them (issue #19): `minetwin serve` on the demo mine with a
drill running (a belt-road fire, an SOS, a gas outburst on 11901) at rate 10, and Debian's
headless Chromium taking a picture of each screen at 1920×1080 (software WebGL, as the tests).

    .venv/bin/python bench/shots.py [--out shots] [--rate 10] [--size 1920x1080]

Writes overview.png, geology.png, face.png, person.png, details.png, alarms.png,
wall-0.png and wall-1.png (a 2×1 wall's tiles; wall.png both side by side), replay.png — open them and judge them as a dispatcher
4 m from the wall would (`make shots`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DRILL = """
[[event]]
type = "fire"
at = "00:01:00"
place = "roadway:main-belt@300"
[[event]]
type = "sos"
at = "00:01:30"
place = "card:52052200000100002"
[[event]]
type = "gas_outburst"
at = "00:02:00"
place = "face:11901"
"""


def serve(tmp: Path, rate: float) -> tuple[subprocess.Popen, str]:
    """`minetwin serve` on a freshly generated demo mine, as the browser tests run it."""
    from tests.viewer.conftest import start_serve
    from twin.demo.generator import generate_demo
    mine = generate_demo(tmp / "mine", 7)
    return start_serve(tmp, mine, ROOT / "viewer_web" / "dist", rate=rate, drill=DRILL)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "shots"))
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--size", default="1920x1080")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    w, h = (int(v) for v in args.size.split("x"))
    from playwright.sync_api import sync_playwright

    from tests.viewer.conftest import CHROMIUM, CHROMIUM_ARGS

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        proc, base = serve(Path(tmp), args.rate)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            def page(query: str, size=(w, h), role="operator"):
                ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
                ctx.set_default_timeout(180_000)
                pg = ctx.new_page()
                pg.goto(f"{base}?token=minetwin-{role}{query}")
                pg.wait_for_function("window.minetwin && window.minetwin.stats().firstFrameMs !== null")
                return pg

            def shot(pg, name: str) -> None:
                pg.wait_for_timeout(1500)            # labels and interpolation settle
                pg.screenshot(path=str(out / f"{name}.png"))
                print(out / f"{name}.png")

            op = page("")
            # the drill's alarms: the outburst's CH4 power-off at least
            op.wait_for_function("[...window.minetwin.conn.alarms.values()].filter("
                                 "a => a.level === 3).length > 0", timeout=300_000)
            shot(op, "overview")
            op.evaluate("window.minetwin.view.focus('face/11901', 60)")
            shot(op, "face")
            person = op.evaluate("[...window.minetwin.replica.nodes.values()].find("
                                 "n => n.tags.includes('person') && n.props.get('underground')).id")
            op.evaluate("id => window.minetwin.view.focus(id, 25)", person)
            shot(op, "person")
            sensor = op.evaluate("[...window.minetwin.replica.nodes.values()].find("
                                 "n => n.tags.includes('sensor') && n.props.get('quantity') === 'ch4'"
                                 " && String(n.props.get('roadway')).includes('11901')).id")
            op.evaluate("id => { window.minetwin.view.focus(id, 40); window.minetwin.inspector.select(id); }",
                        sensor)
            op.wait_for_function("document.querySelector('#inspect .chart')?.dataset.points || "
                                 "document.querySelector('#inspect .chart .none')")
            shot(op, "details")
            op.evaluate("window.minetwin.view.home()")
            shot(op, "alarms")
            geo = page("&hide=")
            shot(geo, "geology")
            geo.context.close()
            tiles = [page(f"&wall=wall-1&grid=2x1&tile={x},0", role="viewer") for x in (0, 1)]
            op.evaluate("window.minetwin.conn.command('camera_set', {group: 'wall-1', "
                        "...window.minetwin.view.cameraState(), "
                        "hidden: [...window.minetwin.view.hiddenLayers]})")
            for x, tile in enumerate(tiles):
                shot(tile, f"wall-{x}")
            from PIL import Image                    # the two screens side by side
            halves = [Image.open(out / f"wall-{x}.png") for x in (0, 1)]
            wall = Image.new("RGB", (halves[0].width * 2 + 8, halves[0].height), (0, 0, 0))
            for x, im in enumerate(halves):
                wall.paste(im, (x * (halves[0].width + 8), 0))
            wall.save(out / "wall.png")
            for tile in tiles:
                tile.context.close()
            ins = page("", role="instructor")
            opened = ins.evaluate("window.minetwin.conn.command('replay_open', {start_ms: 0})")
            if opened.get("ok"):
                ins.wait_for_selector("#replay .replay-seek")
                ins.evaluate("""() => { const s = document.querySelector('#replay .replay-seek');
                    s.value = (Number(s.min) + Number(s.max)) / 2; s.dispatchEvent(new Event('change')); }""")
            shot(ins, "replay")
        finally:
            from tests.viewer.conftest import stop_serve
            browser.close()
            stop_serve(proc)


if __name__ == "__main__":
    main()
