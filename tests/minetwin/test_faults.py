"""Nothing lost, nothing false (#18): the twin against a real Mosquitto, real files and a real
crash. Each test reproduces a case that lost or falsified data before its fix."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from live_bindings import SENSOR_COLORS
from minetwin.app import TwinApp
from tests.conftest import _free_port, _wait_for_port
from tests.helpers import app_config, start_app, until

TOPIC = "minetwin/520522000001/obs/test"


def now_ms() -> int:
    return int(time.time() * 1000)


def reading(key: str, value, t: int | None = None, **more) -> dict:
    return {"kind": "point", "key": key, "time_ms": now_ms() if t is None else t,
            "value": value, **more}


async def publish(port: int, *messages) -> None:
    import aiomqtt
    async with aiomqtt.Client("127.0.0.1", port) as pub:
        for m in messages:
            await pub.publish(TOPIC, m if isinstance(m, bytes) else json.dumps(m), qos=1)


def mqtt_app(demo_dir, tmp_path, broker, **sections):
    feeds = {"mqtt_host": "127.0.0.1", "mqtt_port": broker.port,
             "mqtt_client_id": f"test-{tmp_path.name}", **sections.pop("feeds", {})}
    config = app_config(demo_dir, tmp_path, sim={"enabled": False}, feeds=feeds, **sections)
    return TwinApp(config, demo_dir, port=0)


async def http_get(app, path: str) -> tuple[int, bytes]:
    def get():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{app.server.port}{path}") as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
    return await asyncio.to_thread(get)


@pytest.fixture(autouse=True)
def _close_apps():
    yield
    while _OPEN:
        _OPEN.pop().close()


_OPEN: list = []


def run_app(app, body):
    """Run ``app`` until ``await body()`` returns (its result); the app is closed after the
    test, so its books can still be read."""
    _OPEN.append(app)

    async def main():
        stop = asyncio.Event()
        task, _ = await start_app(app, stop)
        try:
            await asyncio.wait_for(app.feeds[0].connected.wait(), 60) if app.feeds else None
            return await body()
        finally:
            stop.set()
            await task
    return asyncio.run(main())


def test_a_refused_reading_reaches_neither_the_scene_nor_the_rules_nor_the_history(
        demo_dir, tmp_path, mqtt_broker):
    """#18.2–4. Before: CH4 9.5 on a 0–4 % sensor raised a power-off alarm and was stored
    (the scene alone refused it); O2 −3 % raised an O2 alarm; an unknown point was stored; a
    reading dated 2099 was accepted; a state of 2**70 aborted the whole tick's feed step."""
    app = mqtt_app(demo_dir, tmp_path, mqtt_broker)
    t = now_ms()
    bad = [reading("002A03", 9.5, t), reading("002A09", -3.0, t), reading("999X99", 0.2, t),
           reading("002A01", 0.5, 4_102_444_800_000), reading("002A02", 0.4, t, state=2**70),
           reading("002A04", 0.1, 2**70)]
    good = [reading("002A01", 0.31, t), reading("002A05", 3.0, t)]

    async def body():
        await publish(mqtt_broker.port, bad[:3] + good[:1] + bad[3:] + good[1:])
        await until(lambda: app.observations == 8, "the message's eight readings")
        await until(lambda: app.scene.revision > 1 and app.gate.refused_total() == 6,
                    "the tick that judged them")
        later = reading("002A01", 0.33, t + 1000)
        await publish(mqtt_broker.port, later)
        await until(lambda: len(app.history.query("002A01", 0, 2**62)) == 2, "the next reading")
        return (await http_get(app, "/metrics"))[1].decode()
    metrics = run_app(app, body)
    assert [s.value for s in app.history.query("002A01", 0, 2**62)] == [0.31, 0.33]
    assert [s.value for s in app.history.query("002A05", 0, 2**62)] == [3.0]
    # (the derived series — headcounts, risk levels — aside)
    assert {k for k in app.history.series()
            if not k.startswith(("headcount/", "risk/"))} == {"002A01", "002A05"}
    assert app.alarms.history(0) == []                 # no alarm from a refused reading
    assert app.scene.property("sensor/002A03", "ch4") is None
    assert app.scene.visual("sensor/002A01").color == SENSOR_COLORS["normal"]
    assert app.stage_errors == {}
    for reason, n in (("outside the sensor's range", 2), ("unknown point", 1),
                      ("in the future", 2), ("bad state", 1)):
        assert f'minetwin_observations_refused_total{{reason="{reason}",source="mqtt"}} ' \
               f'{n}.0' in metrics
    kept = [json.loads(line) for line in (tmp_path / "var" / "refused.jsonl").read_text()
            .splitlines()]
    assert sorted((k["key"], k["reason"]) for k in kept) == sorted([
        ("002A03", "outside the sensor's range"), ("002A09", "outside the sensor's range"),
        ("999X99", "unknown point"), ("002A01", "in the future"), ("002A02", "bad state"),
        ("002A04", "in the future")])


