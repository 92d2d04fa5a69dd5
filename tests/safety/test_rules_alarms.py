"""Regulation rules and alarms: every threshold row, hysteresis, the sensor's own thresholds
winning, calibration not alarming, the alarm life cycle in SQLite, and a simulated outburst
raising T1 then T2 alarms and power-off on the scene."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from assets import AssetStore
from live_bindings import DefaultBindings
from safety import AlarmBook, AlarmError, RuleEngine, resolve_rules
from safety.rules import load_rule_table
from twin.model import (Mine, MineModel, Outstation, Profile, Roadway, Sensor, Thresholds)
from twin.observation import POINT_STATE, Observation
from twin.scene_build import build_scene
from twin.sim import Simulator, parse_scenario

TYPE = {"ch4": "0001", "co": "0004", "o2": "0012", "co2": "0013", "temperature": "0003",
        "air_velocity": "0002"}


def tiny_mine(*sensors: tuple[str, str, str | None, Thresholds, str | None]) -> MineModel:
    """A one-roadway mine with the given sensors: (code, quantity, category, own thresholds,
    roadway type)."""
    roads = {}
    out = {}
    for code, q, cat, th, rtype in sensors:
        rid = f"r-{rtype or 'gateroad'}"
        roads[rid] = Roadway(rid, rid, rtype or "gateroad", Profile("rectangle", 4.0, 3.0),
                             np.array([[0.0, 0, 0], [100, 0, 0]]))
        out[code] = Sensor(code, "01", "001", TYPE[q], "MN", "", (None, None), th, code,
                           (1.0, 0.0, 0.0), rid, 1.0, cat)
    return MineModel(Mine("m", "520522000001", "high"), roads, {}, {},
                     {"001": Outstation("001", "x", (0, 0, 0))}, out, {}, {}, {}, {})


def feed(engine: RuleEngine, code: str, values, state: int = 0, t0: int = 0, dt: int = 2000):
    events = []
    for i, v in enumerate(values):
        events += engine.evaluate([Observation("t", "point", code, t0 + i * dt, v, state=state)])
    return [(e.kind, e.value) for e in events]


NONE = Thresholds()


@pytest.mark.parametrize("quantity, category, rtype, raise_at, below, power_off, re_power", [
    ("ch4", "T0", None, 1.0, 0.99, 1.5, 0.99),
    ("ch4", "T1", None, 1.0, 0.99, 1.5, 0.99),
    ("ch4", "T2", None, 1.0, 0.99, 1.0, 0.99),
    ("ch4", "T3", None, 0.5, 0.49, 0.5, 0.49),
    ("ch4", "T4", None, 0.5, 0.49, 0.5, 0.49),
    ("ch4", None, None, 1.0, 0.99, None, None),
    ("co", None, None, 24.0, 23.9, None, None),
    ("co2", None, None, 1.5, 1.49, None, None),
    ("temperature", None, None, 26.0, 25.9, None, None),
    ("air_velocity", None, "gateroad", 4.0, 3.9, None, None),
    ("air_velocity", None, "main_return", 8.0, 7.9, None, None),
])
def test_each_upper_threshold_row(quantity, category, rtype, raise_at, below, power_off, re_power):
    engine = RuleEngine(resolve_rules(tiny_mine(("P", quantity, category, NONE, rtype))))
    under = raise_at * 0.9
    got = feed(engine, "P", [under, raise_at, raise_at, below, below, below, below, below])
    alarms = [g for g in got if g[0] in ("raise", "clear")]
    # Raised at the threshold; cleared only after 10 s (5 reports) back below it.
    assert alarms == [("raise", raise_at)]
    assert [g for g in feed(engine, "P", [below], t0=16_000) if g[0] == "clear"] == \
        [("clear", below)]
    if power_off is not None:
        engine = RuleEngine(resolve_rules(tiny_mine(("P", quantity, category, NONE, rtype))))
        got = feed(engine, "P", [under, power_off] + [re_power] * 6)
        assert ("power_off", power_off) in got and got[-1] == ("re_power", re_power)
        if power_off > raise_at:                         # between alarm and power-off: alarm only
            engine = RuleEngine(resolve_rules(tiny_mine(("P", quantity, category, NONE, rtype))))
            assert feed(engine, "P", [(raise_at + power_off) / 2]) == \
                [("raise", (raise_at + power_off) / 2)]


def test_lower_thresholds_o2_and_low_air_velocity():
    engine = RuleEngine(resolve_rules(tiny_mine(("O", "o2", None, NONE, None),
                                                ("V", "air_velocity", None, NONE, "gateroad"))))
    assert feed(engine, "O", [20.8, 20.0, 19.5] + [20.5] * 6) == [("raise", 20.0), ("clear", 20.5)]
    assert feed(engine, "V", [1.0, 0.2, 0.2] + [1.0] * 6) == [("raise", 0.2), ("clear", 1.0)]


def test_temperature_has_two_tiers():
    engine = RuleEngine(resolve_rules(tiny_mine(("T", "temperature", None, NONE, None))))
    events = engine.evaluate([Observation("t", "point", "T", 0, 31.0)])
    assert sorted((e.rule.name, e.rule.level) for e in events) == [("main", 1), ("stop work", 3)]


def test_hysteresis_keeps_an_alarm_between_threshold_and_clear_value():
    own = Thresholds(upper_alarm=1.0, upper_alarm_clear=0.8)
    engine = RuleEngine(resolve_rules(tiny_mine(("P", "ch4", "T1", own, None))))
    assert feed(engine, "P", [1.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]) == [("raise", 1.1)]
    assert feed(engine, "P", [0.7] * 7, t0=100_000) == [("clear", 0.7)]


def test_a_reading_older_than_one_already_judged_neither_raises_nor_clears():
    """Found by bench/bench_faults.py: hour-old readings arriving after a live 2.0 % cleared
    its alarm (dated at the raise), and after a restart the newest reading raised it again."""
    own = Thresholds(upper_alarm=1.0)
    engine = RuleEngine(resolve_rules(tiny_mine(("P", "ch4", "T1", own, None))),
                        clear_hold_s=1.0)
    assert feed(engine, "P", [2.0], t0=10_000_000) == [("raise", 2.0), ("power_off", 2.0)]
    assert feed(engine, "P", [0.2] * 10, t0=6_400_000, dt=500) == []      # an hour old
    assert feed(engine, "P", [5.0], t0=6_500_000) == []                   # old, too: history
    assert engine.out_of_order == 11
    assert feed(engine, "P", [0.3] * 4, t0=10_001_000, dt=500) == [("clear", 0.3),
                                                                    ("re_power", 0.3)]


def test_the_sensors_own_thresholds_win_and_say_so():
    own = Thresholds(upper_alarm=0.8, upper_power_off=1.2, upper_re_power=0.7)
    (rule,) = resolve_rules(tiny_mine(("P", "ch4", "T1", own, None)))["P"]
    assert (rule.alarm, rule.power_off, rule.re_power) == (0.8, 1.2, 0.7)
    assert rule.source.startswith("sensor definition (CDDY)")
    (table_rule,) = resolve_rules(tiny_mine(("Q", "ch4", "T1", NONE, None)))["Q"]
    assert table_rule.source.startswith("rule table: ch4 T1")


def test_a_mine_rules_file_overrides_the_table(tmp_path):
    (tmp_path / "rules.toml").write_text('[[threshold]]\nquantity = "co"\nalarm = 10.0\n')
    (rule,) = resolve_rules(tiny_mine(("C", "co", None, NONE, None)),
                            mine_rules=tmp_path / "rules.toml")["C"]
    assert rule.alarm == 10.0
    assert load_rule_table()["threshold"]        # the shipped table loads


def test_a_calibrating_or_faulty_sensor_does_not_alarm():
    engine = RuleEngine(resolve_rules(tiny_mine(("P", "ch4", "T1", NONE, None))))
    for bit in ("calibrating", "sensor_fault", "not_polled"):
        assert feed(engine, "P", [3.0], state=POINT_STATE[bit]) == []
    assert engine.untrusted == 3
    # Over range is not untrustworthy: the full scale it reports is at least that bad.
    assert feed(engine, "P", [4.0], state=POINT_STATE["over_range"])[0] == ("raise", 4.0)


def raise_event(engine, code, v, t):
    return engine.evaluate([Observation("t", "point", code, t, v)])


def test_alarm_life_cycle_is_kept_in_sqlite(tmp_path):
    model = tiny_mine(("P", "ch4", "T1", NONE, None))
    engine = RuleEngine(resolve_rules(model), clear_hold_s=0)
    db = tmp_path / "alarms.sqlite"
    book = AlarmBook(model, path=db, escalate_after_s=60)
    (a, p) = book.apply(raise_event(engine, "P", 1.6, 1_000))
    assert (a.kind, a.level, a.value, a.threshold) == ("alarm", 2, 1.6, 1.0)
    assert (p.kind, p.level) == ("power_off", 3)
    book.observe([Observation("t", "point", "P", 2_000, 2.4)])
    assert [x.id for x in book.listing()] == [p.id, a.id] or [x.id for x in book.listing()] == [a.id, p.id]
    with pytest.raises(AlarmError, match="names the operator"):
        book.acknowledge(a.id, "", "x", 3_000)
    acked = book.acknowledge(a.id, "调度员张三", "已通知撤人", 3_000)
    assert acked.acknowledged and acked.active and acked.peak == 2.4
    with pytest.raises(AlarmError, match="already acknowledged"):
        book.acknowledge(a.id, "x", "x", 4_000)
    with pytest.raises(AlarmError, match="does not exist"):
        book.acknowledge(999, "x", "x", 4_000)
    # The power-off nobody acknowledged escalates; a level-3 alarm cannot go higher.
    assert book.escalate(200_000) == []
    book.apply(raise_event(engine, "P", 0.5, 300_000))          # clears both
    assert [x.id for x in book.listing()] == [p.id]              # still unacknowledged
    book.acknowledge(p.id, "调度员张三", "已复电", 301_000)
    assert book.listing() == []
    # A new excursion is a new alarm; and everything is still there after a restart.
    (b, _) = book.apply(raise_event(engine, "P", 1.7, 400_000))
    assert b.id not in (a.id, p.id)
    book.close()
    again = AlarmBook(model, path=db)
    assert [x.id for x in again.listing()] == sorted([b.id, b.id + 1], reverse=True)
    hist = again.history()
    assert [x.acked_by for x in hist[:2]] == ["调度员张三", "调度员张三"]
    assert [row[1] for row in again.audit(a.id)] == ["raised", "acknowledged", "cleared"]


def test_an_alarm_flapping_before_anyone_acknowledged_it_is_one_counted_row(tmp_path):
    """#19.4: 23 of 43 alarms were one area raised and cleared within seconds — a raise soon
    after the clear of an alarm nobody acknowledged yet is that alarm again, counted."""
    model = tiny_mine(("C", "co", None, NONE, None))
    engine = RuleEngine(resolve_rules(model), clear_hold_s=0)
    db = tmp_path / "a.sqlite"
    book = AlarmBook(model, path=db, regroup_s=300)
    (a,) = book.apply(raise_event(engine, "C", 30.0, 0))
    for i in range(1, 5):                               # four more flaps within five minutes
        book.apply(raise_event(engine, "C", 10.0, i * 20_000))
        (again,) = book.apply(raise_event(engine, "C", 31.0, i * 20_000 + 5_000))
        assert again.id == a.id and again.active and again.repeats == i
    assert [x.id for x in book.listing()] == [a.id]
    assert book.record(book.get(a.id))["text"]["zh"] == "一氧化碳 30 ppm ≥ 24 ppm，最高 31 ppm（反复 5 次）"
    # acknowledged, the next excursion is a new row; so is one long after the clear
    book.acknowledge(a.id, "x", "", 100_000)
    book.apply(raise_event(engine, "C", 10.0, 110_000))
    (b,) = book.apply(raise_event(engine, "C", 30.0, 120_000))
    assert b.id != a.id and b.repeats == 0
    book.apply(raise_event(engine, "C", 10.0, 130_000))
    (c,) = book.apply(raise_event(engine, "C", 30.0, 130_000 + 301_000))
    assert c.id not in (a.id, b.id)
    assert [r[1] for r in book.audit(a.id)].count("raised again") == 4
    book.close()
    assert AlarmBook(model, path=db).get(a.id).repeats == 4          # kept in the book


def test_alarms_read_in_plain_language_with_quantity_and_unit(demo_model):
    """#19.4: "甲烷 1.60 % ≥ 1.00 %（断电）", "SOS 求救", "超员 9/8 人", "传感器数值不变 150 次"."""
    from safety.alarms import Alarm
    from safety.wording import alarm_text
    ch4 = next(c for c, s in sorted(demo_model.sensors.items()) if s.type_code == "0001")
    o2 = next((c for c, s in sorted(demo_model.sensors.items()) if s.type_code == "0012"), None)
    card = sorted(demo_model.people)[0]
    area = sorted(demo_model.areas)[0]

    def text(rule, value, limit, kind="alarm", lang="zh", peak=None):
        a = Alarm(1, rule, "", "", "", kind, 2, 0, value, limit, "", value if peak is None else peak)
        return alarm_text(a, demo_model, lang)
    assert text(f"{ch4}/ch4/main", 1.6, 1.0) == "甲烷 1.60 % ≥ 1.00 %"
    assert text(f"{ch4}/ch4/main", 1.6, 1.5, "power_off") == "甲烷 1.60 % ≥ 1.50 %（断电）"
    assert text(f"{ch4}/ch4/main", 1.6, 1.5, "power_off", "en") == "CH4 1.60 % ≥ 1.50 % (power off)"
    assert text(f"{ch4}/ch4/main", 1.2, 1.0, peak=2.31) == "甲烷 1.20 % ≥ 1.00 %，最高 2.31 %"
    if o2:
        assert text(f"{o2}/o2/main", 17.5, 18.0) == "氧气 17.5 % ≤ 18.0 %"
    assert text(f"{card}/personnel/sos", 1.0, 1.0) == "SOS 求救"
    assert text(f"{area}/personnel/overcrowded", 9.0, 8.0) == "超员 9/8 人"
    assert text(f"{area}/personnel/overcrowded", 9.0, 8.0, lang="en") == "overcrowded 9/8 people"
    assert text(f"{ch4}/data/stuck", 0.05, 150.0) == "传感器数值不变 150 次（0.05 %）"
    assert text(f"{ch4}/data/stale", 183.4, 120.0) == "无数据 183 秒（限 120 秒）"
    assert text(f"{card}/personnel/overtime", 10.52, 10.0) == "超时下井 10.5 小时（限 10 小时）"
    assert text("face:11901/outburst/K1", 0.6, 0.5) == "突出预测指标 K1 0.60 ≥ 0.50"


