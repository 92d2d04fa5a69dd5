"""Scale-out through Redis Streams (DESIGN.md "Storage and scale").

The twin publishes every committed changeset, encoded once in the wire form, to a Redis
stream (``FramePublisher``), with a full snapshot every ``snapshot_every_s`` so a reader can
start anywhere. Any number of gateways (``minetwin gateway``) read the stream, keep a replica,
and serve clients with the same protocol and server as the twin itself. A gateway that
restarts finds the newest snapshot entry in the stream and resumes from its id.

Entries: ``{"k": "s" | "d", "r": revision, "data": <wire frame>}``; the stream is capped at
``maxlen`` entries (approximately, as Redis trims).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from scene import Changeset, Replica, Scene, WireDecoder, WireEncoder, merge

from .server import StreamServer

__all__ = ["FramePublisher", "Gateway"]

log = logging.getLogger("minetwin.gateway")


class FramePublisher:
    """The twin's side: XADD each changeset (and periodic snapshots) to the stream."""

    def __init__(self, url: str, scene: Scene, *, stream: str = "minetwin:frames",
                 maxlen: int = 100_000, snapshot_every_s: float = 60.0):
        import redis
        self.redis = redis.Redis.from_url(url)
        self.scene, self.stream, self.maxlen = scene, stream, maxlen
        self.snapshot_every_s = snapshot_every_s
        self.encoder = WireEncoder(8)
        self._last_snapshot = -1e18
        self.errors = 0

    def publish(self, cs: Changeset) -> None:
        try:
            now = time.monotonic()
            if now - self._last_snapshot >= self.snapshot_every_s:
                self._last_snapshot = now
                snap = self.scene.snapshot()
                self.redis.xadd(self.stream, {"k": "s", "r": snap.revision,
                                              "data": self.encoder.encode(snap)},
                                maxlen=self.maxlen, approximate=True)
                return                   # the snapshot already holds this changeset
            self.redis.xadd(self.stream, {"k": "d", "r": cs.revision,
                                          "data": self.encoder.encode(cs)},
                            maxlen=self.maxlen, approximate=True)
        except Exception:                # never let Redis trouble stop the tick
            self.errors += 1
            self._last_snapshot = -1e18  # the next publish starts readers over cleanly
            log.exception("publishing to %s failed", self.stream)


class _Source:
    """What the stream server needs of a scene, backed by a replica and recent history."""

    def __init__(self, history_limit: int):
        self.replica = Replica()
        self.history: deque[Changeset] = deque(maxlen=history_limit)

    @property
    def revision(self) -> int:
        return self.replica.revision or 0

    def snapshot(self) -> Changeset:
        return self.replica.scene.snapshot()

    def changes_since(self, revision: int) -> Changeset | None:
        if revision == self.revision:
            return Changeset(kind="diff", base=revision, revision=revision,
                             time_ms=self.replica.time_ms)
        h = self.history
        if not h or revision < h[0].base or revision > self.revision:
            return None
        return merge(list(h)[revision - h[0].base:])


class Gateway:
    def __init__(self, url: str, *, stream: str = "minetwin:frames", tokens: dict[str, str],
                 host: str = "127.0.0.1", port: int = 8771, history_limit: int = 600,
                 **server_args):
        self.url, self.stream = url, stream
        self.source = _Source(history_limit)
        self.server = StreamServer(self.source, tokens=tokens, host=host, port=port,
                                   **server_args)
        self.last_id: str | None = None
        self.decoder = WireDecoder()

    async def _start_point(self, client) -> str:
        """The id of the newest snapshot entry, or of the stream's start."""
        last = "+"
        while True:
            entries = await client.xrevrange(self.stream, max=last, count=100)
            if not entries:
                return "0-0"
            for entry_id, fields in entries:
                if fields.get(b"k") == b"s":
                    return _before(entry_id.decode())
            last = "(" + entries[-1][0].decode()

    async def run(self, stop: asyncio.Event) -> None:
        import redis.asyncio as aioredis
        client = aioredis.from_url(self.url)
        await self.server.start()
        try:
            self.last_id = await self._start_point(client)
            while not stop.is_set():
                resp = await client.xread({self.stream: self.last_id}, count=1000, block=200)
                for _, entries in resp or []:
                    for entry_id, fields in entries:
                        self._apply(fields)
                        self.last_id = entry_id.decode()
        finally:
            await self.server.stop()
            await client.aclose()

    def _apply(self, fields: dict) -> None:
        cs = self.decoder.decode(fields[b"data"])
        rep = self.source.replica
        if cs.kind == "snapshot":
            if rep.revision == cs.revision:
                return                     # already there through the diffs
            rep.apply(cs)
            self.source.history.clear()
            self.server.resync_all()        # clients that followed diffs start over
            return
        if rep.revision is None or cs.base != rep.revision:
            return                         # before our first snapshot, or a gap: wait for one
        rep.apply(cs)
        self.source.history.append(cs)
        self.server.publish(cs)


def _before(entry_id: str) -> str:
    """The id just before ``entry_id``, so XREAD (exclusive) starts at that entry."""
    ms, seq = entry_id.split("-")
    if int(seq) > 0:
        return f"{ms}-{int(seq) - 1}"
    return f"{int(ms) - 1}-18446744073709551615"