def test_a_point_a_table_rule_holds_in_alarm_is_never_shown_green(demo_dir, tmp_path,
                                                                   mqtt_broker):
    """#18.7 — 002A08 (air velocity) has no CDDY thresholds; the rule table limits it to
    0.25–4 m/s. Before: it alarmed at 4.5 m/s and stayed green on the screen."""
    app = mqtt_app(demo_dir, tmp_path, mqtt_broker)

    async def body():
        await publish(mqtt_broker.port, reading("002A08", 4.5))
        await until(lambda: any(a.point == "002A08" for a in app.alarms.listing()),
                    "the velocity alarm")
        await until(lambda: app.scene.property("sensor/002A08", "air_velocity") == 4.5,
                    "the value on the node")
    run_app(app, body)
    assert app.scene.visual("sensor/002A08").color == SENSOR_COLORS["alarm"]
    assert app.scene.visual("sensor/002A08").label == "002A08 风速 4.50 m/s"


def test_a_dead_task_is_restarted_counted_and_turns_healthz_red(demo_dir, tmp_path):
    """#18.2 — no task may end without the server saying so."""
    app = TwinApp(app_config(demo_dir, tmp_path, sim={"enabled": False}), demo_dir, port=0)
    runs = []

    async def flaky():
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("the feed's socket went away in an unexpected way")
        await app.supervisor.stop.wait()

    async def body():
        assert await http_get(app, "/healthz") == (200, b"ok\n")
        app.supervisor.first_s = 0.05
        app.supervisor.start("probe", flaky)
        await until(lambda: len(runs) == 2, "the restart")
        status, text = await http_get(app, "/healthz")
        metrics = (await http_get(app, "/metrics"))[1].decode()
        return status, text.decode(), metrics
    status, text, metrics = run_app(app, body)
    assert status == 503
    assert "task probe failed" in text and "the feed's socket went away" in text
    assert 'minetwin_task_restarts_total{task="probe"} 1.0' in metrics
    assert "minetwin_healthy 0.0" in metrics


def test_backdated_readings_raise_no_stale_alarm_and_no_clear_precedes_its_raise(
        demo_dir, tmp_path, mqtt_broker):
    """#18.4 — readings 3 h old but arriving steadily are not stale. Before: a stale alarm was
    raised on the wall clock every tick and cleared by the next (older) reading: thousands of
    records, each cleared before it was raised."""
    app = mqtt_app(demo_dir, tmp_path, mqtt_broker, rules={"stale_after_s": 2.0})
    base = now_ms() - 3 * 3_600_000
    sent = []

    async def body():
        start = time.monotonic()
        while time.monotonic() - start < 5.0:           # five seconds of a steady late feed
            t = base + int((time.monotonic() - start) * 1000)
            sent.append(t)
            await publish(mqtt_broker.port, reading("002A01", 0.3, t))
            await asyncio.sleep(0.25)
        await until(lambda: app.history.query("002A01", 0, 2**62)[-1:] and
                    app.history.query("002A01", 0, 2**62)[-1].t == sent[-1], "the last reading")
        steady = app.alarms.history(0)
        # then the feed goes quiet: on the point's own clock it is stale 2 s after its last
        await until(lambda: any(a.rule.endswith("/stale") for a in app.alarms.listing()),
                    "the stale alarm")
        await publish(mqtt_broker.port, reading("002A01", 0.3, sent[-1] + 500))   # a late one
        await until(lambda: all(a.cleared_ms is not None for a in app.alarms.history(0)),
                    "the clear")
        return steady
    steady = run_app(app, body)
    assert steady == []
    (stale,) = app.alarms.history(0)
    assert stale.raised_ms == sent[-1] + 2001          # dated on the data clock
    assert stale.cleared_ms >= stale.raised_ms


