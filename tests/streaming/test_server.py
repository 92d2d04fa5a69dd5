"""End to end on 127.0.0.1 with a real server: replicas equal the authority, slow clients
catch up without slowing the others, resume after a disconnect, tokens and roles."""

from __future__ import annotations

import asyncio
import hashlib

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from scene import Scene
from streaming.client import AuthError, StreamClient
from streaming.protocol import SUBPROTOCOL, Auth, decode, encode
from streaming.server import StreamServer
from tests.helpers import until as _until

TOKENS = {hashlib.sha256(b"op").hexdigest(): "operator",
          hashlib.sha256(b"viewer").hexdigest(): "viewer"}


def workload(scene: Scene, rng, step: int) -> None:
    ids = list(scene)
    if len(ids) < 50 or rng.random() < 0.2:
        scene.add(f"n/{step}", tags=["person"], translation=rng.uniform(-100, 100, 3))
    if ids:
        h = scene.handles(rng.choice(ids, size=min(len(ids), 20), replace=False).tolist())
        h.sort()
        scene.set_translations(h, rng.uniform(-100, 100, (len(h), 3)))
        if rng.random() < 0.1:
            scene.remove(str(rng.choice(ids)))


def run(coro):
    return asyncio.run(coro)


def test_fifty_clients_hold_replicas_equal_to_the_authority():
    async def main():
        rng = np.random.default_rng(1)
        scene = Scene(history_limit=200)
        server = StreamServer(scene, tokens=TOKENS, port=0, precision=8,
                              max_connections_per_token=50)
        await server.start()
        url = f"ws://127.0.0.1:{server.port}"
        stop = asyncio.Event()
        clients = [StreamClient(url, "viewer") for _ in range(50)]
        tasks = [asyncio.create_task(c.run(stop)) for c in clients]
        await _until(lambda: all(c.revision is not None for c in clients), "subscriptions")
        for step in range(200):
            workload(scene, rng, step)
            server.publish(scene.commit(step))
            if step % 20 == 0:
                await asyncio.sleep(0)
        await _until(lambda: all(c.revision == scene.revision for c in clients), "catching up")
        for c in clients:
            assert c.replica == scene
        stop.set()
        await asyncio.gather(*tasks)
        await server.stop()
        return server.stats
    stats = run(main())
    assert stats["snapshots"] == 50


def test_a_client_that_stops_reading_does_not_delay_the_others_and_catches_up():
    async def main():
        rng = np.random.default_rng(2)
        scene = Scene(history_limit=10_000)
        n = 5000                                   # ~65 kB a diff: more than socket buffers hold
        for i in range(n):
            scene.add(f"p/{i}", translation=(i, 0, 0))
        scene.commit(0)
        server = StreamServer(scene, tokens=TOKENS, port=0, client_queue=4, precision=8)
        await server.start()
        url = f"ws://127.0.0.1:{server.port}"
        stop = asyncio.Event()
        fast = StreamClient(url, "viewer")
        fast_task = asyncio.create_task(fast.run(stop))
        # A raw slow client: subscribes, then does not read for a while.
        slow = await connect(url, subprotocols=[SUBPROTOCOL], compression=None,
                             max_size=None, max_queue=1)
        await slow.recv()
        await slow.send(encode(Auth("viewer")))
        await slow.recv()
        await slow.send(b"\x82\xa1t\xa9subscribe\xabresume_from\xc0")
        await _until(lambda: fast.revision == scene.revision, "the fast client")
        h = scene.handles([f"p/{i}" for i in range(n)])
        for step in range(1, 500):                 # ~32 MB: far more than socket buffers
            scene.set_translations(h, rng.uniform(-1e3, 1e3, (n, 3)))
            server.publish(scene.commit(step))
            await asyncio.sleep(0)
        await _until(lambda: fast.revision == scene.revision, "the fast client, again")
        assert fast.replica == scene              # never waited for the slow one
        # The slow client now reads everything: snapshot, a few diffs, then a merged catch-up.
        from scene import Replica
        from scene.wire import WireDecoder
        replica, dec = Replica(), WireDecoder()
        while replica.revision != scene.revision:
            msg = decode(await asyncio.wait_for(slow.recv(), 10), 1 << 30)
            replica.apply(dec.decode(msg.data))
        assert replica == scene
        await slow.close()
        stop.set()
        await fast_task
        await server.stop()
        return server.stats
    stats = run(main())
    assert stats["catchups"] >= 1


