"""The MineTwin streaming protocol, version 1 (docs/protocol.md) — sans I/O.

Bytes in → events out; messages in → bytes out. Nothing here touches a socket: the server
(``server.py``) and the client (``client.py``) are thin shells around it, and the tests drive
it with bytes alone.

Every message is one binary WebSocket message holding one msgpack map whose ``t`` names the
type. Scene data travels as the scene's own wire frames (docs/wire.md) inside ``snapshot``
and ``diff`` messages, encoded once per tick and shared by every client.

Errors say whose fault they are (h11's habit): ``ProtocolError`` is the peer's — the
connection is closed with ``close_code`` and a short reason that never echoes internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgpack

__all__ = [
    "PROTOCOL_VERSION", "SUBPROTOCOL", "ROLES", "COMMANDS", "ProtocolError", "CLOSE_CODES",
    "Hello", "Auth", "AuthOk", "Subscribe", "Snapshot", "Diff", "Command", "Result",
    "AlarmEvent", "DangerEvent", "Error", "ReplayStatus", "Camera", "encode", "decode", "ServerSession",
]

PROTOCOL_VERSION = 1
SUBPROTOCOL = "minetwin.v1"

#: Roles and what they may do. A viewer watches; an operator also acknowledges alarms and
#: steers wall cameras; an instructor also runs replays; an admin everything.
ROLES = ("viewer", "operator", "instructor", "admin")
#: Command → the lowest role allowed to send it.
COMMANDS = {"ack_alarm": "operator",
            # hidden dangers: any token may send them; the danger book checks each step's
            # roles and the person (safety/dangers.py, docs/dangers.md)
            **{f"danger_{s}": "viewer" for s in ("report", "assess", "assign", "rectify",
                                                 "verify", "close", "reject", "comment",
                                                 "list", "get")}, "replay_open": "instructor",
            "replay_control": "instructor", "replay_close": "instructor",
            "replay_join": "viewer", "replay_leave": "viewer",
            "camera_set": "operator", "camera_follow": "viewer", "camera_unfollow": "viewer"}

#: WebSocket close codes we use (RFC 6455 §7.4: 4000-4999 are for applications).
CLOSE_CODES = {
    "protocol": 1002,          # not our protocol at all
    "invalid": 1007,           # a message that is not valid msgpack / fields
    "too_big": 1009,           # larger than max_frame_bytes
    "unauthorized": 4001,      # missing or wrong token
    "order": 4002,             # a message that is not allowed in the session's state
    "too_many": 4003,          # more connections with this token than allowed
    "too_fast": 4008,          # over the message-rate limit
    "too_slow": 4009,          # fell too far behind (dropped past the configured limit)
}


class ProtocolError(Exception):
    """The peer broke the protocol; close with ``close_code`` and ``reason``."""

    def __init__(self, kind: str, reason: str):
        self.kind = kind
        self.close_code = CLOSE_CODES[kind]
        self.reason = reason[:120]            # a close reason must fit in 123 bytes
        super().__init__(f"{kind}: {reason}")


# ---------------------------------------------------------------------- messages

@dataclass(frozen=True, slots=True)
class Hello:
    """Server, first: version, session id, capabilities, current revision."""
    session: str
    revision: int
    capabilities: tuple[str, ...] = ("snapshot", "diff", "resume", "alarms", "commands")
    version: int = PROTOCOL_VERSION
    t = "hello"


@dataclass(frozen=True, slots=True)
class Auth:
    """Client: its access token."""
    token: str
    t = "auth"


@dataclass(frozen=True, slots=True)
class AuthOk:
    role: str
    t = "auth_ok"


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Client: start the stream. ``resume_from`` = the last revision it applied (after a
    reconnect in the same server session), or None for a fresh snapshot. ``tags`` and
    ``box`` restrict it to a view (nodes with one of the tags, inside the box, and their
    ancestors); a filtered subscription always starts from a snapshot."""
    resume_from: int | None = None
    tags: list | None = None
    box: list | None = None
    t = "subscribe"

    def __hash__(self) -> int:
        return hash(self.resume_from)


