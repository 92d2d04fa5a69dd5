"""Replay for drills through the protocol: open at a time, play, seek, trainees follow,
back to live."""

import asyncio
import hashlib

import numpy as np

from scene import Scene
from streaming.client import StreamClient
from streaming.recording import Recorder
from streaming.server import StreamServer

from .test_server import _until, workload

TOKENS = {hashlib.sha256(b"teacher").hexdigest(): "instructor",
          hashlib.sha256(b"trainee").hexdigest(): "viewer"}
T0 = 1_793_577_600_000


def test_an_instructor_replays_and_trainees_follow(tmp_path):
    rng = np.random.default_rng(5)
    recorded = Scene(history_limit=10)
    rec = Recorder(tmp_path / "rec", recorded, keyframe_s=10.0)
    states = {}
    for step in range(600):                         # 60 s at 10 Hz
        workload(recorded, rng, step)
        cs = recorded.commit(T0 + step * 100)
        rec.record(cs)
        states[cs.time_ms] = recorded.snapshot()
        if step == 300:
            rec.record_alarm(cs.time_ms, {"id": 9, "node": "n/1"})
    rec.close()

    async def main():
        live = Scene()
        live.add("live-node")
        live.commit(1)
        server = StreamServer(live, tokens=TOKENS, port=0, precision=8,
                              recordings=str(tmp_path / "rec"))
        await server.start()
        url = f"ws://127.0.0.1:{server.port}"
        stop = asyncio.Event()
        teacher, trainee = StreamClient(url, "teacher"), StreamClient(url, "trainee")
        tasks = [asyncio.create_task(c.run(stop)) for c in (teacher, trainee)]
        await _until(lambda: teacher.revision == 1 and trainee.revision == 1, "live")
        refused = await trainee.command("replay_open", start_ms=T0)
        assert not refused.ok and "instructor" in refused.message
        opened = await teacher.command("replay_open", start_ms=T0 + 20_000, speed=20.0)
        assert opened.ok and opened.data["span"] == [T0, T0 + 59_900]
        rid = opened.data["replay"]
        at = T0 + 20_000
        await _until(lambda: teacher.replica.scene.snapshot() == states[at], "the opening state")
        joined = await trainee.command("replay_join", replay=rid)
        assert joined.ok
        await _until(lambda: trainee.replica.scene.snapshot() == states[at], "the trainee's")
        assert teacher.replay.markers == [T0 + 30_000] and teacher.replay.playing is False
        # Play at ×20: both follow the recorded timeline to its end.
        await teacher.command("replay_control", replay=rid, action="play")
        end = T0 + 59_900
        await _until(lambda: teacher.replica.scene.snapshot() == states[end] and
                     trainee.replica.scene.snapshot() == states[end], "the end of the replay")
        # Seek lands on the exact state, for everyone.
        await teacher.command("replay_control", replay=rid, action="seek", value=T0 + 12_300)
        await _until(lambda: trainee.replica.scene.snapshot() == states[T0 + 12_300], "the seek")
        bad = await teacher.command("replay_control", replay=rid, action="rewind")
        assert not bad.ok and "unknown replay action" in bad.message
        # Closing sends everyone back to the live scene.
        assert (await teacher.command("replay_close", replay=rid)).ok
        await _until(lambda: trainee.replica == live and teacher.replica == live, "back to live")
        live.set_translation("live-node", (1, 2, 3))
        server.publish(live.commit(2))
        await _until(lambda: trainee.revision == 2, "live diffs again")
        assert trainee.replica == live
        stop.set()
        await asyncio.gather(*tasks)
        await server.stop()
    asyncio.run(main())
