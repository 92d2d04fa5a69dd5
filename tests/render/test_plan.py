"""#19.10 The mine in plan as a picture (``minetwin render --view overview``) and an area's
alarm picture: the mine fills the frame, north up, roadways drawn a few pixels wide in their
ventilation colour, everyone underground a dot, alarm states shown (a sensor in alarm, an SOS,
an area in alarm), the workings labelled, with a title, legend, north arrow and scale bar."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from render.plan import _nice_length, plan_hidden, plan_picture, plan_region, world_to_pixel
from render.renderer import PandaMirror, Renderer, node_picture

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
W, H = 1280, 720


@pytest.fixture(scope="module")
def drill(demo_dir, tmp_path_factory):
    """The demo mine with its geology (hazard zones), an hour into the day shift (five
    minutes simulated), and an alarm state on top: a CH4 point in alarm, a miner's SOS, an
    overcrowded area."""
    from live_bindings import DefaultBindings
    from minetwin.app import load_mine_scene
    from minetwin.config import parse_config
    from twin import Simulator, mine_plan
    tmp = tmp_path_factory.mktemp("plan")
    config = parse_config({"assets": {"path": str(tmp / "assets")}}, tmp / "c.toml")
    model, store, scene = load_mine_scene(config, demo_dir, geology=True)
    b = DefaultBindings(model, scene)
    scene.commit()
    b.apply(Simulator(model, seed=2, start=datetime(2026, 11, 2, 9, 0)).advance(300.0))
    under = [n for n in scene.tagged("person") if scene.visual(n).visible
             and scene.property(n, "underground", False)]
    assert len(under) > 20
    sensor = next(n for n in sorted(scene.tagged("sensor"))
                  if scene.property(n, "quantity", None) == "ch4")
    scene.set_visual(sensor, color=0xE74C3C, blink=2.0, label="T0 CH4 1.62 %")
    scene.set_property(sensor, "alarm_level", 3)
    sos = under[len(under) // 2]
    scene.set_property(sos, "sos", True)
    area = model.working_area("11901")
    scene.set_property(f"area/{area}", "alarm_level", 2)
    scene.commit()
    return SimpleNamespace(model=model, store=store, scene=scene, plan=mine_plan(model, scene),
                           sensor=sensor, sos=sos, under=under, area=area)


@pytest.fixture(scope="module")
def pictured(drill):
    r = Renderer((W, H))
    mirror = PandaMirror(drill.scene, r.render.attach_new_node("scene"), drill.store.path,
                         hide=plan_hidden)
    yield r, mirror
    r.close()


def _near(img, xy, colour, radius=6, tol=60) -> int:
    """Pixels within ``radius`` of ``xy`` that have ``colour`` (0xRRGGBB, within ``tol``)."""
    x, y = (int(round(v)) for v in xy)
    patch = img[max(0, y - radius):y + radius + 1, max(0, x - radius):x + radius + 1].astype(int)
    want = np.array([(colour >> 16) & 255, (colour >> 8) & 255, colour & 255])
    return int((np.abs(patch - want).sum(axis=2) < tol).sum())


def test_the_overview_is_the_mine_in_plan_with_people_alarms_and_a_legend(drill, pictured):
    r, mirror = pictured
    im = plan_picture(r, mirror, drill.plan, title=drill.model.mine.name,
                      subtitle="2026-11-02 09:10:00")
    info = im.info["plan"]
    ARTIFACTS.mkdir(exist_ok=True)
    im.save(ARTIFACTS / "render-overview.png")
    img = np.asarray(im)
    assert img.shape == (H, W, 3)
    at = lambda p: world_to_pixel(info, W, H, p[0], p[1])        # noqa: E731
    # the mine fills the map: its roadways span at least 85 % of the map's width or height
    lo, hi = plan_region(drill.plan)
    (x0, y1), (x1, y0) = at(lo), at(hi)
    title_h, legend_x = round(H * 0.075), W - round(W * 0.17)
    assert (x1 - x0) / legend_x >= 0.85 or (y1 - y0) / (H - title_h) >= 0.85, (x0, x1, y0, y1)
    assert x0 >= 0 and x1 <= legend_x and y0 >= title_h and y1 <= H
    # north up: a roadway running east is a horizontal row of pixels in its colour, drawn at
    # a legible width (3 px or more)
    road = max((rd for rd in drill.plan["roadways"] if rd["role"] == "return"),
               key=lambda rd: abs(rd["points"][-1][0] - rd["points"][0][0]))
    k = len(road["points"]) // 3                   # (its name is written at its middle)
    a, b = road["points"][k - 1:k + 1]
    mx, my = at(((a[0] + b[0]) / 2, (a[1] + b[1]) / 2))
    col = img[int(my) - 8:int(my) + 9, int(mx)].astype(int)
    want = np.array([(road["color"] >> 16) & 255, (road["color"] >> 8) & 255, road["color"] & 255])
    # (3 px of line over 4 rows when it falls between pixels: the edges half blended)
    full, half = (np.abs(col - want).sum(axis=1) < 60).sum(), \
        (np.abs(col - want).sum(axis=1) < 170).sum()
    assert full >= 2 and half >= 3, col
    assert info["line_px"] >= 3
    # everyone underground is a cyan dot; the SOS red; the sensor in alarm red
    assert info["people"] == len(drill.under)
    # (a dot may lie under a label — the labels are drawn over the dots — but most do not)
    calm = [n for n in drill.under
            if n != drill.sos and "person:leader" not in drill.scene.node(n).tags]
    cyan = [_near(img, at(drill.scene.world_position(n)), 0x22D3EE) > 0 for n in calm]
    assert sum(cyan) >= 0.6 * len(calm), (sum(cyan), len(calm))
    assert _near(img, at(drill.scene.world_position(drill.sos)), 0xFF3B30, radius=10) > 10
    assert _near(img, at(drill.scene.world_position(drill.sensor)), 0xE74C3C, radius=8) > 10
    assert info["alarms"] >= 2                                    # the sensor and the area
    # the area in alarm has a red halo along its roadways
    area = next(a for a in drill.plan["areas"] if a["code"] == drill.area)
    rd = next(x for x in drill.plan["roadways"] if x["id"] == area["roadways"][0])
    pts = np.asarray(rd["points"], float)
    along = [pts[int(f * (len(pts) - 1))] for f in (0.2, 0.35, 0.65, 0.8)]
    assert sum(_near(img, at(p), 0xE74C3C, radius=10, tol=150) > 10 for p in along) >= 3
    # the workings are labelled; labels were placed (and never overlap: placed boxes only)
    assert info["workings"] == len(drill.model.longwalls) + len(drill.model.headings)
    assert info["labels"] >= info["workings"]
    # title band, legend column (text on them), scale bar of a round length
    assert img[:title_h].std() > 10 and img[title_h:, legend_x + 5:].std() > 10
    metres = _nice_length(info["scale_px_per_m"], round(W * 0.17) * 0.84)
    assert metres in (100, 200, 500, 1000) and metres * info["scale_px_per_m"] > 60


def test_an_area_alarm_is_a_picture_of_the_area_not_a_black_frame(drill, pictured, tmp_path):
    r, mirror = pictured
    area = next(a for a in drill.plan["areas"] if a["code"] == drill.area)
    region = plan_region(drill.plan, set(area["roadways"]), 40.0)
    im = plan_picture(r, mirror, drill.plan, banner="11901工作面 超员 9/8 人", legend=False,
                      region=region, highlight_area=drill.area)
    im.save(ARTIFACTS / "render-area-alarm.png")
    img = np.asarray(im)
    title_h = round(H * 0.075)
    assert img[:title_h // 2].reshape(-1, 3).mean(axis=0)[0] > 150          # the red banner
    body = img[title_h:]
    lit = (np.abs(body.astype(int) - [13, 17, 23]).sum(axis=2) > 60).mean()
    assert lit > 0.01, lit                                    # roadways, halo, dots, labels
    # the area's roadways fill the frame: the region is as wide or as tall as the picture
    info = im.info["plan"]
    (x0, _), (x1, _) = (world_to_pixel(info, W, H, *region[0]),
                        world_to_pixel(info, W, H, *region[1]))
    assert x1 - x0 >= 0.85 * W or (region[1][1] - region[0][1]) * info["scale_px_per_m"] >= \
        0.85 * (H - title_h)
    # without a plan (the 3D picture) an area is framed on its roadways, not on the origin
    lo, hi = mirror.world_bounds(f"area/{drill.area}")
    assert np.linalg.norm(hi - lo) > 100
    pic = np.asarray(node_picture(r, mirror, f"area/{drill.area}", banner="x"))
    assert pic[title_h:].std() > 5


def test_the_snapshot_worker_pictures_an_area_alarm_in_plan(drill, tmp_path):
    from render import SnapshotWorker
    w = SnapshotWorker(drill.scene, drill.store.root, tmp_path / "snaps", size=(640, 360),
                       plan=drill.plan)
    try:
        w.ask(SimpleNamespace(id=7, node=f"area/{drill.area}"), 0, "超员 9/8 人")
        w.publish(drill.scene.commit())
        done, deadline = [], time.monotonic() + 180
        while not done and time.monotonic() < deadline:
            done = w.poll()
            time.sleep(0.05)
    finally:
        w.close()
    assert done and done[0][0] == 7 and done[0][2] is None, done
    from PIL import Image
    img = np.asarray(Image.open(tmp_path / "snaps" / done[0][1]).convert("RGB"))
    assert img.shape == (360, 640, 3)
    lit = (np.abs(img[40:].astype(int) - [13, 17, 23]).sum(axis=2) > 60).mean()
    assert lit > 0.01, lit


def test_render_overview_command(demo_dir, tmp_path):
    out = tmp_path / "plan.png"
    r = subprocess.run([sys.executable, "-m", "minetwin.cli", "render", "--mine", str(demo_dir),
                        "--view", "overview", "--out", str(out), "--size", "640x360",
                        "--seconds", "60", "--lang", "en"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1])["size"] == [640, 360]
    from PIL import Image
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (360, 640, 3) and img.std() > 10
