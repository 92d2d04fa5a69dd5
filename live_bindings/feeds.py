"""Message feeds: MQTT (aiomqtt) and Redis Streams, carrying observations as JSON
(docs/feeds.md). The decoder is pure; the transports are thin asyncio shells around it that
put what they decode into the tick's feed queue and never block the tick.

A bad message is refused with its reason counted in ``stats`` and logged once per burst; the
feed goes on. Nothing a message holds can end a transport: every decode step is caught per
message (a 400-digit number, JSON nested a thousand deep, a wrong type anywhere).

The MQTT subscriber is a *persistent* client: a stable client id (``minetwin-<mine code>``
unless configured) with a kept session (``clean_session`` false, QoS 1), so what the broker
accepted for it while it was away — reconnecting after a broker restart, or the twin itself
restarting — is delivered when it is back (docs/feeds.md: the broker must keep sessions
across its own restarts, ``persistence true`` in Mosquitto).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections import Counter, deque
from datetime import datetime
from typing import Any

from scene import Backoff
from twin import KINDS, FeedQueue, Observation

__all__ = ["decode_json_payload", "MqttFeed", "RedisStreamFeed", "PayloadError",
           "MAX_JSON_DEPTH"]

log = logging.getLogger("minetwin.feeds")

#: Reconnect delays to a broker or Redis: 0.5 s doubling to 30 s (a broker being restarted
#: is not hammered; one back is reached within half a minute).
RECONNECT_FIRST_S, RECONNECT_CAP_S = 0.5, 30.0
_FIELDS = {"kind", "key", "time_ms", "time", "value", "unit", "state", "param", "reader",
           "distance_m", "area", "position", "place"}
#: Deeper JSON than this is refused before it is parsed (an observation is two levels deep).
MAX_JSON_DEPTH = 32
_LOG_EVERY_S = 10.0


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
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:
            raise PayloadError("value is too large for a number") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise PayloadError("value is not finite")
    if value is not None and not isinstance(value, (int, float, bool, str)):
        raise PayloadError("value is a number, a boolean or text")
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


def _too_deep(data: bytes, limit: int) -> bool:
    """Whether brackets nest deeper than ``limit`` (outside strings), checked on the bytes so
    a hostile message never reaches the recursive parser."""
    depth, in_str, esc = 0, False, False
    for b in data:
        if in_str:
            if esc:
                esc = False
            elif b == 0x5C:              # backslash
                esc = True
            elif b == 0x22:
                in_str = False
        elif b == 0x22:
            in_str = True
        elif b in (0x5B, 0x7B):          # [ {
            depth += 1
            if depth > limit:
                return True
        elif b in (0x5D, 0x7D):
            depth -= 1
    return False


def decode_json_payload(data: bytes, source: str) -> tuple[list[Observation], list[str]]:
    """A message → (observations, problems). A message is one JSON object or an array of
    them; a bad element is a problem, the others still decode. Never raises."""
    if (data.count(b"[") + data.count(b"{") > MAX_JSON_DEPTH
            and _too_deep(data, MAX_JSON_DEPTH)):
        return [], [f"JSON nested deeper than {MAX_JSON_DEPTH} levels"]
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return [], [f"not JSON: {exc}"[:300]]
    items = doc if isinstance(doc, list) else [doc]
    out, problems = [], []
    for i, d in enumerate(items):
        try:
            out.append(_observation(d, source))
        except PayloadError as exc:
            problems.append(f"element {i}: {exc}")
        except Exception as exc:            # noqa: BLE001 — any fault of one element
            problems.append(f"element {i}: {type(exc).__name__}: {exc}"[:300])
    return out, problems


class _Feed:
    def __init__(self, queue: FeedQueue, name: str):
        self.queue = queue
        self.name = name
        self.stats: Counter[str] = Counter()
        self.connected = asyncio.Event()
        self._next_log = 0.0
        self._unlogged = 0

    def _take(self, data: bytes, source: str) -> int:
        """Decode one message and queue what it holds; whatever is wrong with it is counted
        and logged (once per burst), never raised."""
        try:
            obs, problems = decode_json_payload(data, source)
        except Exception as exc:            # noqa: BLE001 — a decoder bug must not end the feed
            obs, problems = [], [f"{type(exc).__name__}: {exc}"[:300]]
        if problems:
            self.stats["refused"] += len(problems)
            self._unlogged += len(problems)
            now = time.monotonic()
            if now >= self._next_log:
                log.warning("%s: %d bad message part(s) (e.g. from %s: %s)", self.name,
                            self._unlogged, source, problems[0])
                self._unlogged = 0
                self._next_log = now + _LOG_EVERY_S
        n, end = self.queue.put_many_at(obs)
        self.stats["observations"] += n
        if n < len(obs):
            self.stats["queue full"] += len(obs) - n
        return end

    def processed(self, upto: int) -> None:
        """The tick has processed (validated, stored) every queued observation before
        position ``upto``: acknowledge to the source what they came in (see the subclasses)."""

    async def _retry_later(self, stop: asyncio.Event, backoff: Backoff, exc: Exception) -> None:
        """Count and log a lost connection, then wait (unless stopped)."""
        self.stats["disconnects"] += 1
        log.warning("%s: %s; retrying in %.1f s", self.name, exc, backoff.delay_s)
        await backoff.wait(stop)


class MqttFeed(_Feed):
    """Subscribes to ``topics`` on an MQTT broker (QoS 1) as the persistent client
    ``client_id`` and queues what arrives. Reconnects with backoff when the broker goes away;
    the broker keeps what arrives meanwhile (see the module doc)."""

    def __init__(self, queue: FeedQueue, *, host: str = "127.0.0.1", port: int = 1883,
                 topics: tuple[str, ...] = ("minetwin/+/obs/#",),
                 client_id: str = "minetwin", username: str | None = None,
                 password: str | None = None):
        super().__init__(queue, f"mqtt://{host}:{port}")
        if not client_id:
            raise ValueError("an MQTT feed needs a stable client id (its session is kept)")
        self.host, self.port, self.topics = host, port, topics
        self.client_id, self.username, self.password = client_id, username, password
        self._paho = None                      # the connection's paho client (for acks)
        self._unacked: deque[tuple[int, int, int]] = deque()   # (queue end, mid, qos)

    def processed(self, upto: int) -> None:
        """Acknowledge (PUBACK) the messages whose observations the tick has processed: the
        broker keeps a message until then, so one the twin dies holding is delivered again."""
        paho = self._paho
        while self._unacked and self._unacked[0][0] <= upto:
            _, mid, qos = self._unacked.popleft()
            if paho is not None and qos > 0:
                paho.ack(mid, qos)
                self.stats["acked"] += 1

    async def run(self, stop: asyncio.Event) -> None:
        import aiomqtt
        backoff = Backoff(RECONNECT_FIRST_S, RECONNECT_CAP_S)
        while not stop.is_set():
            try:
                client = aiomqtt.Client(self.host, self.port, identifier=self.client_id,
                                        clean_session=False,
                                        protocol=aiomqtt.ProtocolVersion.V311,
                                        username=self.username, password=self.password)
                # Acknowledge only what the tick has processed (aiomqtt does not say how:
                # its paho client does).
                client._client.manual_ack_set(True)
                self._unacked.clear()               # a new connection: the broker resends
                async with client as c:
                    self._paho = client._client
                    for topic in self.topics:
                        await c.subscribe(topic, qos=1)
                    self.connected.set()
                    backoff.reset()
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
                        end = self._take(bytes(msg.payload), f"mqtt:{msg.topic}")
                        if msg.qos:
                            self._unacked.append((end, msg.mid, msg.qos))
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                self._paho = None
                await self._retry_later(stop, backoff, exc)
            finally:
                self._paho = None


class RedisStreamFeed(_Feed):
    """Reads a Redis stream (XREAD BLOCK) whose entries carry a JSON payload in the field
    ``data``. The id of the last entry the tick has *processed* is kept in Redis
    (``<stream>:last:<name>``), so a restarted feed — a twin killed included — resumes after
    it: nothing lost (what was read but not yet processed is read again)."""

    def __init__(self, queue: FeedQueue, *, url: str = "redis://127.0.0.1:6379/0",
                 stream: str = "minetwin:obs", name: str = "twin", batch: int = 1000,
                 block_ms: int = 500):
        super().__init__(queue, f"{url} {stream}")
        self.url, self.stream, self.batch, self.block_ms = url, stream, batch, block_ms
        self.state_key = f"{stream}:last:{name}"
        self._read: deque[tuple[int, str]] = deque()   # (queue end, entry id) not yet processed
        self._done_id: str | None = None              # the newest entry id processed
        self._last_id: str | None = None              # the newest entry id read

    def processed(self, upto: int) -> None:
        while self._read and self._read[0][0] <= upto:
            self._done_id = self._read.popleft()[1]

    async def run(self, stop: asyncio.Event) -> None:
        import redis.asyncio as aioredis
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
        backoff = Backoff(RECONNECT_FIRST_S, RECONNECT_CAP_S)
        while not stop.is_set():
            client = aioredis.from_url(self.url)
            try:
                if self._last_id is None:           # at start: after what was processed
                    last = await client.get(self.state_key)
                    self._last_id = last.decode() if last else "0-0"
                last_id = self._last_id              # after a reconnect: after what was read
                self.connected.set()
                backoff.reset()
                while not stop.is_set():
                    if len(self.queue) + self.batch > self.queue.maxsize:
                        await asyncio.sleep(0.05)      # back-pressure: the queue is full
                        continue
                    resp = await client.xread({self.stream: last_id}, count=self.batch,
                                              block=self.block_ms)
                    for _, entries in resp or []:
                        for entry_id, fields in entries:
                            end = self._take(fields.get(b"data", b""), f"redis:{self.stream}")
                            last_id = self._last_id = entry_id.decode()
                            self._read.append((end, last_id))
                    if self._done_id is not None:
                        done, self._done_id = self._done_id, None
                        await client.set(self.state_key, done)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                self.connected.clear()
                await self._retry_later(stop, backoff, exc)
            finally:
                await client.aclose()