def test_resume_after_a_disconnect_gets_a_catch_up_not_a_snapshot():
    async def main():
        scene = Scene(history_limit=1000)
        scene.add("a")
        scene.commit(1)
        server = StreamServer(scene, tokens=TOKENS, port=0, precision=8)
        await server.start()
        client = StreamClient(f"ws://127.0.0.1:{server.port}", "viewer")
        stop = asyncio.Event()
        task = asyncio.create_task(client.run(stop))
        await _until(lambda: client.revision == 1, "the snapshot")
        for c in list(server.clients):
            await c.conn.close(1001, "going away")          # the network drops it
        await _until(lambda: not client.connected.is_set(), "the disconnect")
        for step in range(2, 6):
            scene.set_translation("a", (step, 0, 0))
            server.publish(scene.commit(step))
        await _until(lambda: client.revision == scene.revision, "the resume")
        assert client.replica == scene
        stop.set()
        await task
        await server.stop()
        return server.stats
    stats = run(main())
    assert stats["snapshots"] == 1 and stats["catchups"] == 1


def test_tokens_roles_and_bad_frames():
    async def main():
        scene = Scene()
        scene.commit(1)
        acked = []
        server = StreamServer(scene, tokens=TOKENS, port=0, max_frame_bytes=4096,
                              on_command=lambda role, cmd: (acked.append((role, cmd.args)) or
                                                            (True, "acknowledged")))
        await server.start()
        url = f"ws://127.0.0.1:{server.port}"
        with pytest.raises(AuthError, match="unknown token"):
            await StreamClient(url, "nope")._open()
        stop = asyncio.Event()
        viewer, op = StreamClient(url, "viewer"), StreamClient(url, "op")
        tasks = [asyncio.create_task(c.run(stop)) for c in (viewer, op)]
        await _until(lambda: viewer.revision == 1 and op.revision == 1, "both")
        refused = await viewer.command("ack_alarm", alarm=1, comment="x")
        assert not refused.ok and "operator role" in refused.message
        done = await op.command("ack_alarm", alarm=1, comment="已处理")
        assert done.ok and acked == [("operator", {"alarm": 1, "comment": "已处理"})]
        # A malformed and an oversized frame each close only their own connection.
        for frame, code in ((b"\xc1garbage", 1007), (b"\x00" * 5000, 1009)):
            raw = await connect(url, subprotocols=[SUBPROTOCOL], max_size=None)
            await raw.recv()
            await raw.send(frame)
            with pytest.raises(ConnectionClosed) as exc:
                await asyncio.wait_for(raw.recv(), 10)
            assert exc.value.rcvd.code == code
        assert viewer.connected.is_set() and op.connected.is_set()
        stop.set()
        await asyncio.gather(*tasks)
        await server.stop()
    run(main())


def test_flooding_and_too_many_connections_are_closed_while_others_continue():
    async def main():
        scene = Scene()
        scene.add("a")
        scene.commit(1)
        server = StreamServer(scene, tokens=TOKENS, port=0, max_messages_per_s=5,
                              max_connections_per_token=2)
        await server.start()
        url = f"ws://127.0.0.1:{server.port}"
        stop = asyncio.Event()
        good = StreamClient(url, "op")
        task = asyncio.create_task(good.run(stop))
        await _until(lambda: good.revision == 1, "the good client")
        # A flooder: many commands at once.
        flood = await connect(url, subprotocols=[SUBPROTOCOL])
        await flood.recv()
        await flood.send(encode(Auth("viewer")))
        await flood.recv()
        with pytest.raises(ConnectionClosed) as exc:
            for i in range(50):
                await flood.send(b"\x83\xa1t\xa7command\xa2id" + bytes([i]) +
                                 b"\xa4name\xa9ack_alarm")
            await asyncio.wait_for(flood.recv(), 10)
            while True:
                await asyncio.wait_for(flood.recv(), 10)
        assert exc.value.rcvd.code == 4008
        # A second and a third connection with the same token: the third is refused.
        second = StreamClient(url, "op")
        await second._open()
        with pytest.raises(AuthError, match="too many connections"):
            await StreamClient(url, "op")._open()
        scene.set_translation("a", (1, 2, 3))
        server.publish(scene.commit(2))
        await _until(lambda: good.revision == 2, "the good client after all that")
        assert good.replica == scene
        stop.set()
        await task
        await server.stop()
    run(main())


