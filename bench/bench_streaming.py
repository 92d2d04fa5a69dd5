"""Streaming benchmark (issue: streaming): clients in a separate process, the server ticking
at 10 Hz with N changed fields per tick.

    .venv/bin/python bench/bench_streaming.py [--clients 100] [--changed 10000] [--seconds 20]

Latency is commit → frame received and decoded in a client (one client also applies every
diff to a full replica and is checked against the authority at the end). Both processes
share the machine's clock. Reports p50/p99, server CPU per client frame, bytes per changed
entity and clients served.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import msgpack
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scene import Scene  # noqa: E402
from streaming.server import StreamServer  # noqa: E402

TOKEN = "bench"


def clients_process(port: int, n: int, seconds: float, out: mp.Queue) -> None:
    from websockets.asyncio.client import connect

    from scene import Replica
    from scene.wire import WireDecoder
    from streaming.protocol import SUBPROTOCOL, Auth, Subscribe, decode, encode

    async def one(i: int, latencies: list, stop_at: float, full: bool) -> dict:
        async with connect(f"ws://127.0.0.1:{port}", subprotocols=[SUBPROTOCOL],
                           compression=None, max_size=None) as ws:
            await ws.recv()
            await ws.send(encode(Auth(TOKEN)))
            await ws.recv()
            await ws.send(encode(Subscribe()))
            replica, dec = Replica(), WireDecoder(1 << 30)
            frames = 0
            while time.time() < stop_at:
                try:
                    data = await asyncio.wait_for(ws.recv(), 2)
                except asyncio.TimeoutError:
                    continue
                now_ms = time.time() * 1000
                msg = decode(data, 1 << 30)
                if full:
                    replica.apply(dec.decode(msg.data))
                else:
                    frame = msgpack.unpackb(msg.data, raw=False)
                    if frame["k"] == "d":
                        latencies.append(now_ms - frame["t"])
                frames += 1
            return {"frames": frames, "revision": replica.revision if full else None}

    async def main():
        latencies: list[float] = []
        stop_at = time.time() + seconds
        results = await asyncio.gather(*(one(i, latencies, stop_at, i == 0) for i in range(n)))
        out.put({"latencies": latencies, "frames": sum(r["frames"] for r in results),
                 "revision": results[0]["revision"]})

    asyncio.run(main())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--changed", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rate", type=float, default=10.0)
    args = ap.parse_args()
    import hashlib

    async def run() -> dict:
        rng = np.random.default_rng(0)
        scene = Scene(history_limit=600, capacity=args.changed + 10)
        for i in range(args.changed):
            scene.add(f"person/{i:05d}", translation=rng.uniform(-1e3, 1e3, 3))
        scene.commit(int(time.time() * 1000))
        h = scene.handles(list(scene))
        server = StreamServer(scene, tokens={hashlib.sha256(TOKEN.encode()).hexdigest(): "viewer"},
                              port=0, client_queue=64,
                              max_connections_per_token=args.clients)
        await server.start()
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        proc = ctx.Process(
            target=clients_process, args=(server.port, args.clients, args.seconds + 3, out))
        proc.start()
        while len(server.clients) < args.clients:
            await asyncio.sleep(0.05)
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        frames0, bytes0 = server.stats["frames"], server.stats["bytes"]
        period = 1 / args.rate
        next_at = time.perf_counter()
        ticks = 0
        tick_times = []
        end = time.perf_counter() + args.seconds
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            scene.set_translations(h, rng.uniform(-1e3, 1e3, (len(h), 3)))
            server.publish(scene.commit(int(time.time() * 1000)))
            tick_times.append(time.perf_counter() - t0)
            ticks += 1
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        frames = server.stats["frames"] - frames0
        sent = server.stats["bytes"] - bytes0
        await asyncio.sleep(3)
        result = out.get(timeout=30)
        proc.join(10)
        await server.stop()
        cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        return {"ticks": ticks, "frames": frames, "bytes": sent, "cpu": cpu,
                "tick_ms": statistics.median(tick_times) * 1000, "client": result,
                "revision": scene.revision, "catchups": server.stats["catchups"],
                "dropped": server.stats["dropped"]}

    r = asyncio.run(run())
    lat = sorted(r["client"]["latencies"])
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
    print(f"# {args.clients} clients, {args.changed} changed fields/tick at {args.rate:g} Hz "
          f"for {args.seconds:g} s; {os.cpu_count()} CPUs")
    print("| figure | value |\n| --- | ---: |")
    print(f"| latency commit → decoded in a client, p50 / p99 | {p(0.5):.1f} / {p(0.99):.1f} ms |")
    print(f"| ticks / frames sent / catch-ups / dropped clients | {r['ticks']} / {r['frames']} / "
          f"{r['catchups']} / {r['dropped']} |")
    print(f"| server CPU per client frame | {r['cpu'] / max(r['frames'], 1) * 1e6:.0f} µs |")
    print(f"| server tick (move {args.changed} + commit + encode once + queue) | "
          f"{r['tick_ms']:.1f} ms |")
    print(f"| bytes per changed entity | {r['bytes'] / max(r['frames'], 1) / args.changed:.2f} |")
    print(f"| clients served | {args.clients} |")


if __name__ == "__main__":
    main()
