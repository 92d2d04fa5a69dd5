"""The Python streaming client: keeps a scene replica in step with a MineTwin server.

Used by tests, benchmarks and (with its issue) the native wall renderer. It reconnects by
itself and resumes from the last revision it applied when the server session is the same;
otherwise it starts over from a snapshot.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any, Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from scene import Backoff, Replica, WireDecoder

from .protocol import (SUBPROTOCOL, AlarmEvent, Auth, AuthOk, Camera, Command, DangerEvent, Diff, Error,
                       Hello, ProtocolError, ReplayStatus, Result, Snapshot, Subscribe,
                       decode, encode)

__all__ = ["StreamClient", "AuthError"]

log = logging.getLogger("minetwin.client")

#: Reconnect delays: a wall client or a gateway should be back within seconds of the server.
RECONNECT_FIRST_S, RECONNECT_CAP_S = 0.2, 5.0


class AuthError(Exception):
    """The server refused the token."""


class StreamClient:
    def __init__(self, url: str, token: str, *, max_frame_bytes: int = 64 << 20,
                 on_change: Callable[[Any], None] | None = None,
                 tags: list[str] | None = None, box: list[float] | None = None):
        self.url, self.token = url, token
        self.tags, self.box = tags, box            # a filtered view, when given
        self.max_frame_bytes = max_frame_bytes
        self.replica = Replica()
        self.decoder = WireDecoder(max_frame_bytes)
        self.session: str | None = None
        self.role: str | None = None
        self.alarms: dict[int, dict] = {}
        self.dangers: dict[int, dict] = {}     # hidden dangers seen, by id (docs/dangers.md)
        self.replay: ReplayStatus | None = None       # the replay it watches, if any
        self.cameras: dict[str, Camera] = {}           # wall group -> its shared camera
        self.on_change = on_change
        self.connected = asyncio.Event()
        self.frames = 0
        self.snapshots = 0                         # full snapshots received (resyncs)
        self._conn: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}

    @property
    def revision(self) -> int | None:
        return self.replica.revision

    async def _open(self) -> ClientConnection:
        conn = await connect(self.url, subprotocols=[SUBPROTOCOL], compression=None,
                             max_size=self.max_frame_bytes)
        hello = decode(await conn.recv(), self.max_frame_bytes)
        if not isinstance(hello, Hello):
            raise ProtocolError("order", "the server did not speak first")
        await conn.send(encode(Auth(self.token)))
        try:
            ok = decode(await conn.recv(), self.max_frame_bytes)
        except ConnectionClosed as exc:
            raise AuthError(exc.rcvd.reason if exc.rcvd else "refused") from None
        if not isinstance(ok, AuthOk):
            raise ProtocolError("order", "expected auth_ok")
        self.role = ok.role
        resume = self.replica.revision if hello.session == self.session else None
        if hello.session != self.session:
            self.replica = Replica()
            self.decoder = WireDecoder(self.max_frame_bytes)
        self.session = hello.session
        if self.tags or self.box:
            self.replica = Replica()               # a view always starts from a snapshot
            await conn.send(encode(Subscribe(None, self.tags, self.box)))
        else:
            await conn.send(encode(Subscribe(resume)))
        return conn

    async def run(self, stop: asyncio.Event, *, reconnect: bool = True) -> None:
        """Receive until ``stop``; reconnect (and resume) when the connection drops."""
        backoff = Backoff(RECONNECT_FIRST_S, RECONNECT_CAP_S)
        while not stop.is_set():
            try:
                self._conn = await self._open()
                self.connected.set()
                backoff.reset()
                await self._receive(stop)
            except (ConnectionClosed, OSError, InvalidHandshake) as exc:
                self.connected.clear()
                if not reconnect or stop.is_set():
                    raise
                log.info("connection lost (%s); reconnecting in %.1f s", exc, backoff.delay_s)
                await backoff.wait(stop)
        if self._conn is not None:
            await self._conn.close()

    async def _receive(self, stop: asyncio.Event) -> None:
        conn = self._conn
        assert conn is not None
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while True:
                getter = asyncio.ensure_future(conn.recv())
                done, _ = await asyncio.wait({getter, stopper},
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    await asyncio.gather(getter, return_exceptions=True)
                    return
                self._handle(decode(getter.result(), self.max_frame_bytes))
        finally:
            stopper.cancel()

    def _handle(self, msg: Any) -> None:
        if isinstance(msg, (Snapshot, Diff)):
            cs = self.decoder.decode(msg.data)
            if cs.kind == "diff" and cs.base != self.replica.revision:
                # Out of step (a frame crossing a switch between live and replay): the next
                # snapshot puts it right; never apply a diff to the wrong base.
                log.warning("dropping diff %s->%s at revision %s", cs.base, cs.revision,
                            self.replica.revision)
                return
            self.replica.apply(cs)
            self.frames += 1
            self.snapshots += cs.kind == "snapshot"
            if self.on_change is not None:
                self.on_change(cs)
        elif isinstance(msg, AlarmEvent):
            self.alarms[msg.alarm.get("id")] = msg.alarm
        elif isinstance(msg, DangerEvent):
            self.dangers[msg.danger.get("id")] = msg.danger
        elif isinstance(msg, ReplayStatus):
            self.replay = None if msg.ended else msg
        elif isinstance(msg, Camera):
            self.cameras[msg.group] = msg
        elif isinstance(msg, Result):
            fut = self._pending.pop(msg.id, None)
            if fut is not None and not fut.done():
                fut.set_result(msg)
        elif isinstance(msg, Error):
            log.warning("server error %s: %s", msg.code, msg.message)

    async def command(self, name: str, **args: Any) -> Result:
        """Send a command and wait for its result."""
        if self._conn is None:
            raise RuntimeError("not connected")
        cid = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._pending[cid] = fut
        await self._conn.send(encode(Command(cid, name, args)))
        return await asyncio.wait_for(fut, 30)
