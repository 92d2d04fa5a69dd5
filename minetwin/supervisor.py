"""The twin's long-running tasks (feeds, the inbox, the uplink …) under supervision: no task
ends without the server saying so.

A task that raises — or returns while the twin is still running, which for a feed is the same
failure — is logged with its traceback, counted (``minetwin_task_restarts_total{task}``) and
started again after a backoff (1 s doubling to 60 s). ``/healthz`` is red (503) while any task
is down or has failed within the last ``red_for_s``, naming it, so a monitor sees what the log
says.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Awaitable, Callable

from scene import Backoff

__all__ = ["Supervisor"]

log = logging.getLogger("minetwin.supervisor")


class Supervisor:
    def __init__(self, stop: asyncio.Event, *, red_for_s: float = 300.0,
                 first_s: float = 1.0, cap_s: float = 60.0):
        self.stop = stop
        self.red_for_s = red_for_s
        self.first_s, self.cap_s = first_s, cap_s
        self.restarts: Counter[str] = Counter()
        self.failures: dict[str, tuple[float, str]] = {}     # task -> (when, what)
        self.down: set[str] = set()
        self.tasks: dict[str, asyncio.Task] = {}

    def start(self, name: str, run: Callable[[], Awaitable[None]]) -> asyncio.Task:
        """Run ``run()`` (a fresh coroutine each time) until the twin stops."""
        if name in self.tasks:
            raise ValueError(f"a task {name!r} is already supervised")
        task = asyncio.create_task(self._keep(name, run), name=name)
        self.tasks[name] = task
        return task

    async def _keep(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        backoff = Backoff(self.first_s, self.cap_s)
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                await run()
                if self.stop.is_set():
                    return
                what = "ended by itself"
                log.error("task %s %s while the twin runs; restarting it in %.0f s",
                          name, what, backoff.delay_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:                   # noqa: BLE001 — that is the point
                what = f"{type(exc).__name__}: {exc}"[:300]
                log.exception("task %s failed; restarting it in %.0f s", name, backoff.delay_s)
            self.restarts[name] += 1
            self.failures[name] = (time.time(), what)
            self.down.add(name)
            if time.monotonic() - started > self.cap_s:
                backoff.reset()                        # it ran a good while: not a crash loop
            await backoff.wait(self.stop)
            self.down.discard(name)

    def problems(self) -> list[str]:
        """What makes the twin unhealthy now (empty: healthy)."""
        now = time.time()
        out = []
        for name, (when, what) in sorted(self.failures.items()):
            if name in self.down:
                out.append(f"task {name} is down ({what})")
            elif now - when < self.red_for_s:
                out.append(f"task {name} failed {now - when:.0f} s ago and was restarted "
                           f"({what})")
        return out

    async def wait(self, timeout: float = 5.0) -> None:
        """After ``stop``: let the tasks finish their step, cancel what does not."""
        tasks = list(self.tasks.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for t in pending:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