@dataclass(frozen=True, slots=True, eq=False)
class Snapshot:
    """Server: the whole scene; ``data`` is a scene wire frame (docs/wire.md)."""
    data: bytes
    t = "snapshot"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Snapshot) and other.data == self.data


@dataclass(frozen=True, slots=True, eq=False)
class Diff:
    """Server: changes after a revision (one tick, or a merged catch-up)."""
    data: bytes
    t = "diff"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Diff) and other.data == self.data


@dataclass(frozen=True, slots=True)
class Command:
    """Client: ``name`` with ``args``; ``id`` is echoed in the Result."""
    id: int
    name: str
    args: dict = field(default_factory=dict)
    t = "command"

    def __hash__(self) -> int:
        return hash((self.id, self.name))


@dataclass(frozen=True, slots=True)
class Result:
    id: int
    ok: bool
    message: str = ""
    data: dict = field(default_factory=dict)
    t = "result"

    def __hash__(self) -> int:
        return hash((self.id, self.ok, self.message))


@dataclass(frozen=True, slots=True)
class ReplayStatus:
    """Server: where a replay session is — sent to its members on every change and each
    second while it plays."""
    id: int
    time_ms: int
    speed: float
    playing: bool
    span: list
    markers: list
    ended: bool | None = None     # true once: the member is back on the live scene
    t = "replay"

    def __hash__(self) -> int:
        return hash((self.id, self.time_ms))


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """Server: an alarm raised, acknowledged, escalated or cleared (its whole record)."""
    alarm: dict
    t = "alarm"

    def __hash__(self) -> int:
        return hash(self.alarm.get("id"))


@dataclass(frozen=True, slots=True)
class Error:
    code: str
    message: str
    t = "error"


@dataclass(frozen=True, slots=True)
class DangerEvent:
    """Server: a hidden danger reported or moved a step (its whole record, docs/dangers.md)."""
    danger: dict
    t = "danger"

    def __hash__(self) -> int:
        return hash(self.danger.get("id"))


@dataclass(frozen=True, slots=True)
class Camera:
    """Server: a wall group's shared camera (scene coordinates, z up): every tile of the
    group renders from it. ``fov`` is the vertical field of view in degrees."""
    group: str
    position: list
    target: list
    fov: float
    hidden: list | None = None        # the layers (tags) the driving view hides: tiles too
    t = "camera"

    def __hash__(self) -> int:
        return hash(self.group)


_TYPES: dict[str, type] = {c.t: c for c in (Hello, Auth, AuthOk, Subscribe, Snapshot, Diff,
                                            Command, Result, AlarmEvent, Error, ReplayStatus,
                                            Camera, DangerEvent)}
_FIELDS = {Hello: {"session": str, "revision": int, "capabilities": list, "version": int},
           Auth: {"token": str}, AuthOk: {"role": str},
           Subscribe: {"resume_from": (int, type(None)), "tags": (list, type(None)),
                       "box": (list, type(None))},
           Snapshot: {"data": bytes}, Diff: {"data": bytes},
           Command: {"id": int, "name": str, "args": dict},
           Result: {"id": int, "ok": bool, "message": str, "data": dict},
           AlarmEvent: {"alarm": dict}, DangerEvent: {"danger": dict},
           ReplayStatus: {"id": int, "time_ms": int, "speed": (float, int), "playing": bool,
                          "span": list, "markers": list, "ended": (bool, type(None))},
           Camera: {"group": str, "position": list, "target": list, "fov": (float, int),
                    "hidden": (list, type(None))},
           Error: {"code": str, "message": str}}
_OPTIONAL = {Subscribe: {"resume_from", "tags", "box"}, Command: {"args"}, Result: {"message", "data"},
             Hello: {"capabilities", "version"},
             ReplayStatus: {"ended"}, Camera: {"hidden"}}
