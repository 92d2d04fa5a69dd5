"""The streaming server: the only module that imports ``websockets`` on the server side.

Fan-out (STYLE.md, from python-websockets): each committed changeset is encoded once and the
same bytes go to every subscribed client's bounded queue. The tick never waits: ``publish``
only puts into queues. A client whose queue overflows is marked behind; its sender then
sends one merged catch-up diff from the last revision it sent (or a snapshot when the
history no longer reaches), and it goes on. A client stuck in a send for longer than
``drop_after_s`` is closed (4009). Catch-ups go through the client's sender, so its
scene frames stay in order; command results are sent at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from scene import Changeset, Scene, WireEncoder

from .protocol import (SUBPROTOCOL, AlarmEvent, AuthOk, Camera, Command, DangerEvent, Diff, Hello,
                       ProtocolError, ReplayStatus, Result, ServerSession, Snapshot, Subscribe,
                       encode)

__all__ = ["StreamServer"]

log = logging.getLogger("minetwin.streaming")


def _drop_queued(queue: asyncio.Queue) -> None:
    """Empty a client's send queue (what is queued will not be sent: a snapshot, a replay's
    frames or the close replace it)."""
    while not queue.empty():
        queue.get_nowait()


#: What the audit trail keeps of one command's arguments (their JSON, in characters), and how
#: many refused or failed commands of one client it records a minute (a flood of junk commands
#: must not fill the disk; successful commands are always recorded).
class Caller(str):
    """Who sent a command: equal to its role (``"operator"`` …), with ``holder``, the person
    the token belongs to when the configuration names one ("" otherwise)."""

    holder: str

    def __new__(cls, role: str, holder: str = "") -> "Caller":
        obj = super().__new__(cls, role)
        obj.holder = holder
        return obj


#: A subscribe costs the server a snapshot: one client gets at most one a second; a quicker
#: re-subscribe is served when its second is up (the latest one wins).
SUBSCRIBE_INTERVAL_S = 1.0
#: The kernel's send buffer per client (SO_SNDBUF).
SEND_BUFFER_BYTES = 256 * 1024
AUDIT_ARGS_CHARS = 2000
AUDIT_PER_MINUTE = 120.0


def _binary_named(v: Any, depth: int = 0) -> Any:
    """Bytes (an attachment) as their size and SHA-256: the audit says which file, not its
    content (and JSON has no bytes)."""
    if isinstance(v, (bytes, bytearray)):
        import hashlib
        return {"bytes": len(v), "sha256": hashlib.sha256(v).hexdigest()}
    if depth > 16:
        return repr(v)[:100]
    if isinstance(v, dict):
        return {k: _binary_named(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_binary_named(x, depth + 1) for x in v]
    return v


def _audited_args(args: Any) -> Any:
    """The arguments as the audit keeps them: whole when small, else their JSON cut short;
    bytes as their size and digest."""
    import json
    args = _binary_named(args)
    try:
        text = json.dumps(args, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = repr(args)[:AUDIT_ARGS_CHARS + 1]
    if len(text) <= AUDIT_ARGS_CHARS:
        return args
    return {"truncated": text[:AUDIT_ARGS_CHARS], "chars": len(text)}


@dataclass(eq=False)
class _Client:
    conn: ServerConnection
    session: ServerSession
    queue: asyncio.Queue
    revision: int | None = None           # the last revision sent
    behind: bool = False
    replay: Any = None                    # the replay session it watches (no live frames)
    walls: set = field(default_factory=set)  # wall groups whose camera it follows
    view: Any = None                      # its filter's key, or None for the whole scene
    sending_since: float | None = None
    catchups: int = 0
    task: asyncio.Task | None = field(default=None, repr=False)
    next_subscribe_at: float = 0.0
    pending_subscribe: Any = None
    audit_allowance: float = AUDIT_PER_MINUTE
    audit_at: float = 0.0
    audit_suppressed: int = 0
    #: clear while a subscribe sends its snapshot: the sender holds what is published meanwhile
    ready: asyncio.Event = field(default_factory=asyncio.Event, repr=False)


class StreamServer:
    def __init__(self, scene: Scene, *, tokens: dict[str, str], host: str = "127.0.0.1",
                 port: int = 8770, precision: int = 4, client_queue: int = 64,
                 max_frame_bytes: int = 1 << 20, drop_after_s: float = 30.0,
                 on_command: Callable[[str, Command], tuple] | None = None,
                 http: Callable | None = None, max_connections_per_token: int = 20,
                 max_messages_per_s: float = 20.0, ssl: Any = None,
                 holders: dict[str, str] | None = None,
                 recordings: str | None = None, audit: Callable[[dict], None] | None = None,
                 compression: bool = False):
        self.scene = scene
        self.tokens = tokens
        self.host, self.port = host, port
        self.encoder = WireEncoder(precision)
        self.client_queue = client_queue
        self.max_frame_bytes = max_frame_bytes
        self.drop_after_s = drop_after_s
        self.holders = holders or {}          # sha256(token) -> the person holding it
        self.on_command = on_command
        self.http = http                   # process_request: HTTP on the same port
        self.max_connections_per_token = max_connections_per_token
        self.max_messages_per_s = max_messages_per_s
        self.ssl = ssl
        self._per_token: dict[str, int] = {}
        self.recordings = recordings        # the recording folder replays read
        self.replays: dict[int, Any] = {}
        self._replay_ids = 0
        self.cameras: dict[str, bytes] = {}     # wall group -> its last camera message
        self.views: dict[tuple, Any] = {}       # filter key -> View (shared by its clients)
        self.audit = audit                      # every command and its result
        self.compression = "deflate" if compression else None
        self.session_id = uuid.uuid4().hex
        self.clients: set[_Client] = set()
        self.stats = {"frames": 0, "bytes": 0, "catchups": 0, "snapshots": 0, "dropped": 0,
                      "closed_bad": 0, "audit_suppressed": 0, "subscribes_deferred": 0}
        self.alarm_records: dict[Any, dict] = {}   # standing alarms, sent on subscribe
        self._server = None

    async def start(self) -> None:
        self._server = await serve(self._handle, self.host, self.port,
                                   subprotocols=[SUBPROTOCOL], compression=self.compression,
                                   max_size=self.max_frame_bytes, process_request=self.http,
                                   ssl=self.ssl,
                                   # Room for a burst past the rate limit: with a full
                                   # incoming queue reading pauses, and the close frame that
                                   # tells a flooder why would wait for close_timeout.
                                   max_queue=256,
                                   # Pings keep idle connections alive through NATs, but a
                                   # missing pong never closes one: a client that stops
                                   # reading is the slow-client path's to judge (dropped
                                   # with 4009 after drop_after_s, counted), not 1011.
                                   ping_interval=20, ping_timeout=None)
        sock = next(iter(self._server.sockets))
        self.port = sock.getsockname()[1]
        log.info("streaming on ws://%s:%d (%s)", self.host, self.port, SUBPROTOCOL)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # ------------------------------------------------------------------ from the tick

    def publish(self, cs: Changeset) -> None:
        """A committed changeset: encoded once, queued for every streaming client."""
        if not self.clients:
            self.views.clear()
            return                     # skip encoding when nobody listens
        wanted = {c.view for c in self.clients}
        for key in [k for k in self.views if k not in wanted]:
            del self.views[key]        # nobody left on that view: forget it
        # Encoded once per distinct subscription: the whole scene, and each view.
        frames = {key: encode(Diff(self.encoder.encode(view.diff(cs))))
                  for key, view in self.views.items()}
        if None in wanted:
            frames[None] = encode(Diff(self.encoder.encode(cs)))
        now = time.monotonic()
        for c in list(self.clients):
            if c.revision is None or c.replay is not None or c.view not in frames:
                continue
            frame = frames[c.view]
            if c.sending_since is not None and now - c.sending_since > self.drop_after_s:
                self._drop(c)
                continue
            if c.behind:
                continue
            try:
                c.queue.put_nowait((cs.revision, frame))
            except asyncio.QueueFull:
                c.behind = True        # the sender will catch it up in one merged diff
                _drop_queued(c.queue)
                c.queue.put_nowait(None)

    def resync_all(self) -> None:
        """The scene jumped (a gateway re-synchronised): every client gets a snapshot."""
        for c in list(self.clients):
            if c.revision is not None and c.replay is None:
                c.behind = True
                _drop_queued(c.queue)
                c.queue.put_nowait(None)

    def seed_alarms(self, records: list[dict]) -> None:
        """The alarms standing when the server starts (active or unacknowledged): a client
        that subscribes receives them after its snapshot."""
        for r in records:
            self._keep_alarm(r)

    def _keep_alarm(self, alarm: dict) -> None:
        aid = alarm.get("id")
        if alarm.get("cleared_ms") is not None and alarm.get("acked_ms") is not None:
            self.alarm_records.pop(aid, None)          # closed: off the list
        else:
            self.alarm_records[aid] = alarm

    async def _deferred_subscribe(self, c: _Client) -> None:
        action, c.pending_subscribe = c.pending_subscribe, None
        if action is None or c.conn.state.name != "OPEN":
            return
        try:
            await self._act(c, action)
        except ProtocolError as exc:
            self.stats["closed_bad"] += 1
            await c.conn.close(exc.close_code, exc.reason)
        except ConnectionClosed:
            pass

    def publish_alarm(self, alarm: dict) -> None:
        self._keep_alarm(alarm)
        # (a client too far behind to take it sees alarm states on the scene nodes,
        # alarm_level, when it catches up)
        self._to_subscribers(encode(AlarmEvent(alarm)))

    def publish_danger(self, record: dict) -> None:
        """A hidden danger that changed, to every subscribed client (like an alarm; one too far
        behind asks for the list again, danger_list, when it catches up)."""
        self._to_subscribers(encode(DangerEvent(record)))

    def _to_subscribers(self, frame: bytes) -> None:
        """A message between the frames, to every subscribed client that keeps up."""
        for c in list(self.clients):
            if c.revision is not None and not c.behind:
                try:
                    c.queue.put_nowait((None, frame))
                except asyncio.QueueFull:
                    pass

    def _drop(self, c: _Client) -> None:
        self.stats["dropped"] += 1
        self.clients.discard(c)
        asyncio.ensure_future(c.conn.close(4009, "too slow: dropped"))

    # ------------------------------------------------------------------ per connection

    async def _handle(self, conn: ServerConnection) -> None:
        if conn.subprotocol != SUBPROTOCOL:
            await conn.close(1002, f"use the {SUBPROTOCOL} subprotocol")
            return
        sock = conn.transport.get_extra_info("socket") if conn.transport else None
        if sock is not None:
            import socket
            try:                # a small send buffer: a client that stops reading blocks a
                #                 send soon, so drop_after_s is what decides, promptly
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
            except OSError:
                pass
        session = ServerSession(self.tokens, max_bytes=self.max_frame_bytes)
        c = _Client(conn, session, asyncio.Queue(self.client_queue + 1))
        await conn.send(encode(Hello(self.session_id, self.scene.revision)))
        # A token bucket: max_messages_per_s sustained, the same number in a burst.
        allowance, last = self.max_messages_per_s, time.monotonic()
        counted = None
        try:
            async for data in conn:
                now = time.monotonic()
                allowance = min(self.max_messages_per_s,
                                allowance + (now - last) * self.max_messages_per_s)
                last = now
                if allowance < 1:
                    raise ProtocolError("too_fast", "over the message-rate limit")
                allowance -= 1
                if isinstance(data, str):
                    raise ProtocolError("invalid", "text messages are not used")
                for action in session.receive(data):
                    if isinstance(action, Result):        # refused by the role table
                        self._audit(c, session.last_command, action)
                    if isinstance(action, AuthOk):
                        h = session.token_hash
                        if self._per_token.get(h, 0) >= self.max_connections_per_token:
                            raise ProtocolError("too_many", "too many connections for this "
                                                            "token")
                        self._per_token[h] = self._per_token.get(h, 0) + 1
                        counted = h
                    await self._act(c, action)
        except ProtocolError as exc:
            self.stats["closed_bad"] += 1
            await conn.close(exc.close_code, exc.reason)
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(c)
            if c.replay is not None and c in c.replay.members:
                c.replay.members.remove(c)
            if counted is not None:
                self._per_token[counted] -= 1
            if c.task is not None:
                c.task.cancel()

    async def _act(self, c: _Client, action: Any) -> None:
        if isinstance(action, AuthOk):
            await c.conn.send(encode(action))
        elif isinstance(action, Subscribe):
            loop = asyncio.get_running_loop()
            now = loop.time()
            if now < c.next_subscribe_at:
                self.stats["subscribes_deferred"] += 1
                if c.pending_subscribe is None:
                    loop.call_later(c.next_subscribe_at - now,
                                    lambda: asyncio.ensure_future(self._deferred_subscribe(c)))
                c.pending_subscribe = action
                return
            c.next_subscribe_at = now + SUBSCRIBE_INTERVAL_S
            if action.tags or action.box:
                from .views import View, view_key
                key = view_key(action.tags, action.box)
                if not all(isinstance(t, str) for t in action.tags or []) or \
                        not all(isinstance(v, (int, float)) for v in action.box or []):
                    raise ProtocolError("invalid", "subscribe: tags are text, box is numbers")
                try:
                    view = self.views.get(key)
                    if view is None:
                        view = self.views[key] = View(self.scene, action.tags, action.box)
                        snap = view.snapshot(store=True)
                    else:
                        snap = view.snapshot(store=False)
                except ValueError as exc:
                    raise ProtocolError("invalid", f"subscribe: {exc}") from None
                c.view = key
                first = (snap.revision, encode(Snapshot(self.encoder.encode(snap))))
            else:
                c.view = None
                first = self._catch_up(action.resume_from)
            # The client takes the frames published from now on, before the snapshot is sent:
            # a big snapshot's send yields to the tick, and a frame committed meanwhile must
            # not be missed (the replica would refuse the next diff and start over). Its
            # sender holds them until the snapshot and the standing alarms are out.
            c.ready.clear()
            _drop_queued(c.queue)
            c.behind = False
            c.revision = first[0]
            self.clients.add(c)
            if c.task is None:
                c.task = asyncio.create_task(self._sender(c))
            try:
                await c.conn.send(first[1])
                for record in list(self.alarm_records.values()):   # the alarms standing now
                    await c.conn.send(encode(AlarmEvent(record)))
            finally:
                c.ready.set()
        elif isinstance(action, Command) and action.name.startswith("camera_"):
            try:
                result = Result(action.id, True, await self._camera_command(c, action))
            except (ValueError, TypeError) as exc:
                result = Result(action.id, False, str(exc))
            self._audit(c, action, result)
            await c.conn.send(encode(result))
        elif isinstance(action, Command) and action.name.startswith("replay_"):
            try:
                message, data = await self._replay_command(c, action)
                result = Result(action.id, True, message, data)
            except (ValueError, LookupError, KeyError, TypeError) as exc:
                result = Result(action.id, False, str(exc))
            self._audit(c, action, result)
            await c.conn.send(encode(result))
        elif isinstance(action, Command):
            ok, message, data = (False, "commands are not handled by this server", {})
            if self.on_command is not None:
                try:
                    # (ok, message) or (ok, message, data)
                    ok, message, *more = self.on_command(self._caller(c), action)
                    data = more[0] if more else {}
                except Exception as exc:                    # our bug: say so, keep serving
                    log.exception("command %s failed", action.name)
                    ok, message = False, f"internal error ({type(exc).__name__})"
            result = Result(action.id, ok, message, data)
            self._audit(c, action, result)
            await c.conn.send(encode(result))
        elif isinstance(action, Result):
            # A reply to this connection: sent at once (websockets sends whole messages one
            # at a time), never dropped with the broadcast queue.
            await c.conn.send(encode(action))

    def _caller(self, c: _Client) -> Caller:
        return Caller(c.session.role or "viewer",
                      self.holders.get(c.session.token_hash or "", ""))

    def _audit(self, c: _Client, cmd: Command | None, result: Result) -> None:
        if self.audit is None:
            return
        now = time.monotonic()
        c.audit_allowance = min(AUDIT_PER_MINUTE, c.audit_allowance +
                                (now - c.audit_at) * AUDIT_PER_MINUTE / 60)
        c.audit_at = now
        if not result.ok:
            if c.audit_allowance < 1:           # a flood of refused commands: count them
                c.audit_suppressed += 1
                self.stats["audit_suppressed"] += 1
                return
            c.audit_allowance -= 1
        entry = {"time_ms": int(time.time() * 1000), "role": c.session.role,
                 "holder": self._caller(c).holder or None,
                 "token": (c.session.token_hash or "")[:12],
                 "command": cmd.name if cmd else None,
                 "args": _audited_args(cmd.args) if cmd else None,
                 "id": result.id, "ok": result.ok, "message": result.message[:500]}
        if c.audit_suppressed:
            entry["suppressed_before"] = c.audit_suppressed   # refused commands not written
            c.audit_suppressed = 0
        self.audit(entry)

    async def _camera_command(self, c: _Client, cmd: Command) -> str:
        """Wall groups: an operator sets a group's camera; tiles follow it (the wall's
        automatic tour is a client that sets the camera on a timer)."""
        a = cmd.args
        group = a.get("group")
        if not isinstance(group, str) or not group:
            raise ValueError("a wall group is a non-empty name")
        if cmd.name == "camera_follow":
            c.walls.add(group)
            if group in self.cameras:
                await c.conn.send(self.cameras[group])
            return f"following wall group {group}"
        if cmd.name == "camera_unfollow":
            c.walls.discard(group)
            return f"no longer following {group}"
        pos, target, fov = a.get("position"), a.get("target"), a.get("fov", 50.0)
        for name, v in (("position", pos), ("target", target)):
            if not (isinstance(v, list) and len(v) == 3 and
                    all(isinstance(x, (int, float)) and x == x and abs(x) < 1e7 for x in v)):
                raise ValueError(f"{name} is [x, y, z] in scene metres")
        if not isinstance(fov, (int, float)) or not 1 <= fov <= 170:
            raise ValueError("fov is degrees in [1, 170]")
        hidden = a.get("hidden")
        if hidden is not None and not (isinstance(hidden, list) and len(hidden) <= 64 and all(
                isinstance(x, str) and 0 < len(x) <= 64 for x in hidden)):
            raise ValueError("hidden is a list of at most 64 layer tags")
        frame = encode(Camera(group, [float(x) for x in pos], [float(x) for x in target],
                              float(fov), hidden))
        self.cameras[group] = frame
        followers = [x for x in self.clients if group in x.walls]
        await asyncio.gather(*(x.conn.send(frame) for x in followers), return_exceptions=True)
        return f"camera of {group} set for {len(followers)} tiles"

    async def _replay_command(self, c: _Client, cmd: Command) -> tuple[str, dict]:
        from .recording import Recording
        from .replay import ReplaySession
        a = cmd.args
        if cmd.name == "replay_open":
            if self.recordings is None:
                raise LookupError("this server keeps no recordings")
            self._replay_ids += 1

            async def send(client: _Client, frame: bytes) -> None:
                await client.conn.send(frame)
            session = ReplaySession(self._replay_ids, Recording(self.recordings),
                                    int(a.get("start_ms", 0)), float(a.get("speed", 1.0)), send)
            self.replays[session.id] = session
            await self._enter_replay(c, session)
            return f"replay {session.id} opened", {"replay": session.id, "span": session.span}
        session = self.replays.get(int(a.get("replay", -1)))
        if session is None:
            raise LookupError(f"no replay {a.get('replay')!r}")
        if cmd.name == "replay_join":
            await self._enter_replay(c, session)
            return f"joined replay {session.id}", {"replay": session.id}
        if cmd.name == "replay_control":
            await session.control(str(a.get("action")), a.get("value"))
            return f"replay {session.id}: {a.get('action')}", {}
        if cmd.name == "replay_leave":
            await self._leave_replay(c)
            return f"left replay {session.id}", {}
        if cmd.name == "replay_close":
            for member in list(session.members):
                await self._leave_replay(member)
            session.close()
            del self.replays[session.id]
            return f"replay {session.id} closed", {}
        raise LookupError(f"unknown command {cmd.name!r}")

    async def _enter_replay(self, c: _Client, session: Any) -> None:
        if c.replay is not None:
            await self._leave_replay(c, resume_live=False)
        c.replay = session
        _drop_queued(c.queue)                # no live frame may follow the replay's
        await session.join(c)

    async def _leave_replay(self, c: _Client, resume_live: bool = True) -> None:
        session = c.replay
        if session is None:
            return
        c.replay = None
        if c in session.members:
            session.members.remove(c)
        if resume_live:
            # Back to the live scene: the replay's end, a fresh snapshot, then live diffs.
            _drop_queued(c.queue)
            await c.conn.send(encode(ReplayStatus(session.id, int(session.time_ms), session.speed,
                                                  False, session.span, session.markers,
                                                  ended=True)))
            rev, frame = self._catch_up(None)
            c.view = None                         # back to the whole live scene
            await c.conn.send(frame)
            c.revision = rev

    def _catch_up(self, since: int | None) -> tuple[int, bytes]:
        """(revision, frame): a merged diff from ``since``, or a snapshot."""
        if since is not None:
            cs = self.scene.changes_since(since)
            if cs is not None:
                self.stats["catchups"] += 1
                return cs.revision, encode(Diff(self.encoder.encode(cs)))
        self.stats["snapshots"] += 1
        snap = self.scene.snapshot()
        return snap.revision, encode(Snapshot(self.encoder.encode(snap)))

    async def _sender(self, c: _Client) -> None:
        try:
            while True:
                item = await c.queue.get()
                if item is None or c.behind:
                    c.behind = False
                    _drop_queued(c.queue)
                    c.catchups += 1
                    if c.view is not None and c.view in self.views:
                        # A view has no history to merge: the client starts over from the
                        # view's current state.
                        snap = self.views[c.view].snapshot(store=False)
                        rev, frame = snap.revision, encode(Snapshot(self.encoder.encode(snap)))
                    else:
                        rev, frame = self._catch_up(c.revision)
                else:
                    rev, frame = item
                if not c.ready.is_set():
                    await c.ready.wait()          # a snapshot is being sent first
                    if rev is not None and c.revision is not None and rev <= c.revision:
                        continue                  # (what the snapshot already holds)
                if c.replay is not None:
                    continue                      # watching a replay: live frames wait
                c.sending_since = time.monotonic()
                await c.conn.send(frame)
                c.sending_since = None
                self.stats["frames"] += 1
                self.stats["bytes"] += len(frame)
                if rev is not None:
                    c.revision = rev
        except ConnectionClosed:
            pass
