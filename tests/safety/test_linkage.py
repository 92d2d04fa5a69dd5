"""#20.4 The CDDY linkage relations in the model, and the rules that use them: a power-off the
feeder does not follow (YCBJ 003), both doors of an interlocked pair open, a fan stopped with
no standby running — each from the simulator's drills, and end to end on its node."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from safety import AlarmBook, Linkage, RuleEngine, resolve_rules
from safety.wording import alarm_text
from tests.helpers import app_config, start_app, until
from twin import MineDataError, Observation, Simulator, load_mine
from twin.model import Relation, parse_relations
from twin.sim.scenarios import parse_scenario

S = 1000


def test_relations_are_parsed_from_the_cddy_field():
    text = "D-002D11-11901工作面馈电开关◇G-001D08:G-001D07-大巷风门(外)◇Z-006D06"
    assert parse_relations(text, own="001D07") == (
        Relation("D", "002D11", "11901工作面馈电开关"), Relation("G", "001D08", ""),
        Relation("Z", "006D06", ""))
    assert parse_relations("d-002D11：K-003D01") == (Relation("D", "002D11"),
                                                    Relation("K", "003D01"))
    assert parse_relations("") == ()
    with pytest.raises(ValueError, match="'X' is not a relation code"):
        parse_relations("X-002D11")
    with pytest.raises(ValueError, match="no related point"):
        parse_relations("D-")


def test_the_demo_mines_linkage(demo_model):
    m = demo_model
    by_location = {s.location: c for c, s in m.sensors.items()}
    feeder = by_location["11901工作面馈电开关"]
    for loc in ("11901上隅角", "11901工作面", "11901回风巷"):        # T0, T1, T2 cut the face
        ch4 = next(c for c, s in m.sensors.items() if s.location == loc and s.type_code == "0001")
        assert m.sensors[ch4].related("D") == (feeder,)
    assert m.sensors[by_location["大巷风门(外)"]].related("G") == (by_location["大巷风门(内)"],)
    assert m.sensors[by_location["主通风机(1号)"]].related("Z") == (by_location["主通风机(2号备用)"],)
    link = Linkage(m)
    # three door pairs, the main fans and each heading's two local fans, the CH4 points
    # cutting the face's feeder (3) and each of the four headings' (2 each)
    assert len(link.pairs) == 3 and len(link.groups) == 5 and len(link.cuts) == 11


def test_a_bad_relation_is_a_mine_folder_error(demo_dir, tmp_path):
    folder = tmp_path / "mine"
    shutil.copytree(demo_dir, folder)
    cddy = next((folder / "upload").glob("*_CDDY_*.txt"))
    text = cddy.read_text("utf-8")
    assert "D-002D11-11901工作面馈电开关" in text
    cddy.write_text(text.replace("D-002D11-11901工作面馈电开关", "Q-002D11", 1)
                    .replace("G-001D08-大巷风门(内)", "G-009D99-", 1), "utf-8")
    with pytest.raises(MineDataError) as err:
        load_mine(folder)
    msg = str(err.value)
    assert "relations" in msg and "'Q' is not a relation code" in msg
    assert "'009D99' is not a point of the CDDY file" in msg


def drill(model, events, seconds, step=10):
    """The simulator's drill judged by the rule engine and the linkage: the linkage's events."""
    sim = Simulator(model, seed=3, scenario=parse_scenario({"event": events}))
    rules, link, out = RuleEngine(resolve_rules(model)), Linkage(model), []
    for t in range(step, seconds + step, step):
        obs = sim.run_until(t)
        out += [(t, e) for e in link.observe(obs, rules.evaluate(obs))]
    return out


def code(model, location):
    return next(c for c, s in model.sensors.items() if s.location == location)


def test_a_feeder_that_does_not_cut_is_feed_abnormal(demo_model):
    m = demo_model
    feeder = code(m, "11902运输巷掘进馈电开关")
    outburst = {"type": "gas_outburst", "at": "00:01:00", "place": "heading:11902-intake-heading",
                "duration": "00:10:00"}
    # the feeder obeys: the heading's CH4 points cut the power, no alarm
    assert drill(m, [outburst], 1800) == []
    # the feeder keeps its voltage: feed abnormal on the feeder 20 s after each power-off
    # (the face's point at once, the return's when the gas reaches it), until re-powered
    got = drill(m, [outburst, {"type": "feeder_stuck", "at": "00:00:00",
                               "place": f"point:{feeder}"}], 1800)
    assert [(e.kind, e.rule.id, e.node) for _, e in got] == [
        ("raise", f"{feeder}/feed/feed_abnormal", f"sensor/{feeder}"),
        ("clear", f"{feeder}/feed/feed_abnormal", f"sensor/{feeder}")] * (len(got) // 2)
    assert got
    raised = got[0][1]
    assert raised.rule.level == 3 and 20 <= raised.value <= 40 and raised.threshold == 20
    assert 60 < got[0][0] <= 100 and got[1][0] > got[0][0] + 300     # the outburst's gas
    assert alarm_text({"rule": raised.rule.id, "value": 25.0, "threshold": 20.0}, m) == \
        "馈电异常：断电 25 秒后仍有电（限 20 秒）"


def test_an_interlocked_door_pair_open_together_is_an_alarm(demo_model):
    m = demo_model
    a, b = code(m, "大巷风门(外)"), code(m, "大巷风门(内)")
    one = {"type": "door_open", "at": "00:01:00", "place": f"point:{a}", "duration": "00:05:00"}
    assert drill(m, [one], 600) == []                        # one door open: people passing
    got = drill(m, [one, {"type": "door_open", "at": "00:02:00", "place": f"point:{b}",
                          "duration": "00:01:00"}], 600)
    assert [(t, e.kind, e.node, e.rule.level) for t, e in got] == [
        (130, "raise", f"sensor/{a}", 2), (190, "clear", f"sensor/{a}", 2)]
    assert alarm_text({"rule": got[0][1].rule.id, "value": 0, "threshold": 0}, m, "en") == \
        "both doors of an interlocked pair open"


def test_a_main_fan_stopped_without_its_standby_is_an_alarm(demo_model):
    m = demo_model
    main = code(m, "主通风机(1号)")
    stop = {"type": "fan_stop", "at": "00:02:00", "place": f"point:{main}", "duration": "00:30:00"}
    # the standby starts 3 minutes later: within the 10 allowed
    assert drill(m, [{**stop, "magnitude": 3}], 1200) == []
    # it starts 13 minutes later: an alarm 10 minutes after the stop, cleared when it runs
    got = drill(m, [{**stop, "magnitude": 13}], 1200)
    assert [(e.kind, e.node, e.rule.level) for _, e in got] == [
        ("raise", f"sensor/{main}", 3), ("clear", f"sensor/{main}", 3)]
    assert 720 <= got[0][0] <= 740 and 900 <= got[1][0] <= 920
    assert alarm_text({"rule": got[0][1].rule.id, "value": 600, "threshold": 600}, m) == \
        "主通风机停止 600 秒，备用未启动（限 600 秒）"


def test_the_linkage_is_judged_on_the_datas_clock_and_after_a_restart(demo_model):
    m = demo_model
    feeder = code(m, "11901工作面馈电开关")
    ch4 = code(m, "11901上隅角")
    link = Linkage(m)
    rule = resolve_rules(m)[ch4][0]
    t0 = 1_700_000_000_000
    live = Observation("t", "point", feeder, t0, True)
    from safety.rules import RuleEvent
    cut = RuleEvent("power_off", rule, ch4, t0, 1.8, 1.5)
    assert link.observe([live], [cut]) == []
    # a day later by the PC, 10 s later in the data: not yet
    assert link.observe([Observation("t", "point", ch4, t0 + 10 * S, 1.8, "%")]) == []
    (ev,) = link.observe([Observation("t", "point", feeder, t0 + 25 * S, True)])
    assert ev.kind == "raise"
    book = AlarmBook(m)
    (alarm,) = book.apply([ev])
    assert alarm.node == f"sensor/{feeder}"
    # after a restart the rule engine still holds the CH4 point powered off, and the alarm is open
    again = Linkage(m)
    again.restore({ch4}, {ev.rule.id})
    assert again.observe([Observation("t", "point", feeder, t0 + 30 * S, True)]) == []
    (clear,) = again.observe([Observation("t", "point", feeder, t0 + 31 * S, False)])
    assert clear.kind == "clear" and clear.rule.id == ev.rule.id


def test_each_linkage_drill_shows_its_alarm_on_its_node(demo_dir, tmp_path, demo_model):
    m = demo_model
    feeder, door, fan = (code(m, loc) for loc in ("11902运输巷掘进馈电开关", "119盘区风门(外)",
                                                  "主通风机(1号)"))
    (tmp_path / "drill.toml").write_text(f"""
