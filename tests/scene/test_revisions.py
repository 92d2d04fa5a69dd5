"""The core invariant: snapshot(r) + every later changeset reproduces the authority exactly,
at every revision; merged changesets equal sequential application; the wire is lossless."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scene import Changeset, Replica, ReplicaError, Scene, merge
from scene.changes import CORE_FIELDS
from scene.wire import WireDecoder, WireEncoder

from .histories import step


def run_history(data, n_steps: int):
    """Drive a random history; yield (changeset, authority snapshot after it) per commit."""
    scene = Scene(history_limit=1000)
    counter = [0]
    t = 0
    for _ in range(n_steps):
        op = step(data, scene, counter)
        if op == "commit":
            t += 100
            cs = scene.commit(t)
            yield scene, cs
    t += 100
    yield scene, scene.commit(t)


@settings(max_examples=60)
@given(st.data())
def test_replica_equals_authority_at_every_revision(data):
    replica = Replica()
    replica.apply(Scene().snapshot())
    late = None
    for scene, cs in run_history(data, 60):
        replica.apply(cs)
        assert replica == scene
        # A client joining now from a snapshot is equal too, and stays equal.
        if late is None and data.draw(st.booleans(), label="join"):
            late = Replica()
            late.apply(scene.snapshot())
        elif late is not None:
            late.apply(cs)
        if late is not None:
            assert late == scene


@settings(max_examples=40)
@given(st.data())
def test_merged_changesets_equal_sequential_application(data):
    snapshots = [Scene().snapshot()]
    changesets: list[Changeset] = []
    for scene, cs in run_history(data, 50):
        changesets.append(cs)
        snapshots.append(scene.snapshot())
    n = len(changesets)
    a = data.draw(st.integers(0, n - 1), label="from")
    b = data.draw(st.integers(a + 1, n), label="to")
    # Replica at revision a (from that revision's snapshot) + one merged diff == revision b.
    replica = Replica()
    replica.apply(snapshots[a])
    merged = merge(changesets[a:b])
    assert merged.base == snapshots[a].revision and merged.revision == snapshots[b].revision
    replica.apply(merged)
    assert replica.scene.snapshot() == snapshots[b]
    # Merging a snapshot with the diffs after it gives the later snapshot's state.
    from_snapshot = Replica()
    from_snapshot.apply(merge([snapshots[a]] + changesets[a:b]))
    assert from_snapshot.scene.snapshot() == snapshots[b]
    # Merge is associative.
    if b - a >= 3:
        k = data.draw(st.integers(a + 1, b - 1), label="split")
        assert merge([merge(changesets[a:k]), merge(changesets[k:b])]) == merged


@settings(max_examples=40)
@given(st.data())
def test_wire_round_trip_is_lossless_in_float64(data):
    enc, dec = WireEncoder(precision=8), WireDecoder()
    dec.decode(enc.encode(Scene().snapshot()))
    replica = Replica()
    for scene, cs in run_history(data, 50):
        frame = enc.encode(cs)
        decoded = dec.decode(frame)
        assert decoded == cs
        snap = scene.snapshot()
        assert WireDecoder().decode(enc.encode(snap)) == snap
        if replica.revision is None:
            replica.apply(WireDecoder().decode(enc.encode(snap)))
            dec2 = WireDecoder()
            dec2.decode(enc.encode(snap))
        else:
            replica.apply(dec2.decode(frame))
        assert replica == scene


def _quantised(snapshot: Changeset) -> Changeset:
    """A snapshot with transforms rounded to float32, as the default wire sends them."""
    fields = dict(snapshot.fields)
    for name in ("t", "r", "s"):
        if name in fields:
            fc = fields[name]
            fields[name] = type(fc)(fc.handles, fc.values.astype(np.float32).astype(np.float64))
    return Changeset(kind=snapshot.kind, base=snapshot.base, revision=snapshot.revision,
                     time_ms=snapshot.time_ms, schema=snapshot.schema, added=snapshot.added,
                     added_ids=snapshot.added_ids, removed=snapshot.removed, fields=fields)


@settings(max_examples=30)
@given(st.data())
def test_float32_wire_replica_equals_authority_within_float32(data):
    enc, dec = WireEncoder(precision=4), WireDecoder()
    replica = Replica()
    replica.apply(dec.decode(enc.encode(Scene().snapshot())))
    for scene, cs in run_history(data, 40):
        replica.apply(dec.decode(enc.encode(cs)))
        # Transforms were sent as float32: equal to the authority's rounded to float32,
        # except fields whose rounding left them at their default and so unsent.
        got = _quantised(replica.scene.snapshot())
        want = _quantised(scene.snapshot())
        for name in ("t", "r", "s"):
            default = tuple(CORE_FIELDS[name].default)
            g, w = got.fields.get(name), want.fields.get(name)
            g_map = dict(zip(g.handles.tolist(), map(tuple, g.values))) if g else {}
            w_map = dict(zip(w.handles.tolist(), map(tuple, w.values))) if w else {}
            assert g_map == {h: v for h, v in w_map.items() if v != default}
        assert {k: v for k, v in got.fields.items() if k not in "trs"} == \
            {k: v for k, v in want.fields.items() if k not in "trs"}


def test_changes_since_merges_history_or_says_it_cannot():
    scene = Scene(history_limit=3)
    scene.add("a")
    scene.commit(1)
    base = scene.snapshot()
    for i in range(2, 5):
        scene.set_translation("a", (i, 0, 0))
        scene.commit(i)
    catch_up = scene.changes_since(base.revision)
    replica = Replica()
    replica.apply(base)
    replica.apply(catch_up)
    assert replica == scene
    assert scene.changes_since(scene.revision).is_empty
    scene.set_translation("a", (9, 0, 0))
    scene.commit(9)
    assert scene.changes_since(base.revision) is None   # history of 3 no longer reaches


def test_replica_rejects_a_gap():
    scene = Scene()
    replica = Replica()
    replica.apply(scene.snapshot())
    scene.add("a")
    scene.commit(1)
    scene.add("b")
    cs2 = scene.commit(2)
    with pytest.raises(ReplicaError, match="does not follow"):
        replica.apply(cs2)
    with pytest.raises(ReplicaError, match="needs a snapshot"):
        Replica().apply(cs2)
