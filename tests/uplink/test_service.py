"""The uplink in the running twin: the demo mine live from the simulator exports its sets at
their cadences into an SFTP server and an HTTPS endpoint (both real, on 127.0.0.1); the
SFTP server goes down mid-run and gets every file once, in order, when it returns; backlog,
age and failures show in /api/uplink and /metrics; a file failing the self-check is held
back and never reaches either."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import urllib.request

import pytest

from tests.helpers import app_config, until
from tests.uplink.test_outbox import _Https, _Server
from minetwin.app import TwinApp


def _get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.read()


def test_the_running_twin_delivers_every_set_once_through_an_outage(demo_dir, tmp_path,
                                                                  monkeypatch):
    import uplink.files as uplink
    from live_bindings.upload_files import decode_upload
    real_check = uplink.self_check

    def check(ftype, name, data, *a):            # JZSS refused: it must never be sent
        return ["JZSS refused by the test"] if ftype == "JZSS" else real_check(ftype, name,
                                                                                data, *a)
    monkeypatch.setattr(uplink, "self_check", check)
    monkeypatch.setenv("CITY_TOKEN", "s3cret")
    remote = tmp_path / "remote"
    remote.mkdir()
    sftp, https = _Server(remote, tmp_path), _Https(tmp_path)
    (tmp_path / "dest.toml").write_text(
        f'[[destination]]\nname = "province"\nkind = "sftp"\nhost = "127.0.0.1"\n'
        f'port = {sftp.port}\nusername = "mine"\nclient_key = "{tmp_path / "client_key"}"\n'
        f'known_hosts = "{tmp_path / "known_hosts"}"\nremote_dir = "/"\n'
        f'connect_timeout_s = 3.0\n'
        f'[[destination]]\nname = "city"\nkind = "https"\n'
        f'url = "https://127.0.0.1:{https.port}/upload"\nca_file = "{tmp_path / "cert.pem"}"\n'
        f'token = "env:CITY_TOKEN"\n')
    config = app_config(demo_dir, tmp_path, sim={"rate": 60.0}, tick={"rate_hz": 20.0},
                        uplink={"enabled": True, "out": str(tmp_path / "out"),
                                "outbox": str(tmp_path / "outbox.sqlite"),
                                "destinations": str(tmp_path / "dest.toml"),
                                "send_every_s": 0.2})
    app = TwinApp(config, demo_dir, port=0)

    def cdss_at_province():
        return sum("_CDSS_" in n for n in sftp.completed)

    async def main():
        await sftp.start()
        await https.start()
        stop = asyncio.Event()
        run = asyncio.create_task(app.run(stop))
        await until(lambda: cdss_at_province() >= 2, "two real-time sets at the province")
        await sftp.stop()                                     # the province goes down
        before = cdss_at_province()
        await until(lambda: app.uplink.status()["destinations"]["province"]["backlog"] >= 8,
                    "a backlog for the province")
        down = app.uplink.status()
        loop = asyncio.get_running_loop()
        metrics = (await loop.run_in_executor(None, _get, app.server.port, "/metrics")).decode()
        await sftp.start()                                    # back

        async def drained_as_the_api_says():
            # (new sets keep coming: the simulator runs at 60x, so the API is asked until it
            # reports the backlog drained — what an operator would see — not the moment after)
            while True:
                api = json.loads(await loop.run_in_executor(None, _get, app.server.port,
                                                            "/api/uplink"))
                if api["destinations"]["province"]["backlog"] == 0 and \
                        cdss_at_province() >= before + 3:
                    return api
                await asyncio.sleep(0.05)
        try:
            api = await asyncio.wait_for(drained_as_the_api_says(), 120)
        except asyncio.TimeoutError:
            pytest.fail("gave up waiting for the backlog to drain")
        stop.set()
        await run
        await app.uplink.send()                               # whatever the last set queued
        await sftp.stop()
        await https.stop()
        return down, metrics, api

    try:
        down, metrics, status = asyncio.run(main())
    finally:
        app.close()
    out = tmp_path / "out"
    written = sorted((p for p in out.iterdir() if p.is_file()), key=lambda p: p.stat().st_mtime_ns)
    names = [p.name for p in written]
    assert not any(n.startswith(".") for n in names)                     # no .part left
    # both destinations: every written file exactly once, in the order it was queued
    db = sqlite3.connect(tmp_path / "outbox.sqlite")
    queued = {d: [n for (n,) in db.execute(
        "SELECT name FROM files WHERE destination=? ORDER BY seq", (d,))]
        for d in ("province", "city")}
    assert sorted(queued["province"]) == sorted(queued["city"]) == sorted(names)
    assert sftp.completed == queued["province"] and list(https.stored) == queued["city"]
    for n in names:
        data = (out / n).read_bytes()
        assert (remote / n).read_bytes() == data == https.stored[n]
        if "_WSDZ_" not in n:                       # (the gas-geology table is a CSV)
            assert not decode_upload(data, n).problems
    kinds = {n.split("_")[1] for n in names}
    # the sets, and the statistics and abnormal files when the simulated minutes brought any
    # (a TJSJ window closes every 5 simulated minutes: how many passed depends on the load)
    assert {"CDDY", "FZDY", "RYQY", "RYJZ", "RYXX", "CDSS", "FZSS", "RYSS", "WSDZ"} <= kinds
    assert kinds <= {"CDDY", "FZDY", "RYQY", "RYJZ", "RYXX", "CDSS", "FZSS", "RYSS", "WSDZ",
                     "TJSJ", "YCBJ", "RYCS", "RYCY", "RYXZ", "RYQJ"}
    assert sum("_WSDZ_" in n for n in names) == 1                       # at start, then daily
    assert sum("_CDDY_" in n for n in names) == 1                       # definitions: once
    held = [p.name for p in (out / "held").iterdir() if not p.name.endswith(".problems.txt")]
    assert held and all("_JZSS_" in n for n in held)
    assert not any("_JZSS_" in n for n in sftp.completed + list(https.stored))
    # the outage as the operators saw it
    p = down["destinations"]["province"]
    assert p["backlog"] >= 8 and p["last_error"] and p["oldest_undelivered_s"] is not None
    assert down["destinations"]["city"]["last_error"] is None
    assert 'minetwin_uplink_backlog{destination="province"}' in metrics
    assert 'minetwin_uplink_files_held_total' in metrics
    assert status["destinations"]["province"]["backlog"] == 0
    assert status["destinations"]["province"]["failed_attempts"] >= 1
    assert status["held"] >= 1 and status["types"][:2] == ["CDDY", "FZDY"]


def test_uplink_run_and_status_commands(demo_dir, tmp_path):
    import socket
    import subprocess
    import sys
    with socket.socket() as s:                       # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    (tmp_path / "dest.toml").write_text(
        f'[[destination]]\nname = "city"\nkind = "https"\n'
        f'url = "https://127.0.0.1:{closed}/upload"\ntimeout_s = 2.0\n')
    (tmp_path / "c.toml").write_text(
        f'[mine]\npath = "{demo_dir}"\n[assets]\npath = "assets"\n[alarms]\ndb = "a.sqlite"\n'
        f'[history]\ndb = "h.sqlite"\n[recording]\nenabled = false\n[geology]\nenabled = false\n'
        f'[sim]\nrate = 60.0\n[uplink]\nout = "out"\noutbox = "o.sqlite"\n'
        f'destinations = "dest.toml"\nsend_every_s = 0.5\n')
    r = subprocess.run([sys.executable, "-m", "minetwin.cli", "uplink", "run", "--config",
                        str(tmp_path / "c.toml"), "--port", "0", "--ticks", "80"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "uplink on: CDDY FZDY RYQY RYJZ RYXX CDSS FZSS JZSS RYSS" in r.stderr
    s = subprocess.run([sys.executable, "-m", "minetwin.cli", "uplink", "status", "--config",
                        str(tmp_path / "c.toml"), "--json"], capture_output=True, text=True,
                       timeout=60)
    assert s.returncode == 0, s.stderr
    st = json.loads(s.stdout)
    assert not st["enabled"] and st["held"] == 0          # (the file says off; run turned it on)
    assert st["files_in_out"] >= 9
    city = st["destinations"]["city"]
    assert city["backlog"] == st["files_in_out"] and city["delivered"] == 0
    assert "Connect" in city["head_error"] and city["failed_attempts"] >= 1
    text = subprocess.run([sys.executable, "-m", "minetwin.cli", "uplink", "status", "--config",
                           str(tmp_path / "c.toml")], capture_output=True, text=True, timeout=60)
    assert f"city: backlog {city['backlog']}" in text.stdout
