"""The protocol core with bytes only."""

import hashlib

import msgpack
import pytest

from streaming.protocol import (Auth, AuthOk, Command, Diff, Hello, ProtocolError, Result,
                                ServerSession, Subscribe, decode, encode)

TOKENS = {hashlib.sha256(b"op-token").hexdigest(): "operator",
          hashlib.sha256(b"view-token").hexdigest(): "viewer"}


def test_messages_round_trip_and_have_golden_bytes():
    for msg in (Hello("abc", 7), Auth("t"), AuthOk("viewer"), Subscribe(3), Subscribe(),
                Diff(b"\x01\x02"), Command(1, "ack_alarm", {"alarm": 5, "comment": "ok"}),
                Result(1, True, "done")):
        assert decode(encode(msg)) == msg
    assert encode(Subscribe(3)) == msgpack.packb({"t": "subscribe", "resume_from": 3})
    assert msgpack.unpackb(encode(Hello("abc", 7))) == {
        "t": "hello", "session": "abc", "revision": 7, "version": 1,
        "capabilities": ["snapshot", "diff", "resume", "alarms", "commands"]}


@pytest.mark.parametrize("data, kind", [
    (b"\xc1", "invalid"),
    (msgpack.packb([1]), "invalid"),
    (msgpack.packb({"t": "teleport"}), "invalid"),
    (msgpack.packb({"t": "auth"}), "invalid"),
    (msgpack.packb({"t": "auth", "token": 5}), "invalid"),
    (msgpack.packb({"t": "auth", "token": "x", "admin": True}), "invalid"),
    (b"\x80" * 2000, "too_big"),
    (msgpack.packb({"t": ["auth"]}), "invalid"),
    (msgpack.packb({"t": {"auth": 1}}), "invalid"),
    (msgpack.packb({"t": "command", "id": 1, "name": "x", "args": {"a": [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}}),
     "invalid"),
])
def test_bad_bytes_are_protocol_errors_with_close_codes(data, kind):
    with pytest.raises(ProtocolError) as exc:
        decode(data, max_bytes=1000)
    assert exc.value.kind == kind and exc.value.close_code in (1007, 1009)


def test_the_session_state_machine():
    s = ServerSession(TOKENS)
    with pytest.raises(ProtocolError) as exc:
        s.receive(encode(Subscribe()))                 # before auth
    assert exc.value.close_code == 4002
    with pytest.raises(ProtocolError) as exc:
        ServerSession(TOKENS).receive(encode(Auth("wrong")))
    assert exc.value.close_code == 4001
    assert s.receive(encode(Auth("view-token"))) == [AuthOk("viewer")]
    assert s.receive(encode(Subscribe(None))) == [Subscribe(None)]
    (r,) = s.receive(encode(Command(4, "ack_alarm", {"alarm": 1})))
    assert r == Result(4, False, "ack_alarm needs the operator role; this token is viewer")
    op = ServerSession(TOKENS)
    op.receive(encode(Auth("op-token")))
    assert op.receive(encode(Command(5, "ack_alarm", {"alarm": 1}))) == [
        Command(5, "ack_alarm", {"alarm": 1})]
    assert op.receive(encode(Command(6, "self_destruct")))[0].ok is False
