"""The whole twin over the wire: the demo mine live from the simulator, a client's replica
equal to the authority, and an operator acknowledging a real alarm through the protocol."""

import asyncio

import numpy as np
from streaming.client import StreamClient
from tests.helpers import start_app, until
from minetwin.app import TwinApp
from minetwin.config import parse_config


def test_the_live_demo_mine_streams_and_alarms_can_be_acknowledged(demo_dir, tmp_path):
    (tmp_path / "drill.toml").write_text(
        '[[event]]\ntype = "gas_outburst"\nat = "00:00:20"\nplace = "face:11901"\n')
    config = parse_config({
        "mine": {"path": str(demo_dir)}, "assets": {"path": str(tmp_path / "assets")},
        "alarms": {"db": str(tmp_path / "alarms.sqlite")},
        "history": {"db": str(tmp_path / "history.sqlite")},
        "sim": {"rate": 60.0, "scenario": str(tmp_path / "drill.toml")},
        "tick": {"rate_hz": 20.0}, "recording": {"folder": str(tmp_path / "rec")},
        "server": {"audit_log": str(tmp_path / "audit.jsonl")},
        "wire": {"transform_precision": "float64"}}, tmp_path / "c.toml")   # exact replicas
    app = TwinApp(config, demo_dir, port=0)

    async def main():
        stop = asyncio.Event()
        run, url = await start_app(app, stop)
        viewer = StreamClient(url, "minetwin-viewer")
        operator = StreamClient(url, "minetwin-operator")
        client_stop = asyncio.Event()
        tasks = [asyncio.create_task(c.run(client_stop)) for c in (viewer, operator)]
        await until(lambda: any(a.get("kind") == "power_off" for a in viewer.alarms.values()),
                    "the outburst's power-off alarm")
        alarm_id = next(a["id"] for a in viewer.alarms.values() if a["kind"] == "alarm")
        refused = await viewer.command("ack_alarm", alarm=alarm_id, comment="x")
        done = await operator.command("ack_alarm", alarm=alarm_id, comment="已通知撤人")
        await until(lambda: viewer.alarms[alarm_id].get("acked_by") == "值班调度员(演示)",
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
    import json
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(a["role"], a["command"], a["ok"]) for a in audit] == [
        ("viewer", "ack_alarm", False), ("operator", "ack_alarm", True)]
    assert audit[1]["args"]["comment"] == "已通知撤人"
    assert viewer.replica.scene.property("sensor/002A02", "alarm_level") >= 2
    assert viewer.replica.scene.visual("sensor/002A02").color == 0xE74C3C


