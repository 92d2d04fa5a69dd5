"""MQTT and Redis Streams feeds against real servers on loopback, and the JSON payload."""

from __future__ import annotations

import asyncio
import json


from live_bindings.feeds import MqttFeed, RedisStreamFeed, decode_json_payload
from tests.helpers import until as _until
from twin.observation import FeedQueue

OBS = {"kind": "point", "key": "002A02", "time": "2026-11-02T08:00:05+08:00", "value": 0.52,
       "unit": "%"}


def test_payload_decoding():
    obs, problems = decode_json_payload(json.dumps([
        OBS, {**OBS, "time": None, "time_ms": 1}, {"kind": "card", "key": "1" * 17,
                                                   "time_ms": 5, "value": True,
                                                   "position": [1, 2, 3]},
        {**OBS, "value": None, "kind": "weather"}, {**OBS, "colour": 1}, {**OBS, "time": "soon"},
        {**OBS, "position": [1, 2]}, {**OBS, "time": "2026-11-02T08:00:05"}]).encode(), "test")
    assert [(o.kind, o.key, o.time_ms) for o in obs] == [
        ("point", "002A02", 1793577605000), ("point", "002A02", 1), ("card", "1" * 17, 5)]
    assert obs[2].position == (1.0, 2.0, 3.0)
    assert [p.split(":")[0] for p in problems] == ["element 3", "element 4", "element 5",
                                                   "element 6", "element 7"]
    assert "kind 'weather'" in problems[0] and "needs a UTC offset" in problems[4]
    assert decode_json_payload(b"{nope", "t")[1][0].startswith("not JSON")
    assert decode_json_payload(b'{"kind":"point","key":"x","time_ms":1,"value":NaN}', "t")[1]


class Tick:
    """What the twin's tick does with a feed's queue: take what is there, process it, and
    tell the feed (which then acknowledges it to its source)."""

    def __init__(self, q: FeedQueue, feed):
        self.q, self.feed, self.got = q, feed, []

    def __call__(self) -> int:
        self.got.extend(self.q.drain())
        self.feed.processed(self.q.taken)
        return len(self.got)


def test_mqtt_round_trip_survives_a_broker_restart(mqtt_broker):
    import aiomqtt

    async def main():
        q = FeedQueue()
        feed = MqttFeed(q, port=mqtt_broker.port, client_id="twin-test")
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        await asyncio.wait_for(feed.connected.wait(), 20)
        async with aiomqtt.Client("127.0.0.1", mqtt_broker.port) as pub:
            await pub.publish("minetwin/520522000001/obs/cdss", json.dumps(OBS), qos=1)
            await pub.publish("minetwin/520522000001/obs/cdss", b"garbage", qos=1)
            await pub.publish("other/topic", json.dumps(OBS), qos=1)
        tick = Tick(q, feed)
        await _until(lambda: feed.stats["refused"] == 1 and tick() == 1 and
                     feed.stats["acked"] == 2, "the first messages, processed and acknowledged")
        mqtt_broker.stop()
        await _until(lambda: not feed.connected.is_set(), "the disconnect")
        mqtt_broker.start()
        await asyncio.wait_for(feed.connected.wait(), 30)
        async with aiomqtt.Client("127.0.0.1", mqtt_broker.port) as pub:
            await pub.publish("minetwin/520522000001/obs/ryss",
                              json.dumps([{**OBS, "value": 0.61}, {**OBS, "value": 0.62}]), qos=1)
        await _until(lambda: tick() >= 3 and {o.value for o in tick.got} >= {0.61, 0.62},
                     "the messages after the restart")
        stop.set()
        await task
        return tick.got, feed
    got, feed = asyncio.run(main())
    # At least once: an acknowledgement still on its way when the broker stopped means the
    # message comes again (the history stores a reading once per point and time).
    assert sorted(set(o.value for o in got)) == [0.52, 0.61, 0.62]
    assert [o.value for o in got][-2:] == [0.61, 0.62]
    assert got[0].source == "mqtt:minetwin/520522000001/obs/cdss"
    assert feed.stats["disconnects"] >= 1


def test_redis_stream_resumes_after_a_restart_without_loss_or_duplication(redis_server):
    import redis

    url = f"redis://127.0.0.1:{redis_server.port}/0"
    r = redis.Redis(host="127.0.0.1", port=redis_server.port)
    for i in range(5):
        r.xadd("minetwin:obs", {"data": json.dumps({**OBS, "value": i})})
    r.xadd("minetwin:obs", {"data": b"not json"})

    async def run_feed(expected: int) -> tuple[list, RedisStreamFeed]:
        q = FeedQueue()
        feed = RedisStreamFeed(q, url=url, block_ms=100)
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        last = r.xrevrange("minetwin:obs", count=1)[0][0]      # read up to the stream's end
        got = []

        def tick():                      # what the twin's tick does: take, process, report
            got.extend(q.drain())
            feed.processed(q.taken)
            return len(got) >= expected and r.get(feed.state_key) == last
        await _until(tick, f"{expected} observations processed and the cursor at the end")
        stop.set()
        await task
        return got, feed

    first, feed = asyncio.run(run_feed(5))
    assert [o.value for o in first] == [0, 1, 2, 3, 4] and feed.stats["refused"] == 1
    for i in range(5, 8):
        r.xadd("minetwin:obs", {"data": json.dumps({**OBS, "value": i})})
    second, _ = asyncio.run(run_feed(3))
    assert [o.value for o in second] == [5, 6, 7]
    r.close()