def test_unacknowledged_alarms_escalate():
    model = tiny_mine(("C", "co", None, NONE, None))
    engine = RuleEngine(resolve_rules(model))
    book = AlarmBook(model, escalate_after_s=60)
    (a,) = book.apply(raise_event(engine, "C", 30.0, 0))
    assert book.escalate(59_000) == []
    (e,) = book.escalate(60_000)
    assert e.level == 3 and [r[1] for r in book.audit(a.id)] == ["raised", "escalated"]


def test_a_simulated_outburst_raises_t1_then_t2_and_power_off_on_the_scene(demo_model, tmp_path):
    scene = build_scene(demo_model, AssetStore(tmp_path / "assets"))
    bindings = DefaultBindings(demo_model, scene)
    engine = RuleEngine(resolve_rules(demo_model))
    book = AlarmBook(demo_model, scene=scene)
    scene.commit(0)
    sim = Simulator(demo_model, seed=4, step_s=2.0,
                    start=datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
                    scenario=parse_scenario({"event": [
                        {"type": "gas_outburst", "at": "00:05:00", "place": "face:11901"}]}))
    raised = []
    for _ in range(6 * 30):                     # 30 minutes in 10 s ticks
        obs = sim.advance(10)
        bindings.apply(obs)
        book.observe(obs)
        raised += [a for a in book.apply(engine.evaluate(obs)) if a.active]
        book.escalate(sim.now_ms)
        scene.commit(sim.now_ms)
    first = {}
    for a in raised:
        first.setdefault((a.point, a.kind), a.raised_ms)
    t1, t2 = first[("002A02", "alarm")], first[("002A03", "alarm")]
    assert t1 < t2 and ("002A02", "power_off") in first and ("002A03", "power_off") in first
    groups = {a.group for a in raised if a.point in ("002A01", "002A02", "002A03")}
    assert groups == {"face:11901"}                 # one incident for the wall
    # While active, the scene shows them on the sensor nodes.
    sim2 = [a for a in book.listing() if a.active]
    for a in sim2:
        assert scene.property(a.node, "alarm_level") >= 1
