"""Hidden dangers end to end through the protocol (#22.4): reported from the viewer's place and
from an alarm, moved through every step by named people over real sockets, refusals by role,
person and state answered with reasons and audited, every client told of each change, the
item's area risk raised while it is open, its photo and the list served over HTTP with the
CSV / XLSX export."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import urllib.request

from streaming.client import StreamClient
from tests.helpers import app_config, start_app, until
from minetwin.app import TwinApp

PEOPLE = {"viewer": ("tok-wang", "王五"), "operator": ("tok-li", "李四"),
          "admin": ("tok-zhang", "张三")}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _tokens():
    entries = [f"{role}:{hashlib.sha256(t.encode()).hexdigest()}:{who}"
               for role, (t, who) in PEOPLE.items()]
    entries.append(f"operator:{hashlib.sha256(b'tok-shared').hexdigest()}")   # names no one
    return ",".join(entries)


def test_the_hidden_danger_loop_through_the_protocol(demo_dir, tmp_path):
    config = app_config(demo_dir, tmp_path, server={"tokens": _tokens()},
                        tick={"rate_hz": 20.0})
    app = TwinApp(config, demo_dir, simulate=False, port=0)
    area = next(iter(app.model.areas))
    node = next(f"sensor/{c}" for c, s in app.model.sensors.items()
                if app.risk.area_of_place(f"sensor/{c}") == area)

    def get(path):
        with urllib.request.urlopen(f"http://127.0.0.1:{app.server.port}{path}", timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read()

    async def main():
        stop = asyncio.Event()
        run, url = await start_app(app, stop)
        wang, li, zhang, shared = (StreamClient(url, t) for t in
                                   ("tok-wang", "tok-li", "tok-zhang", "tok-shared"))
        cstop = asyncio.Event()
        tasks = [asyncio.create_task(c.run(cstop)) for c in (wang, li, zhang, shared)]
        await until(lambda: all(c.revision is not None for c in (wang, li, zhang, shared)),
                    "four subscribed clients")
        out = {}
        out["report"] = await wang.command("danger_report", title="探头 吊挂过低", node=node,
                                           description="距顶板 0.5 m", hazard="gas",
                                           files=[{"name": "现场.png", "data": PNG}])
        hid = out["report"].data["danger"]["id"]
        out["viewer_assess"] = await wang.command("danger_assess", danger=hid, level="B")
        out["shared_assess"] = await shared.command("danger_assess", danger=hid, level="B")
        out["early_close"] = await li.command("danger_close", danger=hid)
        out["assess"] = await li.command("danger_assess", danger=hid, level="A")
        out["assign"] = await li.command("danger_assign", danger=hid, team="通风队",
                                         measures="重新吊挂", days=2)
        await until(lambda: app.risk.levels.get(area) is not None and any(
            r["fact"] == "danger" for r in app.risk.levels[area].reasons),
            "the open item in its area's risk")
        out["risk"] = app.risk.levels[area]
        out["rectify"] = await zhang.command("danger_rectify", danger=hid, comment="已调整",
                                             files=[{"name": "after.png", "data": PNG + b"1"}])
        out["self_verify"] = await zhang.command("danger_verify", danger=hid, passed=True)
        out["verify"] = await li.command("danger_verify", danger=hid, passed=True)
        out["close"] = await li.command("danger_close", danger=hid)
        await until(lambda: wang.dangers.get(hid, {}).get("state") == "closed",
                    "the closing to reach every client")
        await until(lambda: not any(r["fact"] == "danger"
                                    for r in app.risk.levels[area].reasons),
                    "the closed item to leave its area's risk")
        # a second item past its deadline: an alarm of kind danger, cleared by the rectification
        late = (await wang.command("danger_report", title="水仓清挖滞后", area=area)).data["danger"]["id"]
        await li.command("danger_assess", danger=late, level="major")
        await li.command("danger_assign", danger=late, team="机电队",
                         deadline_ms=app._clock_ms() + 1500)
        await until(lambda: any(a["kind"] == "danger" and a["cleared_ms"] is None
                                for a in wang.alarms.values()), "the overdue alarm")
        await until(lambda: wang.dangers.get(late, {}).get("overdue"), "the item marked overdue")
        out["overdue_alarm"] = next(a for a in wang.alarms.values() if a["kind"] == "danger")
        await until(lambda: app.risk.levels[area].level == 3, "a major one: the area red")
        await zhang.command("danger_rectify", danger=late, comment="已清挖")
        await until(lambda: all(a["cleared_ms"] is not None for a in wang.alarms.values()
                                if a["kind"] == "danger"), "the overdue alarm cleared")
        out["list"] = await wang.command("danger_list", state="closed")
        out["get"] = await wang.command("danger_get", danger=hid)
        loop = asyncio.get_running_loop()
        sha = out["get"].data["danger"]["files"][0]["sha256"]
        for path in ("/metrics", "/api/dangers", f"/api/dangers/{hid}", f"/api/dangers/{hid}/files/{sha}",
                     "/api/dangers/export.csv?state=closed", "/api/dangers/export.xlsx"):
            out[path] = await loop.run_in_executor(None, get, path)
        stop.set()
        await run
        cstop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return out

    try:
        out = asyncio.run(main())
    finally:
        app.close()
    assert out["report"].ok and out["report"].data["danger"]["area"] == area
    refusals = {k: out[k] for k in ("viewer_assess", "shared_assess", "early_close",
                                    "self_verify")}
    assert not any(r.ok for r in refusals.values())
    assert "roles operator, admin" in refusals["viewer_assess"].message
    assert "names no one" in refusals["shared_assess"].message
    assert "needs it verified" in refusals["early_close"].message
    assert "整改人不得验收" in refusals["self_verify"].message
    assert refusals["early_close"].data["message_zh"] == f"隐患 #{out['report'].data['danger']['id']} " \
        "当前待评估，销号须在待销号时进行"
    assert refusals["viewer_assess"].data["message_zh"].startswith("评估定级需要角色 operator, admin")
    for k in ("assess", "assign", "rectify", "verify", "close"):
        assert out[k].ok, (k, out[k].message)
    assert out["risk"].level >= 2            # grade A: orange
    assert out["overdue_alarm"]["level"] == 3 and out["overdue_alarm"]["text"]["zh"].endswith(
        "逾期未整改") and out["overdue_alarm"]["node"] == f"area/{area}"
    assert [d["id"] for d in out["list"].data["dangers"]] == [out["report"].data["danger"]["id"]]
    steps = out["get"].data["danger"]["steps"]
    assert [(s["step"], s["person"]) for s in steps] == [
        ("report", "王五"), ("assess", "李四"), ("assign", "李四"), ("rectify", "张三"),
        ("verify", "李四"), ("close", "李四")]
    assert len(out["get"].data["danger"]["files"]) == 2
    metrics = out["/metrics"][2].decode()
    assert 'minetwin_danger_steps_total{outcome="refused",step="assess"} 2.0' in metrics
    assert 'minetwin_danger_steps_total{outcome="invalid",step="close"} 1.0' in metrics
    assert 'minetwin_danger_steps_total{outcome="taken",step="close"} 1.0' in metrics
    assert "minetwin_dangers_open 1.0" in metrics and "minetwin_dangers_overdue 0.0" in metrics
    status, kind, body = out["/api/dangers"]
    listing = json.loads(body)
    assert status == 200 and [d["state"] for d in listing["dangers"]] == ["rectified", "closed"]
    assert {lv["id"] for lv in listing["levels"]} == {"major", "A", "B", "C"}
    assert out[f"/api/dangers/{out['report'].data['danger']['id']}"][0] == 200
    assert out[next(k for k in out if "/files/" in str(k))][1:] == ("image/png", PNG)
    csv_text = out["/api/dangers/export.csv?state=closed"][2].decode("utf-8-sig")
    assert "探头 吊挂过低" in csv_text and "已销号" in csv_text
    from openpyxl import load_workbook
    ws = load_workbook(io.BytesIO(out["/api/dangers/export.xlsx"][2])).active
    assert [row[1] for row in list(ws.values)[1:]] == ["水仓清挖滞后", "探头 吊挂过低"]
    # every command, refused ones included, is in the audit trail with its person
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    danger_cmds = [(a["command"], a["holder"], a["ok"]) for a in audit
                   if a["command"].startswith("danger_") and a["command"] not in
                   ("danger_list", "danger_get")]
    assert ("danger_assess", "王五", False) in danger_cmds
    assert ("danger_verify", "张三", False) in danger_cmds
    assert ("danger_close", "李四", True) in danger_cmds
    # the attachments' bytes: in the audit only as their size, never whole (a photo is large)
    assert all(len(json.dumps(a["args"], ensure_ascii=False, default=repr)) < 4000 for a in audit)
    # the same from the command line: the integrator's export, and dangers.toml checked
    import subprocess
    import sys
    (tmp_path / "cli.toml").write_text(f'[mine]\npath = "{demo_dir}"\n[dangers]\n'
                                       f'db = "{tmp_path / "dangers.sqlite"}"\n')
    r = subprocess.run([sys.executable, "-m", "minetwin.cli", "risk", "dangers", "--config",
                        str(tmp_path / "cli.toml"), "--format", "csv", "--state", "closed"],
                       capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "探头 吊挂过低" in r.stdout.decode("utf-8-sig")
    import shutil
    mine = tmp_path / "mine"
    shutil.copytree(demo_dir, mine)
    (mine / "dangers.toml").write_text('[steps]\nverify = ["nobody"]\n')
    r = subprocess.run([sys.executable, "-m", "minetwin.cli", "risk", "check", "--mine",
                        str(mine)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "steps.verify" in r.stderr
