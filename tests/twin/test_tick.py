"""The tick loop: systems run in order, changes are committed once per tick and handed to
consumers; a failing system is counted and the loop goes on."""

from __future__ import annotations

import asyncio

import numpy as np

from scene import Replica, Scene
from twin.tick import TickLoop


def test_ticks_commit_changes_and_feed_consumers():
    scene = Scene()
    scene.add("person/1")
    times = iter(range(1000, 100000, 100))
    seen = []
    replica = Replica()
    replica.apply(Scene().snapshot())

    def walk(s: Scene, now_ms: int) -> None:
        s.set_translation("person/1", (now_ms / 1000, 0, 0))

    def broken(s: Scene, now_ms: int) -> None:
        raise RuntimeError("a feed decoder bug")

    loop = TickLoop(scene, 50.0, systems=[walk, broken], consumers=[seen.append, replica.apply],
                    clock=lambda: next(times) / 1000)
    asyncio.run(loop.run(max_ticks=5))
    assert [cs.revision for cs in seen] == [1, 2, 3, 4, 5]
    assert [cs.time_ms for cs in seen] == [1000, 1100, 1200, 1300, 1400]
    assert loop.stats.ticks == 5 and loop.stats.system_errors == 5
    assert replica == scene
    np.testing.assert_allclose(scene.world_position("person/1"), [1.4, 0, 0])


def test_a_tick_without_changes_commits_nothing():
    scene = Scene()
    loop = TickLoop(scene, 10.0)
    assert loop.tick() is None and scene.revision == 0