def test_exposure_payloads_need_a_position():
    exp = {"kind": "exposure", "key": "M9", "time_ms": 7, "param": "face:11901",
           "position": [1082.5, -335.0, 1018.93], "value": 1.76, "unit": "m"}
    obs, problems = decode_json_payload(json.dumps([exp, {**exp, "position": None}]).encode(),
                                        "test")
    assert [(o.kind, o.key, o.param, o.position, o.value) for o in obs] == [
        ("exposure", "M9", "face:11901", (1082.5, -335.0, 1018.93), 1.76)]
    assert problems == ["element 1: an exposure needs its position [x, y, floor z]"]


def test_mqtt_keeps_what_the_broker_accepted_while_the_twin_was_away(mqtt_broker):
    """#18.1 — a stable client id and a kept session: messages published while the feed is
    gone (the twin restarting, the broker restarted meanwhile) arrive when it is back. Before:
    a random id and a clean session, and every one of them was lost."""
    import aiomqtt

    async def feed_until(n: int, *, process: bool = True) -> list:
        q = FeedQueue()
        feed = MqttFeed(q, port=mqtt_broker.port, client_id="minetwin-520522000001")
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        await asyncio.wait_for(feed.connected.wait(), 30)
        tick = Tick(q, feed)
        await _until(lambda: (tick() if process else len(q)) >= n and
                     (not process or feed.stats["acked"] >= n), f"{n} observations")
        stop.set()
        await task
        return tick.got if process else q.drain()

    async def main():
        await feed_until(0)                         # subscribes once: the session exists
        mqtt_broker.stop()                          # the broker restarts while the twin is away
        mqtt_broker.start()
        async with aiomqtt.Client("127.0.0.1", mqtt_broker.port) as pub:
            for i in range(500):
                await pub.publish("minetwin/520522000001/obs/cdss",
                                  json.dumps({**OBS, "time": None, "time_ms": 1_000 + i,
                                              "value": i / 1000}), qos=1)
        # The twin is back with the same id, and dies before its tick processed them: they
        # were never acknowledged, so the broker delivers them again to the next run.
        taken = await feed_until(500, process=False)
        again = await feed_until(500)
        return taken, again
    taken, again = asyncio.run(main())
    assert sorted(o.time_ms for o in taken) == [1_000 + i for i in range(500)]
    assert sorted(o.time_ms for o in again) == [1_000 + i for i in range(500)]


def test_hostile_messages_never_end_the_feed(mqtt_broker):
    """#18.2 — a 400-digit number and JSON nested 100 000 deep killed the MQTT task, silently.
    Every message is judged alone: counted, and the next good one still arrives."""
    import aiomqtt

    hostile = [json.dumps({**OBS, "value": int("9" * 400)}).encode(),
               b"[" * 100_000 + b"]" * 100_000,
               b'{"kind": "point", "key": "x", "time_ms": 1, "value": ' + b"[" * 5000 + b"]" * 5000
               + b"}",
               json.dumps({**OBS, "state": "high"}).encode(),
               "\ud800".encode("utf-8", "surrogatepass"), b"\xff\xfe", b""]

    async def main():
        q = FeedQueue()
        feed = MqttFeed(q, port=mqtt_broker.port, client_id="hostile-test")
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        await asyncio.wait_for(feed.connected.wait(), 30)
        async with aiomqtt.Client("127.0.0.1", mqtt_broker.port) as pub:
            for payload in hostile:
                await pub.publish("minetwin/520522000001/obs/cdss", payload, qos=1)
            await pub.publish("minetwin/520522000001/obs/cdss", json.dumps(OBS), qos=1)
        await _until(lambda: len(q) == 1 or task.done(), "the good message after the bad ones")
        q.drain()
        feed.processed(q.taken)
        assert not task.done()
        stop.set()
        await task
        return feed
    feed = asyncio.run(main())
    assert feed.stats["refused"] == len(hostile) and feed.stats["observations"] == 1


def test_payload_limits_are_checked_before_parsing():
    obs, problems = decode_json_payload(b"[" * 40 + b"]" * 40, "t")
    assert obs == [] and "nested deeper than 32" in problems[0]
    # strings may hold brackets: they do not count as nesting
    obs, problems = decode_json_payload(json.dumps({**OBS, "unit": "[" * 100}).encode(), "t")
    assert len(obs) == 1 and problems == []
    obs, problems = decode_json_payload(json.dumps([{**OBS, "value": 10 ** 400}, OBS]).encode(),
                                        "t")
    assert len(obs) == 1 and "too large" in problems[0]
