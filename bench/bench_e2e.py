"""End-to-end latency (issue: streaming): observation into the feed queue → tick (bindings,
rules, commit) → streamed → applied to a client's replica, on the demo mine under load.

    .venv/bin/python bench/bench_e2e.py [--clients 20] [--people 300] [--seconds 15]

Each tick a stamp observation carries its own wall-clock time (an equipment parameter, bound
to a property like any other); every client applies every frame to a full replica and, when
it sees a new stamp, records now − stamp. Meanwhile every person of the demo mine reports a
position every tick (the load). Clients run in a separate process; both read the same clock.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def clients_process(port: int, n: int, seconds: float, out) -> None:
    from streaming.client import StreamClient

    async def main():
        lat: list[float] = []
        stop = asyncio.Event()
        clients = []
        for _ in range(n):
            seen = {"last": None}
            client = StreamClient(f"ws://127.0.0.1:{port}", "minetwin-viewer")

            def on_change(cs, client=client, seen=seen):
                v = client.replica.scene.property("equipment/main-fan-1", "live_bench_stamp")
                if v is not None and v != seen["last"]:
                    seen["last"] = v
                    lat.append(time.time() * 1000 - v)
            client.on_change = on_change
            clients.append(client)
        tasks = [asyncio.create_task(c.run(stop)) for c in clients]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        out.put(lat)

    asyncio.run(main())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--tick-hz", type=float, default=10.0)
    args = ap.parse_args()
    from minetwin.app import TwinApp
    from minetwin.config import parse_config
    from twin.demo.generator import generate_demo
    from twin.observation import Observation

    with tempfile.TemporaryDirectory() as tmp:
        mine = generate_demo(Path(tmp) / "mine", 7)
        config = parse_config({
            "mine": {"path": str(mine)}, "assets": {"path": f"{tmp}/assets"},
            "alarms": {"db": f"{tmp}/a.sqlite"}, "history": {"db": f"{tmp}/h.sqlite"},
            "sim": {"enabled": False}, "recording": {"enabled": False},
            "tick": {"rate_hz": args.tick_hz},
            "server": {"audit_log": f"{tmp}/audit.jsonl", "max_connections_per_token": 500}},
            Path(tmp) / "c.toml")
        app = TwinApp(config, mine, port=0)
        people = sorted(app.model.people)
        rng = np.random.default_rng(0)
        roads = [r for r in app.model.roadways.values()]

        async def run():
            stop = asyncio.Event()
            twin = asyncio.create_task(app.run(stop))
            while app.server is None or app.server.port == 0:
                await asyncio.sleep(0.01)
            ctx = mp.get_context("spawn")
            q = ctx.Queue()
            proc = ctx.Process(target=clients_process,
                               args=(app.server.port, args.clients, args.seconds + 4, q))
            proc.start()
            await asyncio.sleep(3)                     # clients connect and take snapshots
            end = time.time() + args.seconds
            while time.time() < end:
                now = int(time.time() * 1000)
                batch = [Observation("bench", "card", c, now, True, position=tuple(
                    roads[i % len(roads)].point_at(float(rng.uniform(0, 50))).tolist()))
                    for i, c in enumerate(people)]
                batch.append(Observation("bench", "equipment", "main-fan-1", now,
                                         float(time.time() * 1000), "ms", param="bench_stamp"))
                app.queue.put_many(batch)
                await asyncio.sleep(0.1)
            lat = await asyncio.get_running_loop().run_in_executor(None, q.get, True, 60)
            proc.join(10)
            stop.set()
            await twin
            return lat

        lat = sorted(asyncio.run(run()))
        app.close()
        p = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]  # noqa: E731
        print(f"| {args.clients} clients, {len(people)} people moving every 100 ms + a stamp, "
              f"{args.tick_hz:g} Hz tick | samples {len(lat)} |")
        print(f"| latency observation → applied in a client replica, p50 / p99 | "
              f"{p(0.5):.1f} / {p(0.99):.1f} ms (mean {statistics.mean(lat):.1f}) |")


if __name__ == "__main__":
    main()
