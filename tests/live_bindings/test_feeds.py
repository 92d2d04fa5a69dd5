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
        await _until(lambda: feed.stats["refused"] == 1 and len(q) == 1, "the first messages")
        mqtt_broker.stop()
        await _until(lambda: not feed.connected.is_set(), "the disconnect")
        mqtt_broker.start()
        await asyncio.wait_for(feed.connected.wait(), 30)
        async with aiomqtt.Client("127.0.0.1", mqtt_broker.port) as pub:
            await pub.publish("minetwin/520522000001/obs/ryss",
                              json.dumps([{**OBS, "value": 0.61}, {**OBS, "value": 0.62}]), qos=1)
        await _until(lambda: len(q) == 3, "the messages after the restart")
        stop.set()
        await task
        return q.drain(), feed
    got, feed = asyncio.run(main())
    assert [o.value for o in got] == [0.52, 0.61, 0.62]
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
        await _until(lambda: len(q) >= expected and r.get(feed.state_key) == last,
                     f"{expected} observations and the cursor at the stream's end")
        stop.set()
        await task
        return q.drain(), feed

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
