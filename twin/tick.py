"""The twin's fixed-rate tick (DESIGN.md "The tick"), like a game server's loop.

Each tick: run the systems in order (drain feeds, apply bindings, step simulation, evaluate
rules — each is a callable taking the scene and the tick time), ``scene.commit()`` when
anything changed, then hand the changeset to each consumer (streaming, recorder). A slow
consumer must queue and return; the loop never waits for one. A tick that overruns its period
is counted and measured, not hidden, and the loop does not try to catch up by running ticks
back to back (it skips to the next period boundary).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Callable

from scene import Changeset, Scene

__all__ = ["TickLoop", "TickStats", "System", "Consumer"]

log = logging.getLogger("minetwin.tick")

System = Callable[[Scene, int], None]
Consumer = Callable[[Changeset], None]


@dataclass(slots=True)
class TickStats:
    ticks: int = 0
    commits: int = 0
    overruns: int = 0
    skipped_periods: int = 0
    last_duration_s: float = 0.0
    max_duration_s: float = 0.0
    system_errors: int = 0


class TickLoop:
    def __init__(self, scene: Scene, rate_hz: float, *, systems: list[System] | None = None,
                 consumers: list[Consumer] | None = None,
                 clock: Callable[[], float] = time.time):
        if not rate_hz > 0:
            raise ValueError("rate_hz must be > 0")
        self.scene = scene
        self.period = 1.0 / rate_hz
        self.systems = list(systems or [])
        self.consumers = list(consumers or [])
        self.stats = TickStats()
        self._clock = clock

    def tick(self) -> Changeset | None:
        """Run one tick now; returns the committed changeset, or None if nothing changed."""
        start = time.perf_counter()
        now_ms = int(self._clock() * 1000)
        for system in self.systems:
            try:
                system(self.scene, now_ms)
            except Exception:
                # One failing system must not stop the mine's picture: count, log, go on.
                self.stats.system_errors += 1
                log.exception("system %r failed in tick %d", system, self.stats.ticks)
        cs = None
        if self.scene.has_changes:
            cs = self.scene.commit(now_ms)
            self.stats.commits += 1
            for consumer in self.consumers:
                try:
                    consumer(cs)
                except Exception:
                    self.stats.system_errors += 1
                    log.exception("consumer %r failed at revision %d", consumer, cs.revision)
        self.scene.update_world()
        took = time.perf_counter() - start
        self.stats.ticks += 1
        self.stats.last_duration_s = took
        self.stats.max_duration_s = max(self.stats.max_duration_s, took)
        if took > self.period:
            self.stats.overruns += 1
        return cs

    async def run(self, stop: asyncio.Event | None = None, max_ticks: int | None = None) -> None:
        """Tick at the fixed rate until ``stop`` is set or ``max_ticks`` ticks have run."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        n = 0
        while not (stop is not None and stop.is_set()) and (max_ticks is None or n < max_ticks):
            self.tick()
            n += 1
            next_at += self.period
            now = loop.time()
            if now > next_at:
                missed = int((now - next_at) / self.period) + 1
                self.stats.skipped_periods += missed
                next_at += missed * self.period
            await asyncio.sleep(max(0.0, next_at - loop.time()))
