"""Replay sessions for drills: a recording played back through the same protocol.

An instructor opens a session at a time and speed; the server sends the session's members a
snapshot of the recorded scene at that time, then the recorded diffs as the session's clock
advances (wall time × speed), and a ``replay`` status message on every change and each
second while it plays. Pause, play, seek and speed are commands; trainees join a session by
its id and follow the instructor's timeline. The timeline's markers are the recorded alarm
changes. While a client is in a replay it receives no live frames; leaving sends it a fresh
live snapshot.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from typing import Any, Callable

from scene import WireEncoder

from .protocol import Diff, ReplayStatus, Snapshot, encode
from .recording import Recording

__all__ = ["ReplaySession"]


class ReplaySession:
    def __init__(self, sid: int, recording: Recording, start_ms: int, speed: float,
                 send: Callable[[Any, bytes], Any]):
        self.id = sid
        self.recording = recording
        self.speed = float(speed)
        self.playing = False
        self.members: list[Any] = []
        self._send = send                       # (client, frame) -> awaitable
        span = recording.span()
        if span is None:
            raise LookupError("the recording is empty")
        self.span = [span[0], span[1]]
        self.markers = [t for t, _ in recording.alarms()]
        self.time_ms = min(max(int(start_ms), span[0]), span[1])
        self._encoder = WireEncoder(8)
        self._task: asyncio.Task | None = None
        self._load(self.time_ms)

    def _load(self, t_ms: int) -> None:
        """Position the cursor: the scene at ``t_ms`` and the messages after it."""
        self._segments = list(self.recording.segments)
        self._seg_i = 0
        for i, seg in enumerate(self._segments):
            times, _, _ = self.recording.index(seg)
            if times and times[0] <= t_ms:
                self._seg_i = i
        times, _, _ = self.recording.index(self._segments[self._seg_i])
        self._pos = bisect.bisect_right(times, t_ms)
        replica = self.recording.state_at(t_ms)
        self._snapshot = encode(Snapshot(self._encoder.encode(replica.scene.snapshot())))

    def status(self) -> bytes:
        return encode(ReplayStatus(self.id, int(self.time_ms), self.speed, self.playing,
                                   self.span, self.markers))

    async def join(self, client: Any) -> None:
        self.members.append(client)
        replica = self.recording.state_at(self.time_ms)
        await self._send(client, encode(Snapshot(self._encoder.encode(replica.scene.snapshot()))))
        await self._send(client, self.status())

    async def _broadcast(self, frame: bytes) -> None:
        await asyncio.gather(*(self._send(c, frame) for c in list(self.members)),
                             return_exceptions=True)

    async def control(self, action: str, value: Any = None) -> None:
        if action == "play":
            self.playing = True
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._run())
        elif action == "pause":
            self.playing = False
        elif action == "speed":
            if not isinstance(value, (int, float)) or not 0 < float(value) <= 1000:
                raise ValueError("speed is a number in (0, 1000]")
            self.speed = float(value)
        elif action == "seek":
            if not isinstance(value, int):
                raise ValueError("seek takes a time in UTC milliseconds")
            self.time_ms = min(max(value, self.span[0]), self.span[1])
            self._load(self.time_ms)
            await self._broadcast(self._snapshot)
        else:
            raise ValueError(f"unknown replay action {action!r} (play, pause, seek, speed)")
        await self._broadcast(self.status())

    async def _run(self) -> None:
        last = time.monotonic()
        last_status = last
        while self.playing and self.members:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            target = min(self.time_ms + (now - last) * 1000 * self.speed, self.span[1])
            last = now
            await self._advance(int(target))
            self.time_ms = int(target)
            if now - last_status >= 1.0 or self.time_ms >= self.span[1]:
                last_status = now
                await self._broadcast(self.status())
            if self.time_ms >= self.span[1]:
                self.playing = False
                await self._broadcast(self.status())

    async def _advance(self, t_ms: int) -> None:
        """Send every recorded scene message with a time up to ``t_ms``, in order."""
        while self._seg_i < len(self._segments):
            times, msgs, _ = self.recording.index(self._segments[self._seg_i])
            end = bisect.bisect_right(times, t_ms)
            for m in msgs[self._pos:end]:
                cls = Snapshot if m.topic == "/scene/keyframe" else Diff
                await self._broadcast(encode(cls(m.data)))
            if end < len(times):
                self._pos = end
                return
            self._seg_i += 1
            self._pos = 0

    def close(self) -> None:
        self.playing = False
        if self._task is not None:
            self._task.cancel()
