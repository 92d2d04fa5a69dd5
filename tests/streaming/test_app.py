"""The whole twin over the wire: the demo mine live from the simulator, a client's replica
equal to the authority, and an operator acknowledging a real alarm through the protocol."""

import asyncio

import pytest

from streaming.client import StreamClient
from twin.app import TwinApp
from twin.config import parse_config


def test_the_live_demo_mine_streams_and_alarms_can_be_acknowledged(demo_dir, tmp_path):
    (tmp_path / "drill.toml").write_text(
        '[[event]]\ntype = "gas_outburst"\nat = "00:00:20"\nplace = "face:11901"\n')
    config = parse_config({
        "mine": {"path": str(demo_dir)}, "assets": {"path": str(tmp_path / "assets")},
        "alarms": {"db": str(tmp_path / "alarms.sqlite")},
        "history": {"db": str(tmp_path / "history.sqlite")},
        "sim": {"rate": 60.0, "scenario": str(tmp_path / "drill.toml")},
        "tick": {"rate_hz": 20.0},
        "wire": {"transform_precision": "float64"}}, tmp_path / "c.toml")   # exact replicas
    app = TwinApp(config, demo_dir, port=0)

    async def main():
        stop = asyncio.Event()
        run = asyncio.create_task(app.run(stop))
        while app.server is None or app.server.port == 0:
            await asyncio.sleep(0.01)
        url = f"ws://127.0.0.1:{app.server.port}"
        viewer = StreamClient(url, "minetwin-viewer")
        operator = StreamClient(url, "minetwin-operator")
        client_stop = asyncio.Event()
        tasks = [asyncio.create_task(c.run(client_stop)) for c in (viewer, operator)]
        async def until(cond, what):
            async def poll():
                while not cond():
                    await asyncio.sleep(0.02)
            try:
                await asyncio.wait_for(poll(), 60)
            except asyncio.TimeoutError:
                pytest.fail(f"gave up waiting for {what}")
        await until(lambda: any(a.get("kind") == "power_off" for a in viewer.alarms.values()),
                    "the outburst's power-off alarm")
        alarm_id = next(a["id"] for a in viewer.alarms.values() if a["kind"] == "alarm")
        refused = await viewer.command("ack_alarm", alarm=alarm_id, comment="x")
        done = await operator.command("ack_alarm", alarm=alarm_id, comment="已通知撤人")
        await until(lambda: viewer.alarms[alarm_id].get("acked_by") == "operator",
                    "the acknowledgement to reach the viewer")
        stop.set()
        await run
        await until(lambda: viewer.revision == app.scene.revision, "the last diffs")
        client_stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return viewer, refused, done

    try:
        viewer, refused, done = asyncio.run(main())
    finally:
        app.close()
    assert not refused.ok and done.ok
    assert viewer.replica == app.scene
    assert viewer.replica.scene.property("sensor/002A02", "alarm_level") >= 2
    assert viewer.replica.scene.visual("sensor/002A02").color == 0xE74C3C
