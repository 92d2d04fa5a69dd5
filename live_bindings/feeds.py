"""Message feeds: MQTT (aiomqtt) and Redis Streams, carrying observations as JSON
(docs/feeds.md). The decoder is pure; the transports are thin asyncio shells around it that
put what they decode into the tick's feed queue and never block the tick.

A bad message is refused with its reason counted in ``stats`` and logged; the feed goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import Counter
from datetime import datetime
from typing import Any

from scene import Backoff
from twin import KINDS, FeedQueue, Observation

__all__ = ["decode_json_payload", "MqttFeed", "RedisStreamFeed", "PayloadError"]

log = logging.getLogger("minetwin.feeds")

#: Reconnect delays to a broker or Redis: 0.5 s doubling to 30 s (a broker being restarted
#: is not hammered; one back is reached within half a minute).
RECONNECT_FIRST_S, RECONNECT_CAP_S = 0.5, 30.0
_FIELDS = {"kind", "key", "time_ms", "time", "value", "unit", "state", "param", "reader",
           "distance_m", "area", "position", "place"}


class PayloadError(ValueError):
    pass


def _observation(d: Any, source: str) -> Observation:
    if not isinstance(d, dict):
        raise PayloadError("an observation is a JSON object")
    unknown = set(d) - _FIELDS
    if unknown:
        raise PayloadError(f"unknown fields {sorted(unknown)}")
    kind, key = d.get("kind"), d.get("key")
    if kind not in KINDS:
        raise PayloadError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if not isinstance(key, str) or not key:
        raise PayloadError("key must be a non-empty string")
    if "time_ms" in d:
        t = d["time_ms"]
        if not isinstance(t, int) or isinstance(t, bool):
            raise PayloadError("time_ms must be an integer (UTC epoch milliseconds)")
    elif isinstance(d.get("time"), str):
        try:
            dt = datetime.fromisoformat(d["time"])
        except ValueError:
            raise PayloadError(f"time {d['time']!r} is not ISO 8601") from None
        if dt.tzinfo is None:
            raise PayloadError("time needs a UTC offset (e.g. +08:00)")
        t = int(dt.timestamp() * 1000)
    else:
        raise PayloadError("time_ms or time is required")
    value = d.get("value")
    if isinstance(value, float) and not math.isfinite(value):
        raise PayloadError("value is not finite")
    if value is not None and not isinstance(value, (int, float, bool, str)):
        raise PayloadError("value is a number, a boolean or text")
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    state = d.get("state", 0)
    if not isinstance(state, int) or isinstance(state, bool) or state < 0:
        raise PayloadError("state is a non-negative integer bit mask")
    pos = d.get("position")
    if pos is not None:
        if not (isinstance(pos, list) and len(pos) == 3 and all(
                isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c)
                for c in pos)):
            raise PayloadError("position is [x, y, z] in local metres")
        pos = tuple(float(c) for c in pos)
    elif kind == "exposure":
        raise PayloadError("an exposure needs its position [x, y, floor z]")
    dist = d.get("distance_m")
    if dist is not None and (not isinstance(dist, (int, float)) or not math.isfinite(dist)):
        raise PayloadError("distance_m is a finite number")
    for k in ("unit", "param", "reader", "area", "place"):
        if d.get(k) is not None and not isinstance(d[k], str):
            raise PayloadError(f"{k} is text")
    return Observation(source, kind, key, t, value, d.get("unit"), state, d.get("param"),
                       d.get("reader"), None if dist is None else float(dist), d.get("area"),
                       pos, d.get("place"))


def decode_json_payload(data: bytes, source: str) -> tuple[list[Observation], list[str]]:
    """A message → (observations, problems). A message is one JSON object or an array of
    them; a bad element is a problem, the others still decode."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [], [f"not JSON: {exc}"]
    items = doc if isinstance(doc, list) else [doc]
    out, problems = [], []
    for i, d in enumerate(items):
        try:
            out.append(_observation(d, source))
        except PayloadError as exc:
            problems.append(f"element {i}: {exc}")
    return out, problems


