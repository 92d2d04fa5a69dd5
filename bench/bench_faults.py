"""Nothing lost, nothing false (issue #18), measured: a run of the real processes — Mosquitto,
Redis, `minetwin serve` and `minetwin gateway` — with a broker restart, a Redis restart, a
gateway SIGKILL and a twin SIGKILL spread over it, while a publisher sends readings over MQTT,
upload files land in the inbox, and two clients (one direct, one through the gateway) decode
and apply every frame they receive.

    .venv/bin/python bench/bench_faults.py [--minutes 10] [--rate 40]

Prints: readings sent, accepted by the broker (PUBACK) or by the inbox (file written),
stored in the history, lost (accepted but not stored: must be 0); whether the alarm state is
right after the twin's restart (a CH4 alarm raised before the SIGKILL is cleared by the
readings after it); per client its reconnects, resyncs (snapshots after the first: the
revision gaps it could not bridge with a diff) and seconds without frames.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MINE = "520522000001"
POINTS = ["002A01", "002A02", "002A03", "002A04", "002A05", "002A06", "001A01", "005A01"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


class Proc:
    def __init__(self, name, argv, log: Path, port: int | None = None):
        self.name, self.argv, self.log, self.port = name, argv, log, port
        self.p = None

    def start(self):
        self.p = subprocess.Popen(self.argv, stdout=open(self.log, "ab"),
                                  stderr=subprocess.STDOUT, cwd=ROOT)
        if self.port:
            wait_port(self.port)

    def stop(self, sig=signal.SIGTERM):
        if self.p and self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def metrics(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            return r.read().decode()
    except OSError:
        return ""


def subscribed(port: int) -> bool:
    return any(line.startswith("minetwin_feed_connected{") and line.endswith(" 1.0")
               for line in metrics(port).splitlines())


class Watcher:
    """A client that decodes and applies everything, and notes its gaps."""

    def __init__(self, name, url):
        from streaming.client import StreamClient
        self.name = name
        self.last_frame = None
        self.lost_s = 0.0
        self.reconnects = -1
        self.client = StreamClient(url, "minetwin-viewer", on_change=self._frame)

    def _frame(self, cs):
        now = time.monotonic()
        if self.last_frame is not None and now - self.last_frame > 1.0:
            self.lost_s += now - self.last_frame
        self.last_frame = now

    async def run(self, stop):
        async def count():
            was = False
            while not stop.is_set():
                c = self.client.connected.is_set()
                if c and not was:
                    self.reconnects += 1
                was = c
                await asyncio.sleep(0.05)
        await asyncio.gather(self.client.run(stop), count())


async def bench(minutes: float, rate: float, tmp: Path) -> dict:
    import aiomqtt
    from twin.demo.generator import generate_demo
    mine = generate_demo(tmp / "mine", 7)
    me = pwd.getpwuid(os.geteuid()).pw_name
    mq_port, redis_port, twin_port, gw_port = free_port(), free_port(), free_port(), free_port()
    (tmp / "mq").mkdir()
    (tmp / "mosquitto.conf").write_text(
        f"listener {mq_port} 127.0.0.1\nallow_anonymous true\nuser {me}\npersistence true\n"
        f"persistence_location {tmp / 'mq'}/\nmax_queued_messages 1000000\n"
        f"max_inflight_messages 10000\n")
    inbox = tmp / "inbox"
    config = tmp / "c.toml"
    config.write_text(f"""
