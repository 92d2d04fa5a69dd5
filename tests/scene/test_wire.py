"""The wire form: varints, compactness, and clear errors for malformed frames."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scene import Scene, WireError
from scene.wire import WIRE_VERSION, WireDecoder, WireEncoder, decode_varints, encode_varints


@given(st.lists(st.integers(0, 2**63 - 1), max_size=200))
def test_varints_round_trip(values):
    assert decode_varints(encode_varints(np.array(values, dtype=np.uint64))).tolist() == values


def _people(n: int) -> tuple[Scene, np.ndarray]:
    s = Scene(capacity=n + 2)
    for i in range(n):
        s.add(f"person/{i:05d}", tags=["person"])
    s.commit(1)
    return s, s.handles([f"person/{i:05d}" for i in range(n)])


def test_three_changed_floats_cost_at_most_16_bytes_per_entity():
    s, h = _people(10_000)
    s.set_translations(h, np.random.default_rng(0).uniform(-1000, 1000, (10_000, 3)))
    frame = WireEncoder().encode(s.commit(2))
    assert len(frame) / 10_000 <= 16
    sparse = h[::7]   # every 7th person moves: handle deltas still take one byte
    s.set_translations(sparse, np.ones((len(sparse), 3)))
    frame = WireEncoder().encode(s.commit(3))
    assert len(frame) / len(sparse) <= 16


def test_frame_starts_with_version_and_decoder_refuses_others():
    s, _ = _people(3)
    frame = msgpack.unpackb(WireEncoder().encode(s.snapshot()))
    assert frame["v"] == WIRE_VERSION and frame["k"] == "s"
    frame["v"] = 99
    with pytest.raises(WireError, match="unsupported wire version 99"):
        WireDecoder().decode(msgpack.packb(frame))


@pytest.mark.parametrize("mutate, message", [
    (lambda f: f.pop("r"), "malformed frame"),
    (lambda f: f.update(k="z"), "unknown frame kind"),
    (lambda f: f.update(zz=1), "unknown frame keys"),
    (lambda f: f["f"].update({"p:nope": [b"\x01", b"\0" * 8]}), "unknown field 'p:nope'"),
    (lambda f: f["f"]["t"].__setitem__(1, b"\0" * 5), "bytes of values for"),
    (lambda f: f["f"]["t"].__setitem__(0, b"\x81"), "truncated varint"),
    (lambda f: f["a"].__setitem__(1, ["x"]), "ids do not match"),
    (lambda f: f["f"]["name"].__setitem__(1, [3]), "expected a list|text"),
])
def test_malformed_frames_raise_wire_errors(mutate, message):
    s = Scene()
    s.add("a", name="n", translation=(1, 2, 3))
    s.add("b", translation=(1, 2, 3))
    frame = msgpack.unpackb(WireEncoder().encode(s.commit(1)))
    mutate(frame)
    dec = WireDecoder()
    with pytest.raises(WireError, match=message):
        dec.decode(msgpack.packb(frame))


def test_garbage_and_oversized_frames_are_wire_errors():
    with pytest.raises(WireError, match="not a msgpack frame"):
        WireDecoder().decode(b"\xc1garbage")
    with pytest.raises(WireError, match="a frame is a map"):
        WireDecoder().decode(msgpack.packb([1, 2]))
    with pytest.raises(WireError, match="exceeds the limit"):
        WireDecoder(max_frame_bytes=10).decode(b"\x80" * 11)
