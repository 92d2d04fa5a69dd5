"""Reconnect delays for the rooms' long-lived connections (feeds, the streaming client):
a first delay doubling up to a cap, back to the first after a success."""

from __future__ import annotations

import asyncio

__all__ = ["Backoff"]


class Backoff:
    def __init__(self, first_s: float, cap_s: float):
        self.first_s, self.cap_s = first_s, cap_s
        self.delay_s = first_s

    def reset(self) -> None:
        """A connection worked: the next failure waits ``first_s`` again."""
        self.delay_s = self.first_s

    async def wait(self, stop: asyncio.Event) -> None:
        """Wait the current delay (or until ``stop``), then double it up to ``cap_s``."""
        try:
            await asyncio.wait_for(stop.wait(), self.delay_s)
        except asyncio.TimeoutError:
            pass
        self.delay_s = min(self.delay_s * 2, self.cap_s)
