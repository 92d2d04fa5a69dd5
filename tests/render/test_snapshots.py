"""Alarm snapshots: a raised alarm gets its picture from the worker process while the tick
keeps ticking; the picture is attached to the alarm record, reaches clients, and is served
over HTTP (framed on the alarm's node, a banner saying what)."""

from __future__ import annotations

import asyncio
import io
import os
import urllib.request

import numpy as np

from tests.helpers import app_config, run_with_client, until
from minetwin.app import TwinApp


def test_a_raised_alarm_gets_its_snapshot_without_stopping_the_tick(demo_dir, tmp_path):
    (tmp_path / "drill.toml").write_text(
        '[[event]]\ntype = "gas_outburst"\nat = "00:00:10"\nplace = "face:11901"\n')
    config = app_config(demo_dir, tmp_path,
                        sim={"rate": 30.0, "scenario": str(tmp_path / "drill.toml")},
                        snapshots={"folder": str(tmp_path / "snaps"), "width": 480,
                                   "height": 270, "software": True})
    app = TwinApp(config, demo_dir, port=0)
    seen = {}

    async def body(client, url):
        def watch():
            if app.snapshots.pending and "ticks_asked" not in seen:
                seen["ticks_asked"] = app.loop.stats.ticks
            done = [a for a in client.alarms.values() if a.get("snapshot")]
            if done and "ticks_done" not in seen:
                seen["ticks_done"] = app.loop.stats.ticks
            return bool(done)
        await until(watch, "an alarm with its snapshot", timeout=120)
        alarm = next(a for a in client.alarms.values() if a.get("snapshot"))
        loop = asyncio.get_running_loop()
        png = await loop.run_in_executor(None, lambda: urllib.request.urlopen(
            f"http://127.0.0.1:{app.server.port}/api/alarms/{alarm['id']}/snapshot",
            timeout=10).read())
        metrics = await loop.run_in_executor(None, lambda: urllib.request.urlopen(
            f"http://127.0.0.1:{app.server.port}/metrics", timeout=10).read().decode())
        assert "minetwin_snapshots_done_total" in metrics
        return alarm, png

    try:
        alarm, png = asyncio.run(run_with_client(app, "minetwin-viewer", body))
        worker_pid = app.snapshots.proc.pid
        stats = dict(app.snapshots.stats)
    finally:
        app.close()
    assert worker_pid != os.getpid()                       # rendered in the worker process
    assert seen["ticks_done"] > seen["ticks_asked"]        # the tick went on meanwhile
    assert alarm["snapshot"] == f"alarm-{alarm['id']}.png" and stats["done"] >= 1
    assert (tmp_path / "snaps" / alarm["snapshot"]).read_bytes() == png
    from PIL import Image
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert img.shape == (270, 480, 3) and img[40:].std() > 5
    assert img[:6].reshape(-1, 3).mean(axis=0)[0] > 180                # the red banner
    from safety import AlarmBook
    book = AlarmBook(app.model, path=tmp_path / "alarms.sqlite")       # kept in the record
    assert book.get(alarm["id"]).snapshot == alarm["snapshot"]


def test_a_dead_worker_is_replaced_and_the_twin_goes_on(demo_dir, tmp_path):
    (tmp_path / "drill.toml").write_text(
        '[[event]]\ntype = "gas_outburst"\nat = "00:00:20"\nplace = "face:11901"\n')
    config = app_config(demo_dir, tmp_path,
                        sim={"rate": 30.0, "scenario": str(tmp_path / "drill.toml")},
                        snapshots={"width": 320, "height": 180, "software": True})
    app = TwinApp(config, demo_dir, port=0)
    first = app.snapshots.proc
    first.kill()                                     # a crash in the renderer
    first.join(10)

    async def body(client, url):
        await until(lambda: any(a.get("snapshot") for a in client.alarms.values()),
                    "a snapshot from the new worker", timeout=120)

    try:
        asyncio.run(run_with_client(app, "minetwin-viewer", body))
        stats, proc = dict(app.snapshots.stats), app.snapshots.proc
    finally:
        app.close()
    assert stats["restarts"] == 1 and proc is not first and stats["done"] >= 1