class _Feed:
    def __init__(self, queue: FeedQueue, name: str):
        self.queue = queue
        self.name = name
        self.stats: Counter[str] = Counter()

    def _take(self, data: bytes, source: str) -> None:
        obs, problems = decode_json_payload(data, source)
        for p in problems:
            self.stats["refused"] += 1
            log.warning("%s: bad message from %s: %s", self.name, source, p)
        n = self.queue.put_many(obs)
        self.stats["observations"] += n
        if n < len(obs):
            self.stats["queue full"] += len(obs) - n

    async def _retry_later(self, stop: asyncio.Event, backoff: Backoff, exc: Exception) -> None:
        """Count and log a lost connection, then wait (unless stopped)."""
        self.stats["disconnects"] += 1
        log.warning("%s: %s; retrying in %.1f s", self.name, exc, backoff.delay_s)
        await backoff.wait(stop)


class MqttFeed(_Feed):
    """Subscribes to ``topics`` on an MQTT broker (QoS 1) and queues what arrives.
    Reconnects with backoff when the broker goes away."""

    def __init__(self, queue: FeedQueue, *, host: str = "127.0.0.1", port: int = 1883,
                 topics: tuple[str, ...] = ("minetwin/+/obs/#",), client_id: str | None = None,
                 username: str | None = None, password: str | None = None):
        super().__init__(queue, f"mqtt://{host}:{port}")
        self.host, self.port, self.topics = host, port, topics
        self.client_id, self.username, self.password = client_id, username, password
        self.connected = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        import aiomqtt
        backoff = Backoff(RECONNECT_FIRST_S, RECONNECT_CAP_S)
        while not stop.is_set():
            try:
                async with aiomqtt.Client(self.host, self.port, identifier=self.client_id,
                                          username=self.username, password=self.password) as c:
                    for topic in self.topics:
                        await c.subscribe(topic, qos=1)
                    self.connected.set()
                    backoff = Backoff(RECONNECT_FIRST_S, RECONNECT_CAP_S)
                    messages = aiter(c.messages)
                    while not stop.is_set():
                        waiter = asyncio.ensure_future(anext(messages))
                        stopper = asyncio.ensure_future(stop.wait())
                        try:
                            done, _ = await asyncio.wait({waiter, stopper},
                                                         return_when=asyncio.FIRST_COMPLETED)
                        finally:
                            # Whatever ended the wait (a message, stop, cancellation), leave
                            # no future behind whose error nobody reads.
                            for f in (waiter, stopper):
                                if not f.done():
                                    f.cancel()
                            await asyncio.gather(waiter, stopper, return_exceptions=True)
                        if waiter not in done:
                            break                                 # stopped
                        msg = waiter.result()                     # raises if disconnected
                        self._take(bytes(msg.payload), f"mqtt:{msg.topic}")
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                await self._retry_later(stop, backoff, exc)


class RedisStreamFeed(_Feed):
    """Reads a Redis stream (XREAD BLOCK) whose entries carry a JSON payload in the field
    ``data``. The id of the last entry queued is kept in Redis (``<stream>:last:<name>``),
    so a restarted feed resumes after it: nothing lost, nothing read twice."""

    def __init__(self, queue: FeedQueue, *, url: str = "redis://127.0.0.1:6379/0",
                 stream: str = "minetwin:obs", name: str = "twin", batch: int = 1000,
                 block_ms: int = 500):
        super().__init__(queue, f"{url} {stream}")
        self.url, self.stream, self.batch, self.block_ms = url, stream, batch, block_ms
        self.state_key = f"{stream}:last:{name}"

    async def run(self, stop: asyncio.Event) -> None:
        import redis.asyncio as aioredis
        from redis.exceptions import ConnectionError as RedisConnectionError
        backoff = Backoff(RECONNECT_FIRST_S, RECONNECT_CAP_S)
        while not stop.is_set():
            client = aioredis.from_url(self.url)
            try:
                last = await client.get(self.state_key)
                last_id = last.decode() if last else "0-0"
                backoff = Backoff(RECONNECT_FIRST_S, RECONNECT_CAP_S)
                while not stop.is_set():
                    if len(self.queue) + self.batch > self.queue.maxsize:
                        await asyncio.sleep(0.05)      # back-pressure: the queue is full
                        continue
                    resp = await client.xread({self.stream: last_id}, count=self.batch,
                                              block=self.block_ms)
                    for _, entries in resp or []:
                        for entry_id, fields in entries:
                            self._take(fields.get(b"data", b""), f"redis:{self.stream}")
                            last_id = entry_id.decode()
                        await client.set(self.state_key, last_id)
            except (RedisConnectionError, OSError) as exc:
                await self._retry_later(stop, backoff, exc)
            finally:
                await client.aclose()