_packer = msgpack.Packer(use_bin_type=True)
#: Arrays and maps in a message nest at most this deep (a message is a map: level 1).
MAX_DEPTH = 16


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays/maps nest deeper than ``limit`` — iterative, so a hostile message cannot
    exhaust the stack."""
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            items = v.values()
        elif isinstance(v, (list, tuple)):
            items = v
        else:
            continue
        if d > limit:
            return True
        stack.extend((x, d + 1) for x in items if isinstance(x, (dict, list, tuple)))
    return False


def encode(msg: Any) -> bytes:
    body = {"t": msg.t}
    optional = _OPTIONAL.get(type(msg), ())
    for name in _FIELDS[type(msg)]:
        v = getattr(msg, name)
        if v is None and name in optional and name != "resume_from":
            continue                              # optional and absent: not sent
        body[name] = list(v) if isinstance(v, tuple) else v
    return _packer.pack(body)


def decode(data: bytes, max_bytes: int = 1 << 20) -> Any:
    """Bytes → a message, or ProtocolError (the peer's fault)."""
    if len(data) > max_bytes:
        raise ProtocolError("too_big", f"message of {len(data)} bytes over {max_bytes}")
    try:
        body = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception:
        raise ProtocolError("invalid", "not a msgpack message") from None
    if not isinstance(body, dict) or not isinstance(body.get("t"), str) or \
            body["t"] not in _TYPES:
        raise ProtocolError("invalid", "unknown message type")
    if _deeper_than(body, MAX_DEPTH):
        raise ProtocolError("invalid", f"{body['t']}: nested deeper than {MAX_DEPTH} levels")
    cls = _TYPES[body["t"]]
    fields = _FIELDS[cls]
    extra = set(body) - set(fields) - {"t"}
    if extra:
        raise ProtocolError("invalid", f"{cls.t}: unknown fields {sorted(extra)[:3]}")
    kwargs = {}
    for name, typ in fields.items():
        if name not in body:
            if name in _OPTIONAL.get(cls, ()):
                continue
            raise ProtocolError("invalid", f"{cls.t}: missing {name}")
        v = body[name]
        if not isinstance(v, typ) or isinstance(v, bool) and typ is int:
            raise ProtocolError("invalid", f"{cls.t}: bad {name}")
        kwargs[name] = tuple(v) if name == "capabilities" else v
    return cls(**kwargs)


# ---------------------------------------------------------------------- the server's session

class ServerSession:
    """One client connection, server side: a state machine in one table.

    ``receive(bytes)`` returns what to do: a list of messages to send, plus the
    ``subscribe`` / ``command`` requests the server must act on (it owns the scene).
    """

    #: state → message types a client may send in it
    ALLOWED = {"hello_sent": {"auth"}, "authed": {"subscribe", "command"},
               "streaming": {"command", "subscribe"}}

    def __init__(self, tokens: dict[str, str], *, max_bytes: int = 1 << 20):
        self.tokens = tokens               # sha256(token) hex -> role
        self.max_bytes = max_bytes
        self.state = "hello_sent"
        self.role: str | None = None
        self.token_hash: str | None = None
        self.last_command: Command | None = None

    def receive(self, data: bytes) -> list[Any]:
        import hashlib
        msg = decode(data, self.max_bytes)
        if msg.t not in self.ALLOWED[self.state]:
            raise ProtocolError("order", f"{msg.t} is not allowed now")
        if isinstance(msg, Auth):
            h = hashlib.sha256(msg.token.encode()).hexdigest()
            role = self.tokens.get(h)
            if role is None:
                raise ProtocolError("unauthorized", "unknown token")
            self.role, self.token_hash, self.state = role, h, "authed"
            return [AuthOk(role)]
        if isinstance(msg, Subscribe):
            self.state = "streaming"
            return [msg]
        if isinstance(msg, Command):
            self.last_command = msg
            need = COMMANDS.get(msg.name)
            if need is None:
                return [Result(msg.id, False, f"unknown command {msg.name!r}")]
            if ROLES.index(self.role or "viewer") < ROLES.index(need):
                return [Result(msg.id, False, f"{msg.name} needs the {need} role; this "
                                              f"token is {self.role}")]
            return [msg]
        raise ProtocolError("order", f"{msg.t} is not allowed now")   # pragma: no cover
