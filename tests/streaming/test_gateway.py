"""Two gateways on a real Redis serve identical streams; one restarted resumes."""

import asyncio
import hashlib

import numpy as np

from scene import Scene
from streaming.client import StreamClient
from streaming.gateway import FramePublisher, Gateway

from .test_server import _until, workload

TOKENS = {hashlib.sha256(b"viewer").hexdigest(): "viewer"}


def test_two_gateways_serve_identical_streams_and_a_restarted_one_resumes(redis_server):
    url = f"redis://127.0.0.1:{redis_server.port}/0"

    async def main():
        rng = np.random.default_rng(6)
        scene = Scene(history_limit=100)
        scene.add("seed")
        pub = FramePublisher(url, scene, snapshot_every_s=0.3)
        pub.publish(scene.commit(1))                      # the first entry: a snapshot
        stops = [asyncio.Event(), asyncio.Event()]
        gws = [Gateway(url, tokens=TOKENS, port=0, precision=8) for _ in range(2)]
        runs = [asyncio.create_task(g.run(s)) for g, s in zip(gws, stops)]
        await _until(lambda: all(g.server.port and g.source.revision == 1 for g in gws),
                     "both gateways")
        cstop = asyncio.Event()
        clients = [StreamClient(f"ws://127.0.0.1:{g.server.port}", "viewer") for g in gws]
        tasks = [asyncio.create_task(c.run(cstop)) for c in clients]
        for step in range(150):
            workload(scene, rng, step)
            pub.publish(scene.commit(step + 2))
            await asyncio.sleep(0.005)
        await _until(lambda: all(c.revision == scene.revision for c in clients), "the clients")
        assert clients[0].replica == scene and clients[1].replica == scene
        # Restart the second gateway: it resumes from the newest snapshot in the stream.
        stops[1].set()
        await runs[1]
        gws[1] = Gateway(url, tokens=TOKENS, port=0, precision=8)
        stops[1] = asyncio.Event()
        runs[1] = asyncio.create_task(gws[1].run(stops[1]))
        await _until(lambda: gws[1].server.port and gws[1].source.revision == scene.revision,
                     "the restarted gateway")
        late = StreamClient(f"ws://127.0.0.1:{gws[1].server.port}", "viewer")
        tasks.append(asyncio.create_task(late.run(cstop)))
        for step in range(150, 200):
            workload(scene, rng, step)
            pub.publish(scene.commit(step + 2))
            await asyncio.sleep(0.005)
        await _until(lambda: late.revision == scene.revision and
                     clients[0].revision == scene.revision, "after the restart")
        assert late.replica == scene and clients[0].replica == scene
        cstop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for s in stops:
            s.set()
        await asyncio.gather(*runs)
        assert pub.errors == 0
    asyncio.run(main())


def test_a_gateway_and_its_clients_ride_out_a_redis_restart_and_a_pause(redis_server):
    """#18.8 — a Redis restart (ConnectionError) or pause (TimeoutError) ended the gateway and
    its clients never recovered. Now it reconnects with backoff and resumes; after a gap (the
    restarted Redis is empty) the publisher's next snapshot puts its replica right."""
    import os
    import signal
    url = f"redis://127.0.0.1:{redis_server.port}/0"

    async def main():
        rng = np.random.default_rng(8)
        scene = Scene(history_limit=100)
        scene.add("seed")
        pub = FramePublisher(url, scene, snapshot_every_s=3600, timeout_s=0.5)
        pub.publish(scene.commit(1))
        stop = asyncio.Event()
        gw = Gateway(url, tokens=TOKENS, port=0, precision=8, timeout_s=0.5)
        run = asyncio.create_task(gw.run(stop))
        await _until(lambda: gw.server.port and gw.source.revision == 1, "the gateway")
        cstop = asyncio.Event()
        client = StreamClient(f"ws://127.0.0.1:{gw.server.port}", "viewer")
        ctask = asyncio.create_task(client.run(cstop))
        step = 0

        async def steps(n):
            nonlocal step
            for _ in range(n):
                workload(scene, rng, step)
                pub.publish(scene.commit(step + 2))
                step += 1
                await asyncio.sleep(0.005)
        await steps(30)
        await _until(lambda: client.revision == scene.revision, "the client, before")
        redis_server.stop()                                  # a restart: the stream is gone
        await _until(lambda: not gw.connected.is_set(), "the gateway to notice")
        await steps(20)                                      # the tick goes on meanwhile
        redis_server.start()
        await steps(20)
        await _until(lambda: client.revision == scene.revision, "the client, after the restart")
        assert client.replica == scene and not run.done()
        os.kill(redis_server.proc.pid, signal.SIGSTOP)       # a pause
        try:
            await _until(lambda: gw.stats["disconnects"] >= 2, "the gateway's timeout")
            await steps(20)
        finally:
            os.kill(redis_server.proc.pid, signal.SIGCONT)
        await steps(10)
        await _until(lambda: client.revision == scene.revision, "the client, after the pause")
        assert client.replica == scene and client.connected.is_set()
        cstop.set()
        stop.set()
        await asyncio.gather(ctask, run)
        pub.close()
        return gw
    gw = asyncio.run(main())
    assert gw.stats["disconnects"] >= 2


def test_gateway_clients_get_alarms_and_keep_their_catch_up_across_snapshot_entries(
        redis_server):
    """#18.10 — gateway clients got no alarm messages although hello advertises ``alarms``.
    #18.11 — every ``snapshot_every_s`` each gateway client was forced to a full snapshot
    (the snapshot entry replaced the diff) and the catch-up history was cleared."""
    url = f"redis://127.0.0.1:{redis_server.port}/0"

    async def main():
        rng = np.random.default_rng(9)
        scene = Scene(history_limit=100)
        scene.add("seed")
        pub = FramePublisher(url, scene, snapshot_every_s=0.05)
        pub.publish(scene.commit(1))
        stop = asyncio.Event()
        gw = Gateway(url, tokens=TOKENS, port=0, precision=8)
        run = asyncio.create_task(gw.run(stop))
        await _until(lambda: gw.server.port and gw.source.revision == 1, "the gateway")
        cstop = asyncio.Event()
        client = StreamClient(f"ws://127.0.0.1:{gw.server.port}", "viewer")
        ctask = asyncio.create_task(client.run(cstop))
        await _until(lambda: client.revision == 1, "the client")
        for step in range(60):                      # many snapshot entries meanwhile
            workload(scene, rng, step)
            pub.publish(scene.commit(step + 2))
            await asyncio.sleep(0.01)
        pub.publish_alarm({"id": 7, "kind": "alarm", "point": "002A02", "value": 1.2,
                           "cleared_ms": None})
        await _until(lambda: client.revision == scene.revision and 7 in client.alarms,
                     "the diffs and the alarm")
        assert client.snapshots == 1 and len(gw.source.history) >= 50
        # a client that reconnects resumes with a catch-up diff, not a snapshot
        client._conn and await client._conn.close(4000)
        await _until(lambda: client.connected.is_set() and client.revision == scene.revision,
                     "the resume")
        for step in range(60, 70):
            workload(scene, rng, step)
            pub.publish(scene.commit(step + 2))
        await _until(lambda: client.revision == scene.revision, "after the resume")
        cstop.set()
        stop.set()
        await asyncio.gather(ctask, run)
        pub.close()
        return client, scene
    client, scene = asyncio.run(main())
    assert client.alarms[7]["point"] == "002A02"
    assert client.snapshots == 1 and client.replica == scene