def test_http_on_the_same_port(demo_dir, tmp_path):
    import json
    import urllib.error
    import urllib.request

    config = parse_config({
        "mine": {"path": str(demo_dir)}, "assets": {"path": str(tmp_path / "assets")},
        "alarms": {"db": str(tmp_path / "alarms.sqlite")},
        "history": {"db": str(tmp_path / "history.sqlite")}, "sim": {"rate": 30.0},
        "recording": {"folder": str(tmp_path / "rec")},
        "server": {"viewer_dir": str(tmp_path / "dist"), "compression": True}},
        tmp_path / "c.toml")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<!doctype html><div id=viewer></div>")
    (tmp_path / "dist" / "app.js").write_text("console.log(1)")
    app = TwinApp(config, demo_dir, port=0)

    def get(path, headers=None):
        req = urllib.request.Request(f"http://127.0.0.1:{app.server.port}{path}",
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    async def main():
        stop = asyncio.Event()
        run, _ = await start_app(app, stop)
        await until(lambda: app.history.query("002A02", 0, 2**62, 10), "002A02's history")
        # #22: the forecasts made on the geology's thread, judged in the tick
        await until(lambda: app._forecasts and app.risk.levels, "the first risk levels")
        loop = asyncio.get_running_loop()
        results = {}
        asset = app.scene.node("roadway/11901-return").mesh.asset
        for path, hdrs in (("/healthz", None), ("/api/mine", None), ("/api/plan", None),
                           ("/api/quantities", None),
                           ("/api/nodes/sensor/002A02", None), ("/api/nodes/nope", None),
                           (f"/assets/{asset}", None),
                           (f"/assets/{asset}", {"If-None-Match": f'"{asset}"'}),
                           ("/assets/" + "0" * 64, None),
                           ("/api/history/002A02?from=0&max_points=10", None),
                           ("/api/history/002A02?from=x", None),
                           ("/api/alarms", None), ("/metrics", None), ("/nowhere", None),
                           ("/api/recordings", None), ("/api/risk", None),
                           ("/", None), ("/app.js", None),
                           ("/../config.toml", None)):
            results[(path, bool(hdrs))] = await loop.run_in_executor(None, get, path, hdrs)
        stop.set()
        await run
        return results

    try:
        r = asyncio.run(main())
    finally:
        app.close()
    assert r[("/healthz", False)][:1] == (200,)
    mine = json.loads(r[("/api/mine", False)][2])
    assert mine["code"] == "520522000001" and mine["summary"]["roadways"] == len(app.model.roadways)
    # the plan (#19.7): every roadway's centerline with its name, the workings where they are now
    plan = json.loads(r[("/api/plan", False)][2])
    assert len(plan["roadways"]) == len(app.model.roadways) and all(len(x["points"]) >= 2 for x in plan["roadways"])
    road = next(x for x in plan["roadways"] if x["id"] == "11901-return")
    assert road["name"] == "11901回风巷" and road["node"] == "roadway/11901-return"
    assert np.allclose(road["points"][0], app.model.roadways["11901-return"].centerline[0], atol=0.1)
    face = next(w for w in plan["workings"] if w["node"] == "face/11901")
    assert face["kind"] == "face" and len(face["line"]) == 2 and face["advanced_m"] > 0
    assert {a["code"] for a in plan["areas"]} == set(app.model.areas)
    assert face["area"] == app.model.working_area("11901")
    # #20.3 the code table, for the viewer's names and a switch's states
    qt = json.loads(r[("/api/quantities", False)][2])
    assert qt["no2"]["codes"] == ["0041"] and qt["no2"]["unit"] == "ppm"
    assert qt["air_door"]["states"] == ["关", "开"] and qt["air_door"]["states_en"][1] == "open"
    assert qt["ch4"]["codes"] == ["0001", "0011", "0043"] and qt["ch4"]["en"] == "CH4"
    node = json.loads(r[("/api/nodes/sensor/002A02", False)][2])
    assert node["properties"]["ch4_alarm_upper"] == {"value": 1.0, "unit": "%"}
    assert node["parent"] == "group/sensors"
    assert r[("/api/nodes/nope", False)][0] == 404
    # #22 the risk map's data: every area with a level and the facts behind it, the forecasts
    risk = json.loads(r[("/api/risk", False)][2])
    assert {a["area"] for a in risk["levels"]} == set(app.model.areas)
    assert all(a["level"] in ("blue", "yellow", "orange", "red") and
               (a["level"] == "blue") == (not a["reasons"]) for a in risk["levels"])
    assert {f["working"] for f in risk["forecasts"]} == \
        {f"face:{k}" for k in app.model.longwalls} | {f"heading:{k}" for k in app.model.headings}
    assert any(a["kind"] == "fault" and a["name"] == "F1" for f in risk["forecasts"]
               for a in f["ahead"])
    assert risk["register"]["derived"] and len(risk["legend"]) == 4
    asset = app.scene.node("roadway/11901-return").mesh.asset
    status, headers, body = r[(f"/assets/{asset}", False)]
    assert status == 200 and body[:4] == b"glTF" and headers["ETag"] == f'"{asset}"'
    assert "immutable" in headers["Cache-Control"]
    assert r[(f"/assets/{asset}", True)][0] == 304
    assert r[("/assets/" + "0" * 64, False)][0] == 404
    hist = json.loads(r[("/api/history/002A02?from=0&max_points=10", False)][2])
    assert hist["series"] == "002A02" and 0 < len(hist["points"]) <= 10
    assert r[("/api/history/002A02?from=x", False)][0] == 400
    assert "alarms" in json.loads(r[("/api/alarms", False)][2])
    metrics = r[("/metrics", False)][2].decode()
    assert "minetwin_ticks_total" in metrics and "minetwin_clients" in metrics
    assert r[("/nowhere", False)][0] == 404
    status, headers, body = r[("/", False)]
    assert status == 200 and b"<div id=viewer>" in body and headers["Content-Type"].startswith(
        "text/html")
    assert r[("/app.js", False)][1]["Content-Type"] == "text/javascript"
    assert r[("/../config.toml", False)][0] == 404
    (seg,) = json.loads(r[("/api/recordings", False)][2])["recordings"]
    assert seg["name"].startswith("minetwin-") and seg["bytes"] > 0
    # Everything streamed was recorded: the last state replays from the file.
    from streaming.recording import Recording
    rec = Recording(tmp_path / "rec")
    assert rec.state_at(app.scene.time_ms).scene.snapshot() == app.scene.snapshot()