[mine]
path = {json.dumps(str(mine))}
[assets]
path = {json.dumps(str(tmp / "assets"))}
[server]
port = {twin_port}
audit_log = {json.dumps(str(tmp / "audit.jsonl"))}
[sim]
enabled = false
[feeds]
mqtt_host = "127.0.0.1"
mqtt_port = {mq_port}
refused_log = {json.dumps(str(tmp / "refused.jsonl"))}
[ingest]
inbox = {json.dumps(str(inbox))}
scan_every_s = 0.5
[rules]
clear_hold_s = 1.0
[alarms]
db = {json.dumps(str(tmp / "alarms.sqlite"))}
[history]
db = {json.dumps(str(tmp / "history.sqlite"))}
[recording]
folder = {json.dumps(str(tmp / "rec"))}
[geology]
enabled = false
[snapshots]
enabled = false
[gateway]
redis_url = "redis://127.0.0.1:{redis_port}/0"
port = {gw_port}
snapshot_every_s = 10.0
""")
    py = sys.executable
    broker = Proc("mosquitto", ["mosquitto", "-c", str(tmp / "mosquitto.conf")], tmp / "mq.log",
                  mq_port)
    redis = Proc("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "no", "--dir", str(tmp)],
                 tmp / "redis.log", redis_port)
    twin = Proc("twin", [py, "-m", "minetwin.cli", "serve", "--config", str(config)],
                tmp / "twin.log", twin_port)
    gateway = Proc("gateway", [py, "-m", "minetwin.cli", "gateway", "--config", str(config)],
                   tmp / "gateway.log", gw_port)
    for p in (broker, redis, twin, gateway):
        p.start()
    while not subscribed(twin_port):
        await asyncio.sleep(0.05)

    stop = asyncio.Event()
    direct = Watcher("direct", f"ws://127.0.0.1:{twin_port}")
    via_gw = Watcher("gateway", f"ws://127.0.0.1:{gw_port}")
    clients = [asyncio.create_task(w.run(stop)) for w in (direct, via_gw)]
    accepted: set[tuple[str, int]] = set()
    refused_by_broker = 0
    sent = 0
    tz = ZoneInfo("Asia/Shanghai")
    seq = [0]

    def next_t() -> int:
        seq[0] += 1
        return int(time.time() * 1000) // 1000 * 1000 - 3_600_000 + seq[0]   # unique, past

    async def publisher():
        nonlocal refused_by_broker, sent
        while not stop.is_set():
            try:
                async with aiomqtt.Client("127.0.0.1", mq_port, timeout=5) as pub:
                    while not stop.is_set():
                        batch = [{"kind": "point", "key": p, "time_ms": next_t(),
                                  "value": 0.2 + (seq[0] % 7) / 100} for p in POINTS[:4]]
                        sent += len(batch)
                        try:
                            await pub.publish(f"minetwin/{MINE}/obs/bench", json.dumps(batch),
                                              qos=1, timeout=5)
                            accepted.update((o["key"], o["time_ms"]) for o in batch)
                        except aiomqtt.MqttError:
                            refused_by_broker += len(batch)
                            raise
                        await asyncio.sleep(1 / rate)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.5)

    async def files():
        nonlocal sent
        while not stop.is_set():
            rows, keys = [], []
            for p in POINTS[4:]:
                t = next_t() // 1000 * 1000 + 500      # whole seconds in files
                ts = datetime.fromtimestamp(t / 1000, tz).strftime("%Y-%m-%d %H:%M:%S")
                t = int(datetime.strptime(ts, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
                        .timestamp() * 1000)
                unit = "ppm" if p in ("002A05", "002A06") else "%"
                rows.append(f"{p};x;x;0.{len(keys) + 1};{unit};0;{ts}~")
                keys.append((p, t))
            now = datetime.now(tz)
            name = f"{MINE}_CDSS_{now:%Y%m%d%H%M%S}.txt"
            body = f"{MINE};矿;{now:%Y-%m-%d %H:%M:%S}~{''.join(rows)}||".encode()
            part = inbox / f".{name}.part"
            if not (inbox / name).exists():
                inbox.mkdir(exist_ok=True)
                part.write_bytes(body)
                part.rename(inbox / name)
                sent += len(keys)
                accepted.update(keys)
            await asyncio.sleep(2.0)

    tasks = [asyncio.create_task(publisher()), asyncio.create_task(files())]
    total = minutes * 60
    t0 = time.monotonic()
    events = []

    async def at(frac):
        while time.monotonic() - t0 < frac * total:
            await asyncio.sleep(0.1)

    await at(0.2)
    events.append(("broker restart", time.monotonic() - t0))
    broker.stop()
    await asyncio.sleep(2)
    broker.start()
    await at(0.4)
    events.append(("Redis restart", time.monotonic() - t0))
    redis.stop()
    await asyncio.sleep(2)
    redis.start()
    await at(0.6)
    events.append(("gateway SIGKILL", time.monotonic() - t0))
    gateway.stop(signal.SIGKILL)
    gateway.start()
    await at(0.75)
    # an alarm just before the twin dies: after the restart the readings must clear it
    async with aiomqtt.Client("127.0.0.1", mq_port) as pub:
        await pub.publish(f"minetwin/{MINE}/obs/bench", json.dumps(
            {"kind": "point", "key": "002A01", "time_ms": int(time.time() * 1000),
             "value": 2.0}), qos=1)
    await asyncio.sleep(3)
    alarm_before = [a for a in json.loads(urllib.request.urlopen(
        f"http://127.0.0.1:{twin_port}/api/alarms").read())["alarms"] if a["point"] == "002A01"]
    await at(0.8)
    events.append(("twin SIGKILL", time.monotonic() - t0))
    twin.stop(signal.SIGKILL)
    twin.start()
    while not subscribed(twin_port):
        await asyncio.sleep(0.05)
    # live readings of 002A01 (now) for the clear
    async with aiomqtt.Client("127.0.0.1", mq_port) as pub:
        for _ in range(20):
            await pub.publish(f"minetwin/{MINE}/obs/bench", json.dumps(
                {"kind": "point", "key": "002A01", "time_ms": int(time.time() * 1000),
                 "value": 0.3}), qos=1)
            await asyncio.sleep(0.2)
    await at(1.0)
    stop.set()
    for t in tasks:
        await asyncio.gather(t, return_exceptions=True)
    await asyncio.sleep(5)                              # the last ticks and files
    alarms_after = [a for a in json.loads(urllib.request.urlopen(
        f"http://127.0.0.1:{twin_port}/api/alarms").read())["alarms"] if a["point"] == "002A01"]
    await asyncio.gather(*clients, return_exceptions=True)
    for p in (gateway, twin, redis, broker):
        p.stop()
    db = sqlite3.connect(tmp / "history.sqlite")
    stored = set(db.execute("SELECT series, t FROM samples"))
    db.close()
    lost = accepted - stored
    return {"minutes": minutes, "events": events, "sent": sent, "accepted": len(accepted),
            "refused_by_broker": refused_by_broker, "stored": len(accepted & stored),
            "lost": len(lost), "lost_examples": sorted(lost)[:5],
            "alarm_before": [(a["kind"], a["cleared_ms"] is None) for a in alarm_before],
            "alarm_after": [(a["kind"], a["cleared_ms"] is None) for a in alarms_after],
            "alarm_state_correct": bool(alarm_before) and all(
                a["cleared_ms"] is not None for a in alarms_after),
            "clients": {w.name: {"reconnects": w.reconnects, "frames": w.client.frames,
                                 "resyncs": max(0, w.client.snapshots - 1),
                                 "seconds_without_frames": round(w.lost_s, 1)}
                        for w in (direct, via_gw)}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=40.0, help="MQTT messages a second")
    ap.add_argument("--keep", help="keep the run's folder (logs, databases) here")
    args = ap.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True)
        r = asyncio.run(bench(args.minutes, args.rate, Path(args.keep)))
    else:
        with tempfile.TemporaryDirectory() as d:
            r = asyncio.run(bench(args.minutes, args.rate, Path(d)))
    print(json.dumps(r, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