def test_wall_groups_follow_one_camera_steered_by_an_operator():
    async def main():
        scene = Scene()
        scene.commit(1)
        server = StreamServer(scene, tokens=TOKENS, port=0)
        await server.start()
        url = f"ws://127.0.0.1:{server.port}"
        stop = asyncio.Event()
        tiles = [StreamClient(url, "viewer") for _ in range(3)]
        op = StreamClient(url, "op")
        tasks = [asyncio.create_task(c.run(stop)) for c in tiles + [op]]
        await _until(lambda: all(c.revision == 1 for c in tiles + [op]), "everyone")
        for t in tiles[:2]:
            assert (await t.command("camera_follow", group="wall-1")).ok
        refused = await tiles[2].command("camera_set", group="wall-1", position=[0, 0, 10],
                                         target=[0, 0, 0])
        assert not refused.ok and "operator" in refused.message
        bad = await op.command("camera_set", group="wall-1", position=[0, "x", 1],
                               target=[0, 0, 0])
        assert not bad.ok and "position" in bad.message
        done = await op.command("camera_set", group="wall-1", position=[100, -50, 1200],
                                target=[120, -40, 1050], fov=40)
        assert done.ok and "2 tiles" in done.message
        await _until(lambda: all("wall-1" in t.cameras for t in tiles[:2]), "the tiles")
        assert tiles[0].cameras["wall-1"].position == [100.0, -50.0, 1200.0]
        assert "wall-1" not in tiles[2].cameras
        late = await tiles[2].command("camera_follow", group="wall-1")   # gets it at once
        assert late.ok
        await _until(lambda: "wall-1" in tiles[2].cameras, "the late tile")
        stop.set()
        await asyncio.gather(*tasks)
        await server.stop()
    run(main())


def test_a_client_that_never_reads_is_dropped_by_the_slow_client_path_with_4009():
    """#18.16 — a client that never read was closed by the keepalive (1011 at ~40 s) before
    ``drop_after_s`` applied, uncounted. Now the documented path acts: 4009, counted."""
    async def main():
        rng = np.random.default_rng(5)
        scene = Scene(history_limit=10)
        n = 5000
        for i in range(n):
            scene.add(f"p/{i}", translation=(i, 0, 0))
        scene.commit(0)
        server = StreamServer(scene, tokens=TOKENS, port=0, client_queue=4, precision=8,
                              drop_after_s=1.0)
        await server.start()
        url = f"ws://127.0.0.1:{server.port}"
        deaf = await connect(url, subprotocols=[SUBPROTOCOL], compression=None,
                             max_size=None, max_queue=1)
        await deaf.recv()
        await deaf.send(encode(Auth("viewer")))
        await deaf.recv()
        await deaf.send(b"\x82\xa1t\xa9subscribe\xabresume_from\xc0")
        await _until(lambda: server.clients and next(iter(server.clients)).revision is not None,
                     "the subscription")
        h = scene.handles([f"p/{i}" for i in range(n)])
        step, deadline = 0, asyncio.get_running_loop().time() + 120     # a hang bound
        while server.stats["dropped"] == 0:
            assert asyncio.get_running_loop().time() < deadline, "never dropped"
            step += 1
            scene.set_translations(h, rng.uniform(-1e3, 1e3, (n, 3)))
            server.publish(scene.commit(step))
            await asyncio.sleep(0.02)
        code = None
        try:
            while True:
                await asyncio.wait_for(deaf.recv(), 30)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
        await server.stop()
        return code, server.stats
    code, stats = run(main())
    assert code == 4009 and stats["dropped"] == 1


def test_frames_committed_while_a_big_snapshot_is_sent_are_not_missed():
    """A snapshot of a big mine takes a while to send; the tick goes on committing meanwhile.
    Those frames reach the client after its snapshot, in order: its first diff fits (found on
    the large demo, where every viewer's first diff was refused and it started over)."""
    async def main():
        rng = np.random.default_rng(2)
        scene = Scene(history_limit=500)
        for i in range(40_000):
            scene.add(f"n/{i}", tags=["person"], translation=rng.uniform(-1e4, 1e4, 3))
        server = StreamServer(scene, tokens=TOKENS, port=0, precision=8)
        server.publish(scene.commit(0))
        await server.start()
        stop, ticking = asyncio.Event(), asyncio.Event()

        async def tick():
            step = 0
            while not ticking.is_set():
                step += 1
                h = np.sort(scene.handles([f"n/{k}" for k in rng.choice(40_000, 50, False)]))
                scene.set_translations(h, rng.uniform(-1e4, 1e4, (50, 3)))
                server.publish(scene.commit(step))
                await asyncio.sleep(0)
        ticker = asyncio.create_task(tick())
        client = StreamClient(f"ws://127.0.0.1:{server.port}", "viewer",
                              max_frame_bytes=64 << 20)
        task = asyncio.create_task(client.run(stop))
        await _until(lambda: client.frames >= 30, "the snapshot and diffs after it")
        ticking.set()
        await ticker
        await _until(lambda: client.revision == scene.revision, "the last frame")
        assert client.snapshots == 1 and client.replica == scene
        stop.set()
        await task
        await server.stop()
    run(main())