# ---------------------------------------------------------------------------- a real crash

def _serve(config, log):
    return subprocess.Popen([sys.executable, "-m", "minetwin.cli", "serve", "--config",
                             str(config)], stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _alarms(port: int) -> list[dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/alarms", timeout=30) as r:
        return json.loads(r.read())["alarms"]


def _wait_subscribed(port: int, proc) -> None:
    """Until the twin says its MQTT feed is connected and subscribed (what is published
    before a first subscription is for nobody)."""
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, "the twin exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
                text = r.read().decode()
            if any(line.startswith("minetwin_feed_connected{") and line.endswith(" 1.0")
                   for line in text.splitlines()):
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, "gave up waiting for the MQTT subscription"
        time.sleep(0.05)


def test_after_a_crash_the_alarms_follow_the_readings(demo_dir, tmp_path, mqtt_broker):
    """#18.6 — a CH4 alarm and power-off raised just before a SIGKILL stayed active after the
    restart although the point read 0.32 %: the rules started blank. Now they start from the
    alarm book and the newest readings, and the readings clear what no longer holds."""
    port = _free_port()
    config = tmp_path / "c.toml"
    config.write_text(f"""
[mine]
path = {json.dumps(str(demo_dir))}
[assets]
path = {json.dumps(str(tmp_path / "assets"))}
[server]
port = {port}
audit_log = {json.dumps(str(tmp_path / "audit.jsonl"))}
[sim]
enabled = false
[feeds]
mqtt_host = "127.0.0.1"
mqtt_port = {mqtt_broker.port}
[rules]
clear_hold_s = 1.0
[alarms]
db = {json.dumps(str(tmp_path / "alarms.sqlite"))}
[history]
db = {json.dumps(str(tmp_path / "history.sqlite"))}
[recording]
enabled = false
[geology]
enabled = false
[snapshots]
enabled = false
""")
    log = open(tmp_path / "serve.log", "ab")
    proc = _serve(config, log)
    try:
        _wait_for_port(port, proc, "minetwin serve", timeout_s=120)
        _wait_subscribed(port, proc)
        asyncio.run(publish(mqtt_broker.port, reading("002A01", 2.0)))
        deadline = time.monotonic() + 120
        while {a["kind"] for a in _alarms(port)} != {"alarm", "power_off"}:
            assert time.monotonic() < deadline, "gave up waiting for the alarm and power-off"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        proc = _serve(config, log)
        _wait_for_port(port, proc, "minetwin serve again", timeout_s=120)
        _wait_subscribed(port, proc)
        assert {a["kind"] for a in _alarms(port) if a["cleared_ms"] is None} == \
            {"alarm", "power_off"}                 # still standing: nothing says otherwise yet
        deadline = time.monotonic() + 120
        while any(a["cleared_ms"] is None for a in _alarms(port)):
            assert time.monotonic() < deadline, "gave up waiting for the readings to clear them"
            asyncio.run(publish(mqtt_broker.port, reading("002A01", 0.32)))
            time.sleep(0.2)
        alarms = _alarms(port)                     # cleared, still listed until acknowledged
        assert sorted(a["kind"] for a in alarms) == ["alarm", "power_off"]
        assert all(a["cleared_ms"] >= a["raised_ms"] for a in alarms)
    finally:
        proc.kill()
        proc.wait(30)
        log.close()


def test_a_big_upload_file_is_parsed_off_the_loop_and_fed_over_many_ticks(demo_dir, tmp_path):
    """#18.5 — a 50 MB file froze the server: scanned in the event loop, then fed to one tick.
    Now the scan runs in a worker thread and each tick takes at most ``max_per_tick``."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    tz = ZoneInfo("Asia/Shanghai")
    start = now_ms() - 10 * 3_600_000
    points = [f"002A0{i}" for i in range(1, 5)] + ["002A05", "002A06"]
    rows = []
    for k in range(5000):
        ts = datetime.fromtimestamp((start + k * 1000) / 1000, tz).strftime("%Y-%m-%d %H:%M:%S")
        rows += [f"{p};x;x;0.{k % 50:02d};%;0;{ts}~" for p in points]
    header = datetime.fromtimestamp(start / 1000 + 5000, tz)
    name = f"520522000001_CDSS_{header:%Y%m%d%H%M%S}.txt"
    data = f"520522000001;矿;{header:%Y-%m-%d %H:%M:%S}~{''.join(rows)}||".encode()
    config = app_config(demo_dir, tmp_path, sim={"enabled": False},
                        feeds={"max_per_tick": 1000},
                        ingest={"inbox": str(inbox), "scan_every_s": 0.2})
    app = TwinApp(config, demo_dir, port=0)
    drained = []
    real_drain = app.queue.drain

    def drain(max_items=None):
        got = real_drain(max_items)
        drained.append(len(got))
        return got
    app.queue.drain = drain

    async def body():
        (inbox / f".{name}.part").write_bytes(data)
        (inbox / f".{name}.part").rename(inbox / name)
        await until(lambda: app.observations == 30_000, "the file's 30 000 readings")
        await until(lambda: len(app.history.query("002A01", 0, 2**62, 10**6)) == 5000,
                    "them in the history")
    run_app(app, body)
    assert max(drained) <= 1000 and sum(1 for n in drained if n) >= 30
    assert (inbox / "processed" / name).exists()
    assert app.watcher is not None and app.watcher.counts["accepted"] == 1


FUZZ = ["0", "-1", "1", "x", "", "1e3", "1.5", " 5", "9" * 19, "9" * 20, "9" * 400, "NaN",
        "-9223372036854775809", "0x10", "%00", "１２"]


def test_every_http_parameter_answers_200_400_or_404_in_json_never_500(demo_dir, tmp_path):
    """#18.14 — ``max_points=0``, ``-1``, ``from > to`` or a 20-digit time answered 500 with a
    plain-text body; every parameter now gets a 400 with ``{"error": …}``."""
    app = TwinApp(app_config(demo_dir, tmp_path, sim={"enabled": False}), demo_dir, port=0)
    paths = []
    for v in FUZZ:
        paths += [f"/api/history/002A02?from={v}", f"/api/history/002A02?to={v}",
                  f"/api/history/002A02?max_points={v}", f"/api/alarms/history?since={v}",
                  f"/api/alarms/{v}/snapshot", f"/api/nodes/{v}", f"/api/history/{v}"]
    paths += ["/api/history/002A02?from=10&to=5", "/api/history/002A02?from=0&to=1&from=2"]

    async def body():
        from urllib.parse import quote
        return {p: await http_get(app, quote(p, safe="/?=&%")) for p in paths}
    got = run_app(app, body)
    for path, (status, text) in got.items():
        assert status in (200, 400, 404), (path, status, text)
        doc = json.loads(text)
        assert (status == 200) == ("error" not in doc), (path, status, doc)
    for bad in ("/api/history/002A02?max_points=0", "/api/history/002A02?max_points=-1",
                "/api/history/002A02?from=10&to=5", f"/api/history/002A02?to={'9' * 20}",
                f"/api/alarms/history?since={'9' * 20}"):
        assert got[bad][0] == 400, bad


def test_hostile_client_messages_close_with_1007_and_a_reason_never_1011(demo_dir, tmp_path):
    """#18.13 — ``{"t": ["auth"]}`` closed with 1011 and a traceback; command args nested ~1000
    deep closed with 1011, no result and no audit line."""
    import msgpack
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    from streaming.protocol import SUBPROTOCOL
    app = TwinApp(app_config(demo_dir, tmp_path, sim={"enabled": False}), demo_dir, port=0)
    deep = 0
    for _ in range(1000):
        deep = [deep]

    async def close_code(*frames) -> tuple[int, str]:
        url = f"ws://127.0.0.1:{app.server.port}"
        async with connect(url, subprotocols=[SUBPROTOCOL], max_size=None) as ws:
            await ws.recv()                                    # hello
            for f in frames:
                await ws.send(f)
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 60)
            except ConnectionClosed as exc:
                return exc.rcvd.code, exc.rcvd.reason

    async def body():
        auth = msgpack.packb({"t": "auth", "token": "minetwin-operator"})
        return [await close_code(msgpack.packb({"t": ["auth"]})),
                await close_code(msgpack.packb({"t": None})),
                await close_code(auth, msgpack.packb(
                    {"t": "command", "id": 1, "name": "ack_alarm", "args": {"a": deep}})),
                await close_code(auth, msgpack.packb(
                    {"t": "subscribe", "tags": [[["x"]]]}))]
    async def without_subprotocol():
        from websockets.exceptions import InvalidStatus
        try:
            async with connect(f"ws://127.0.0.1:{app.server.port}"):
                return None
        except InvalidStatus as exc:
            return exc.response.status_code

    async def both():
        return await body(), await without_subprotocol()
    codes, refused = run_app(app, both)
    assert refused == 400                          # as docs/protocol.md says: no WebSocket
    assert [c for c, _ in codes] == [1007, 1007, 1007, 1007]
    assert "unknown message type" in codes[0][1] and "nested deeper" in codes[2][1]


def test_a_paused_redis_never_slows_the_tick_or_direct_clients(demo_dir, tmp_path,
                                                              redis_server):
    """#18.9 — with Redis paused (SIGSTOP) the twin ran 194 of 280 ticks and direct clients
    saw a 6 s gap: the publisher called Redis inside the tick. Now it writes from a thread of
    its own; the tick and direct clients go on, and the entries follow when Redis is back."""
    from streaming.client import StreamClient
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    config = app_config(demo_dir, tmp_path, sim={"rate": 60.0},
                        gateway={"redis_url": url, "redis_timeout_s": 0.5})
    app = TwinApp(config, demo_dir, port=0)

    async def body():
        client = StreamClient(f"ws://127.0.0.1:{app.server.port}", "minetwin-viewer")
        cstop = asyncio.Event()
        ctask = asyncio.create_task(client.run(cstop))
        await until(lambda: client.revision and client.revision > 5, "the client")
        os.kill(redis_server.proc.pid, signal.SIGSTOP)
        try:
            paused_at = app.scene.revision
            await until(lambda: client.revision >= paused_at + 30,
                        "thirty revisions to a direct client while Redis is paused")
            ticks = app.loop.stats.ticks
            await until(lambda: app.loop.stats.ticks >= ticks + 20, "the tick going on")
        finally:
            os.kill(redis_server.proc.pid, signal.SIGCONT)
        await until(lambda: app.publisher.flush(1.0), "the buffered entries written")
        cstop.set()
        await ctask
        import redis
        r = redis.Redis(port=redis_server.port)
        last = r.xrevrange("minetwin:frames", count=1)[0][1]
        r.close()
        return int(last[b"r"])
    last_published = run_app(app, body)
    assert last_published >= app.scene.revision - 5        # nothing left behind in the buffer
    assert app.publisher.stats["dropped"] == 0


def test_what_one_client_puts_in_the_audit_trail_is_bounded(demo_dir, tmp_path):
    """#18.15 — command arguments were copied verbatim into the audit log (36 MB in 4 s from
    one viewer). Entries are now bounded, and so are one client's refused commands."""
    from streaming.client import StreamClient
    config = app_config(demo_dir, tmp_path, sim={"enabled": False},
                        server={"audit_log": str(tmp_path / "audit.jsonl"),
                                "max_messages_per_s": 10_000.0})
    app = TwinApp(config, demo_dir, port=0)
    comment = "长" * 100_000

    async def body():
        viewer = StreamClient(f"ws://127.0.0.1:{app.server.port}", "minetwin-viewer")
        op = StreamClient(f"ws://127.0.0.1:{app.server.port}", "minetwin-operator")
        cstop = asyncio.Event()
        tasks = [asyncio.create_task(c.run(cstop)) for c in (viewer, op)]
        await until(lambda: viewer.revision and op.revision, "the clients")
        start = time.monotonic()
        results = [await viewer.command("ack_alarm", alarm=1, comment=comment)
                   for _ in range(300)]
        took = time.monotonic() - start
        last = await op.command("ack_alarm", alarm=99999, comment="no such alarm")
        cstop.set()
        await asyncio.gather(*tasks)
        return results, last, took
    results, last, took = run_app(app, body)
    assert not any(r.ok for r in results) and not last.ok     # every one still answered
    lines = (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    # 120 a minute: the first 120 at once, then two a second for as long as it took
    assert 120 <= sum(e["role"] == "viewer" for e in entries) <= 121 + 2 * took
    assert max(len(line.encode()) for line in lines) < 8_000
    assert entries[0]["args"]["chars"] > 100_000
    assert entries[-1]["role"] == "operator"


def test_a_subscriber_gets_the_standing_alarms_and_resubscribes_cannot_flood(demo_dir, tmp_path):
    """Docs/#18.12 — active alarms were not sent on subscribe (a client had to know to fetch
    /api/alarms); one viewer re-sending ``subscribe`` 19 times a second cost the server a
    snapshot each time. Now subscribers get the standing alarms after their snapshot, and a
    client gets at most one snapshot a second (a quicker re-subscribe waits its turn)."""
    import msgpack
    from websockets.asyncio.client import connect

    from streaming.client import StreamClient
    from streaming.protocol import SUBPROTOCOL
    from twin import Observation
    app = TwinApp(app_config(demo_dir, tmp_path, sim={"enabled": False}), demo_dir, port=0)

    async def body():
        app.queue.put(Observation("test", "point", "002A01", now_ms(), 2.0))
        await until(lambda: len(app.alarms.listing()) == 2, "the alarm and power-off")
        late = StreamClient(f"ws://127.0.0.1:{app.server.port}", "minetwin-viewer")
        cstop = asyncio.Event()
        ctask = asyncio.create_task(late.run(cstop))
        await until(lambda: len(late.alarms) == 2, "the standing alarms, unasked")
        url = f"ws://127.0.0.1:{app.server.port}"
        snapshots = 0
        async with connect(url, subprotocols=[SUBPROTOCOL], max_size=None) as ws:
            await ws.recv()
            await ws.send(msgpack.packb({"t": "auth", "token": "minetwin-viewer"}))
            await ws.recv()
            start = time.monotonic()
            for _ in range(40):                      # 19 a second, under the rate limit
                await ws.send(msgpack.packb({"t": "subscribe", "resume_from": None}))
                await asyncio.sleep(1 / 19)
            took = time.monotonic() - start
            await asyncio.sleep(0)
            try:
                while True:
                    m = msgpack.unpackb(await asyncio.wait_for(ws.recv(), 3), raw=False)
                    snapshots += m["t"] == "snapshot"
            except asyncio.TimeoutError:
                pass
        cstop.set()
        await ctask
        return late, snapshots, took
    late, snapshots, took = run_app(app, body)
    assert sorted(a["kind"] for a in late.alarms.values()) == ["alarm", "power_off"]
    assert 2 <= snapshots <= 2 + took                   # one a second (and the last one)
    assert app.server.stats["subscribes_deferred"] >= 40 - snapshots
