"""Recording: replays to the same states at sampled revisions, seeks exactly, survives a
SIGKILL, rotates segments and keeps the alarm markers."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from scene import Scene
from streaming.recording import Recorder, Recording

from .test_server import workload


def test_replay_reproduces_every_sampled_state_exactly(tmp_path):
    rng = np.random.default_rng(3)
    scene = Scene(history_limit=10)
    rec = Recorder(tmp_path, scene, keyframe_s=5.0, segment_s=60.0)
    snapshots = {}
    t = 1_793_577_600_000
    for step in range(400):
        workload(scene, rng, step)
        t += 250                                   # 4 Hz for 100 s: two segments
        cs = scene.commit(t)
        rec.record(cs)
        if step % 37 == 0:
            snapshots[t] = scene.snapshot()
        if step == 100:
            rec.record_alarm(t, {"id": 1, "node": "n/1", "level": 2})
    rec.close()
    recording = Recording(tmp_path)
    assert len(recording.segments) == 2 and recording.truncated == []
    for when, snap in snapshots.items():
        assert recording.state_at(when).scene.snapshot() == snap   # seek lands exactly
    # Between commits the state is the last commit's.
    first = min(snapshots)
    assert recording.state_at(first + 100).scene.snapshot() == snapshots[first]
    assert [a for _, a in recording.alarms()] == [{"id": 1, "node": "n/1", "level": 2}]
    with pytest.raises(LookupError):
        Recording(tmp_path / "empty").state_at(0)


def test_a_recorder_killed_with_sigkill_leaves_a_readable_recording(tmp_path):
    script = textwrap.dedent(f"""
        import sys, numpy as np
        sys.path.insert(0, {str(os.getcwd())!r})
        from scene import Scene
        from streaming.recording import Recorder
        from tests.streaming.test_server import workload
        rng = np.random.default_rng(4)
        scene = Scene(history_limit=10)
        rec = Recorder({str(tmp_path)!r}, scene, keyframe_s=2.0, chunk_bytes=4096,
                       fsync_every_s=0.0)
        t = 1_793_577_600_000
        for step in range(100000):
            workload(scene, rng, step)
            t += 100
            rec.record(scene.commit(t))
            if step == 300:
                print("ready", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    recording = Recording(tmp_path)
    msgs = list(recording.all_messages())
    assert len(msgs) > 300                                     # everything up to the damage
    last = msgs[-1].time_ms
    state = recording.state_at(last)                           # and it replays
    assert state.revision > 300 and len(state.scene) > 0
    # #18.17 — the stock mcap reader could not open the cut segment
    # (RecordLengthLimitExceeded). A recorder that starts closes it properly first.
    from mcap.reader import make_reader
    (seg,) = recording.segments
    rec = Recorder(tmp_path, Scene())
    assert rec.recovered == [seg.name] and (tmp_path / (seg.name + ".torn")).exists()
    rec.close()
    with open(seg, "rb") as f:
        reader = make_reader(f)
        stock = [(c.topic, m.log_time // 1_000_000, m.data)
                 for _, c, m in reader.iter_messages(log_time_order=False)]
        assert reader.get_summary().statistics.message_count == len(msgs)
    assert stock == [(m.topic, m.time_ms, m.data) for m in msgs]
    assert Recorder(tmp_path, Scene()).recovered == []          # once is enough
