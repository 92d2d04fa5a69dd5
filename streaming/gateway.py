"""Scale-out through Redis Streams (DESIGN.md "Storage and scale").

The twin publishes every committed changeset, encoded once in the wire form, to a Redis
stream (``FramePublisher``), with a full snapshot after the changeset every
``snapshot_every_s`` so a reader can start anywhere, and every alarm change. Any number of
gateways (``minetwin gateway``) read the stream, keep a replica, and serve clients with the
same protocol and server as the twin itself — alarms included. A gateway that restarts finds
the newest snapshot entry in the stream and resumes from its id; one whose Redis goes away
(restarted, paused) keeps serving its clients what it has, reconnects with backoff and resumes
from the last entry it read; at a gap (entries it never saw) it waits for the next snapshot.

The publisher never makes the tick wait for Redis: ``publish`` queues the entry in a bounded
buffer and a thread of its own writes it, with socket timeouts. A Redis that is slow or gone
costs direct clients nothing; entries wait in the buffer and are written when it is back (in
order); if the buffer overflows, the oldest are dropped, counted, and a snapshot follows so
readers start over cleanly.

Entries: ``{"k": "s" | "d" | "a", "r": revision, "data": <wire frame | msgpack alarm>}``;
the stream is capped at ``maxlen`` entries (approximately, as Redis trims).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter, deque

import msgpack

from scene import Backoff, Changeset, Replica, Scene, WireDecoder, WireEncoder, merge

from .server import StreamServer

__all__ = ["FramePublisher", "Gateway"]

log = logging.getLogger("minetwin.gateway")


class FramePublisher:
    """The twin's side: each changeset (and periodic snapshots, and alarm changes) to the
    stream, from a thread of its own (see the module doc)."""

    def __init__(self, url: str, scene: Scene, *, stream: str = "minetwin:frames",
                 maxlen: int = 100_000, snapshot_every_s: float = 60.0,
                 buffer: int = 10_000, timeout_s: float = 2.0):
        import redis
        self.redis = redis.Redis.from_url(url, socket_timeout=timeout_s,
                                          socket_connect_timeout=timeout_s)
        self.scene, self.stream, self.maxlen = scene, stream, maxlen
        self.snapshot_every_s = snapshot_every_s
        self.buffer = buffer
        self.encoder = WireEncoder(8)
        self._last_snapshot = -1e18
        self.stats: Counter[str] = Counter()       # published, dropped, errors
        self._q: deque = deque()
        self._cv = threading.Condition()
        self._closed = False
        self._busy = False
        self._thread = threading.Thread(target=self._write, name="frame-publisher",
                                        daemon=True)
        self._thread.start()

    @property
    def errors(self) -> int:
        return self.stats["errors"]

    def publish(self, cs: Changeset) -> None:
        """In the tick: queue the changeset (and a snapshot when one is due). Never blocks."""
        items = [("d", cs.revision, cs)]
        now = time.monotonic()
        if now - self._last_snapshot >= self.snapshot_every_s:
            self._last_snapshot = now
            snap = self.scene.snapshot()            # taken now: the scene moves on
            items.append(("s", snap.revision, snap))
        self._put(items)

    def publish_alarm(self, record: dict) -> None:
        """An alarm raised, acknowledged, escalated or cleared (the record as clients get it)."""
        self._put([("a", self.scene.revision, record)])

    def _put(self, items: list) -> None:
        with self._cv:
            self._q.extend(items)
            over = len(self._q) - self.buffer
            if over > 0:
                for _ in range(over):
                    self._q.popleft()
                self.stats["dropped"] += over
                self._last_snapshot = -1e18        # readers have a gap: a snapshot follows
            self._cv.notify()

    def _write(self) -> None:
        backoff_s, next_log = 0.1, 0.0
        while True:
            with self._cv:
                while not self._q and not self._closed:
                    self._cv.wait()
                if not self._q and self._closed:
                    return
                batch = [self._q[i] for i in range(min(len(self._q), 500))]
                self._busy = True
            try:
                pipe = self.redis.pipeline(transaction=False)
                for k, r, obj in batch:
                    data = msgpack.packb(obj, use_bin_type=True) if k == "a" \
                        else self.encoder.encode(obj)
                    pipe.xadd(self.stream, {"k": k, "r": r, "data": data},
                              maxlen=self.maxlen, approximate=True)
                pipe.execute()
            except Exception as exc:               # noqa: BLE001 — Redis trouble never ends it
                self.stats["errors"] += 1
                if time.monotonic() >= next_log:
                    log.warning("publishing to %s failed (%s); %d entries wait", self.stream,
                                exc, len(self._q))
                    next_log = time.monotonic() + 10
                with self._cv:
                    self._busy = False
                    self._last_snapshot = -1e18    # after an outage readers may have a gap
                    if self._closed:
                        return
                    self._cv.wait(backoff_s)
                backoff_s = min(backoff_s * 2, 5.0)
                continue
            backoff_s = 0.1
            with self._cv:
                for _ in batch:
                    self._q.popleft()
                self.stats["published"] += len(batch)
                self._busy = False
                self._cv.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued is written (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._q or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        self._thread.join(timeout)
        self.redis.close()


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
                 timeout_s: float = 5.0, **server_args):
        self.url, self.stream, self.timeout_s = url, stream, timeout_s
        self.source = _Source(history_limit)
        self.server = StreamServer(self.source, tokens=tokens, host=host, port=port,
                                   **server_args)
        self.last_id: str | None = None
        self.decoder = WireDecoder()
        self.connected = asyncio.Event()
        self.stats: Counter[str] = Counter()     # disconnects, gaps, snapshots, alarms

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
        """Serve until ``stop``; Redis going away (a restart, a pause) is waited out with
        backoff, the clients kept, and reading resumes after the last entry read."""
        import redis.asyncio as aioredis
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
        await self.server.start()
        backoff = Backoff(0.5, 30.0)
        try:
            while not stop.is_set():
                client = aioredis.from_url(self.url, socket_timeout=self.timeout_s,
                                           socket_connect_timeout=self.timeout_s)
                try:
                    if self.last_id is None:
                        self.last_id = await self._start_point(client)
                    self.connected.set()
                    backoff.reset()
                    while not stop.is_set():
                        resp = await client.xread({self.stream: self.last_id}, count=1000,
                                                  block=200)
                        for _, entries in resp or []:
                            for entry_id, fields in entries:
                                self._apply(fields)
                                self.last_id = entry_id.decode()
                except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                    self.connected.clear()
                    self.stats["disconnects"] += 1
                    log.warning("gateway: Redis %s: %s; retrying in %.1f s", self.url, exc,
                                backoff.delay_s)
                    await backoff.wait(stop)
                finally:
                    await client.aclose()
        finally:
            await self.server.stop()

    def _apply(self, fields: dict) -> None:
        kind = fields.get(b"k")
        if kind == b"a":
            self.stats["alarms"] += 1
            self.server.publish_alarm(msgpack.unpackb(fields[b"data"], raw=False))
            return
        cs = self.decoder.decode(fields[b"data"])
        rep = self.source.replica
        if cs.kind == "snapshot":
            if rep.revision == cs.revision:
                return                     # already there through the diffs: nothing to do
            self.stats["snapshots"] += 1
            rep.apply(cs)
            self.source.history.clear()
            self.server.resync_all()        # clients that followed diffs start over
            return
        if rep.revision is None or cs.base != rep.revision:
            if rep.revision is not None and cs.revision > rep.revision:
                self.stats["gaps"] += 1
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