[[event]]
type = "gas_outburst"
at = "00:00:30"
place = "heading:11902-intake-heading"
[[event]]
type = "feeder_stuck"
at = "00:00:00"
place = "point:{feeder}"
[[event]]
type = "door_open"
at = "00:00:30"
duration = "00:30:00"
place = "point:{door}"
[[event]]
type = "door_open"
at = "00:00:40"
duration = "00:30:00"
place = "point:{code(m, "119盘区风门(内)")}"
[[event]]
type = "fan_stop"
at = "00:00:30"
place = "point:{fan}"
""")
    app = __import__("minetwin.app", fromlist=["TwinApp"]).TwinApp(
        app_config(demo_dir, tmp_path, sim={"rate": 120.0, "scenario": str(tmp_path / "drill.toml")}),
        demo_dir, port=0)

    async def main():
        stop = asyncio.Event()
        run, _ = await start_app(app, stop)
        want = {f"sensor/{feeder}": 3, f"sensor/{door}": 2, f"sensor/{fan}": 3}
        try:
            await until(lambda: all((app.scene.property(n, "alarm_level") or 0) >= lvl
                                    for n, lvl in want.items()),
                        "the three linkage alarms", timeout=30)
        finally:
            stop.set()
            await run
        return {a.rule.rsplit("/", 1)[-1]: a for a in app.alarms.listing() if a.active}

    try:
        active = asyncio.run(main())
    finally:
        app.close()
    assert {"feed_abnormal", "pair_open", "no_standby"} <= set(active)
    assert active["feed_abnormal"].node == f"sensor/{feeder}"
    texts = {k: app.alarms.record(a)["text"]["zh"] for k, a in active.items()}
    assert texts["pair_open"] == "联锁风门同时打开" and texts["no_standby"].startswith("主通风机停止")
    assert app.scene.property(f"sensor/{feeder}", "cut_by").startswith(code(m, "11902运输巷掘进工作面"))


def test_a_feeder_never_heard_from_is_not_judged(demo_model):
    m = demo_model
    ch4 = code(m, "11901上隅角")
    from safety.rules import RuleEvent
    link = Linkage(m)
    t0 = 1_700_000_000_000
    cut = RuleEvent("power_off", resolve_rules(m)[ch4][0], ch4, t0, 1.8, 1.5)
    assert link.observe([Observation("t", "point", ch4, t0, 1.8, "%")], [cut]) == []
    assert link.observe([Observation("t", "point", ch4, t0 + 60 * S, 1.8, "%")]) == []
