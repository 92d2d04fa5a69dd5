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
