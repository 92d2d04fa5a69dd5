"""The native wall client against the live twin: it follows its group's camera (set by an
operator), renders its tile of the shared view from its replica, and shows active alarms
as a banner; run offscreen so the test needs no display."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys

import numpy as np

from tests.helpers import app_config, run_with_client, until
from minetwin.app import TwinApp


def test_the_wall_client_follows_its_group_and_shows_alarms(demo_dir, tmp_path):
    """… and, with --risk (#22.3), the roadways in their area's risk colour with a legend."""
    (tmp_path / "drill.toml").write_text(
        '[[event]]\ntype = "gas_outburst"\nat = "00:00:10"\nplace = "face:11901"\n')
    config = app_config(demo_dir, tmp_path,
                        sim={"rate": 30.0, "scenario": str(tmp_path / "drill.toml")})
    app = TwinApp(config, demo_dir, port=0)
    shot = tmp_path / "tile.png"
    target = [float(v) for v in app.scene.world_position("equipment/shearer-11901")]
    position = [target[0] - 60.0, target[1] - 60.0, target[2] + 50.0]

    async def body(operator, url):
        await operator.connected.wait()
        r = await operator.command("camera_set", group="north", position=position,
                                   target=target, fov=40.0)
        assert r.ok, r.message
        await until(lambda: any(a.get("cleared_ms") is None and a.get("level", 0) >= 2
                                for a in operator.alarms.values()), "an alarm", timeout=60)
        await until(lambda: any(a.level >= 2 for a in app.risk.levels.values()),
                    "an area at orange or above (the outburst's alarms)", timeout=120)
        loop = asyncio.get_running_loop()
        run = await loop.run_in_executor(None, lambda: subprocess.run(
            [sys.executable, "-m", "minetwin.cli", "wall", "--server", url, "--group", "north",
             "--grid", "2x1", "--tile", "1,0", "--size", "320x240", "--offscreen",
             "--frames", "15", "--screenshot", str(shot), "--software", "--risk"],
            capture_output=True, text=True, timeout=240))
        return run, {k: ("blue", "yellow", "orange", "red")[a.level]
                     for k, a in app.risk.levels.items()}

    try:
        wall, levels = asyncio.run(run_with_client(app, "minetwin-operator", body))
    finally:
        app.close()
    assert wall.returncode == 0, wall.stderr[-3000:]
    summary = json.loads(wall.stdout.strip().splitlines()[-1])
    assert summary["frames"] == 15 and summary["revision"] > 0
    assert summary["camera"] == {"position": position, "target": target, "fov": 40.0}
    # the alarm in words, with its level, place, quantity and unit (#19.4)
    banner = summary["banner"]
    assert re.match(r"[23]级  \S", banner) and any(
        w in banner for w in ("%", "人", "SOS", "ppm", "m/s", "°C")), summary
    from PIL import Image
    img = np.asarray(Image.open(shot))
    assert img.shape == (240, 320, 3) and img[30:].std() > 5        # the mine under the banner
    top = img[:8].reshape(-1, 3).mean(axis=0)
    assert top[0] > 150 and top[2] < 100                             # the banner: red/orange
    # the risk map: every area's level as the twin judged it (a level may have moved on
    # while the tile started: all but one agree), and the legend's four colours in the corner
    shown = summary["risk"]
    assert set(shown) == set(levels) and any(v in ("orange", "red") for v in shown.values())
    assert sum(shown[k] == levels[k] for k in levels) >= len(levels) - 1
    corner = img[-50:, :30].astype(int).reshape(-1, 3)
    for rgb in ((0x2F, 0x80, 0xED), (0xF2, 0xC9, 0x4C), (0xF2, 0x99, 0x4A), (0xEB, 0x57, 0x57)):
        assert (np.abs(corner - rgb).sum(axis=1) < 30).sum() > 4, rgb

