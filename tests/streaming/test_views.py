"""Filtered subscriptions: a client's replica is exactly the scene restricted to its view
(nodes with one of the tags, in the box, and their ancestors), tick after tick."""

import asyncio

import numpy as np
import pytest

from scene import Scene
from streaming.client import StreamClient
from streaming.server import StreamServer

from .test_server import TOKENS, _until

TAGS = ["person", "sensor", "roadway"]


def random_tick(scene: Scene, rng, step: int) -> None:
    ids = list(scene)
    for _ in range(3):
        parent = str(rng.choice(ids)) if ids and rng.random() < 0.5 else None
        scene.add(f"n/{step}-{_}", parent, tags=[str(rng.choice(TAGS))],
                  translation=rng.uniform(-100, 100, 3))
    if ids:
        h = scene.handles(list(rng.choice(ids, size=min(8, len(ids)), replace=False)))
        h.sort()
        scene.set_translations(h, rng.uniform(-100, 100, (len(h), 3)))
        node = str(rng.choice(ids))
        if rng.random() < 0.2:
            scene.set_tags(node, [str(rng.choice(TAGS))])
        if rng.random() < 0.1 and len(ids) > 5:
            scene.remove(str(rng.choice(ids)))
        if rng.random() < 0.2:
            a, b = rng.choice(list(scene), 2, replace=False)
            if str(b) not in scene.subtree(str(a)):
                scene.move(str(b), str(a))


def expected(scene: Scene, tags, box) -> dict:
    """The scene restricted to the view, by brute force: id -> (parent, kids, t, tags)."""
    chosen = set()
    for node in scene:
        if tags and not (scene.node(node).tags & set(tags)):
            continue
        if box is not None:
            p = scene.world_position(node)
            if not all(box[i] <= p[i] <= box[i + 3] for i in range(3)):
                continue
        chosen.add(node)
    members = set(chosen)
    for node in chosen:
        p = scene.parent_of(node)
        while p is not None:
            members.add(p)
            p = scene.parent_of(p)
    return {n: (scene.parent_of(n), tuple(k for k in scene.children_of(n) if k in members),
                tuple(scene.translation(n)), scene.node(n).tags) for n in members}


def projected(replica_scene: Scene) -> dict:
    s = replica_scene
    return {n: (s.parent_of(n), s.children_of(n), tuple(s.translation(n)), s.node(n).tags)
            for n in s}


@pytest.mark.parametrize("tags, box", [(["person"], None), (None, [-50, -50, -50, 50, 50, 50]),
                                       (["sensor", "roadway"], [-80, -80, -100, 80, 80, 100])])
def test_views_equal_the_scene_restricted_to_them(tags, box):
    async def main():
        rng = np.random.default_rng(8)
        scene = Scene(history_limit=100)
        scene.commit(0)
        server = StreamServer(scene, tokens=TOKENS, port=0, precision=8)
        await server.start()
        url = f"ws://127.0.0.1:{server.port}"
        stop = asyncio.Event()
        a = StreamClient(url, "viewer", tags=tags, box=box)
        full = StreamClient(url, "viewer")
        tasks = [asyncio.create_task(c.run(stop)) for c in (a, full)]
        await _until(lambda: a.revision == scene.revision == full.revision, "subscriptions")
        late = None
        for step in range(1, 120):
            random_tick(scene, rng, step)
            server.publish(scene.commit(step))
            if step == 60:          # a late joiner on the same view shares its frames
                late = StreamClient(url, "viewer", tags=tags, box=box)
                tasks.append(asyncio.create_task(late.run(stop)))
            if step % 10 == 0:
                await _until(lambda: a.revision == scene.revision, f"tick {step}")
                assert projected(a.replica.scene) == expected(scene, tags, box)
        await _until(lambda: late.revision == scene.revision and
                     full.revision == scene.revision, "the end")
        assert projected(late.replica.scene) == expected(scene, tags, box)
        assert full.replica == scene
        assert len(server.views) == 1
        stop.set()
        await asyncio.gather(*tasks)
        await server.stop()
    asyncio.run(main())
