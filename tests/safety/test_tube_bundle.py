"""#20.5 Spontaneous combustion from tube-bundle analyses: the Graham ratio and Jones–Trickett of
REFERENCE §3a, stages judged on a day's median (not one analysis), a rising trend over days,
bad samples dropped, and a sealed fire zone's extinction criteria of §4."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from assets import AssetStore
from safety import AlarmBook, TubeBundle
from safety.tube_bundle import graham_ratio, jones_trickett, oxygen_deficit
from twin import MineDataError, Observation, build_scene, load_mine
from twin.model import TubeBundlePoint

DAY, HOUR = 86_400_000, 3_600_000
T0 = 1_796_000_000_000 // DAY * DAY          # a day boundary (the trend's days are UTC days)
#: gas → (point code, type code, unit)
POINTS = {"o2": ("TB-O2", "0012", "%"), "n2": ("TB-N2", "0045", "%"),
          "co": ("TB-CO", "0004", "ppm"), "co2": ("TB-CO2", "0013", "%"),
          "c2h4": ("TB-C2H4", "0046", "ppm"), "c2h2": ("TB-C2H2", "0098", "ppm"),
          "temperature": ("TB-T", "0003", "°C"), "water_temperature": ("TB-W", "0010", "°C")}


@pytest.fixture
def goaf(demo_model, tmp_path):
    """The demo mine with a sealed sampling point behind 11901 (its return gateroad)."""
    proto = next(iter(demo_model.sensors.values()))
    sensors = dict(demo_model.sensors)
    for gas, (code, tcode, unit) in POINTS.items():
        sensors[code] = dataclasses.replace(proto, point_code=code, type_code=tcode, unit=unit,
                                            thresholds=type(proto.thresholds)(), category=None)
    road = demo_model.roadways["11901-return"]
    tb = TubeBundlePoint("SG1", "11901采空区束管1", road.id, 10.0,
                         tuple(road.point_at(10.0).tolist()), True,
                         {g: POINTS[g][0] for g in ("o2", "n2", "co", "co2", "c2h4", "c2h2")},
                         {g: POINTS[g][0] for g in ("temperature", "water_temperature")})
    model = dataclasses.replace(demo_model, sensors=sensors, tube_bundle={"SG1": tb})
    scene = build_scene(model, AssetStore(tmp_path / "store"))
    return model, scene


def analysis(t: int, o2=15.2, n2=70.4, co=100.0, co2=0.5, c2h4=0.0, c2h2=0.0, temps=None):
    """One analysis: each gas its own point, arriving a few seconds apart."""
    vals = {"o2": o2, "n2": n2, "co": co, "co2": co2, "c2h4": c2h4, "c2h2": c2h2, **(temps or {})}
    return [Observation("tube-bundle", "point", POINTS[g][0], t + 2_000 * i, v)
            for i, (g, v) in enumerate(vals.items())]


def test_the_reference_example():
    # CO 0.01 %, N2 70.4 %, O2 15.2 % → ΔO2 3.46, GR ≈ 0.29 (REFERENCE §3a)
    assert oxygen_deficit(15.2, 70.4) == pytest.approx(3.456)
    assert graham_ratio(0.01, 15.2, 70.4) == pytest.approx(0.289, abs=0.001)
    assert jones_trickett(0.5, 0.01, 0.0, 15.2, 70.4) == pytest.approx(0.1469, abs=0.001)


def test_the_stage_is_a_days_median_and_bad_samples_are_dropped(goaf):
    model, scene = goaf
    tb = TubeBundle(model, scene)
    book = AlarmBook(model, scene=scene)
    # a day of normal air (GR 0.29), then one analysis at GR ≈ 1.4: one value raises nothing
    for h in range(12):
        assert tb.observe(analysis(T0 + h * HOUR)) == []
    assert tb.observe(analysis(T0 + 12 * HOUR, co=480.0)) == []
    assert scene.property("tubebundle/SG1", "graham_ratio") == pytest.approx(1.389, abs=0.01)
    assert tb.status["SG1"]["stage"] == 0
    # a sample whose Jones–Trickett says it is bad (CO2 6 % → 1.8 > 1.6) is dropped and counted
    assert tb.observe(analysis(T0 + 13 * HOUR, co=2000.0, co2=6.0)) == []
    assert tb.bad_samples == 1 and scene.property("tubebundle/SG1", "sample_valid") is False
    # too little oxygen deficit to judge (ΔO2 0.2 %): shown, never judged
    tb.observe(analysis(T0 + 14 * HOUR, o2=20.5, n2=78.1, co=5000.0))
    assert tb.status["SG1"]["stage"] == 0
    # heating sustained: the median passes 1 → a level-2 alarm on the sampling point's node
    events = []
    for h in range(15, 40):
        events += tb.observe(analysis(T0 + h * HOUR, co=420.0))           # GR ≈ 1.22
    raised = [e for e in events if e.kind == "raise" and e.rule.quantity == "graham"]
    # (the median goes from 0.29 to 1.2 as the heating analyses become the day's majority)
    assert [(e.rule.name, e.rule.level) for e in raised] == [("stage2", 2)], raised
    (alarm,) = [a for a in book.apply(raised[-1:])]
    assert alarm.level == 2 and alarm.node == "tubebundle/SG1"
    assert "Graham ratio median of 24 h ≥ 1" in alarm.source
    rec = book.record(alarm)
    assert rec["place"] == "11901采空区束管1" and rec["text"]["zh"] == "格雷厄姆指数 1.22 ≥ 1.00", rec
    assert scene.property("tubebundle/SG1", "combustion_stage") == 2
    assert scene.property("tubebundle/SG1", "combustion_stage_name") == "自热"


def test_a_ratio_rising_over_days_is_a_pre_warning(goaf):
    model, scene = goaf
    tb = TubeBundle(model, scene)
    events = []
    for day in range(4):                       # GR 0.03 → 0.38: below 0.4 all along …
        co = 10.0 + 40.0 * day
        for h in (2, 10, 18):
            events += tb.observe(analysis(T0 + day * DAY + h * HOUR, co=co))
    trend = [e for e in events if e.rule.quantity == "graham_trend"]
    assert [e.kind for e in trend] == ["raise"] and trend[0].rule.level == 1
    assert tb.status["SG1"]["stage"] == 0                          # … but rising 0.116 a day
    assert scene.property("tubebundle/SG1", "graham_trend_per_day") == pytest.approx(0.116,
                                                                                     abs=0.002)
    assert trend[0].time_ms >= T0 + 2 * DAY          # judged once there were three days


def test_a_sealed_fire_zone_is_extinguished_only_after_a_month_of_every_criterion(goaf):
    model, scene = goaf
    tb = TubeBundle(model, scene)
    cold = {"temperature": 22.0, "water_temperature": 20.0}
    for day in range(20):
        tb.observe(analysis(T0 + day * DAY, o2=3.0, n2=85.0, co=5.0, temps=cold))
    st = tb.status["SG1"]
    assert st["fire_zone"] == "未熄灭" and "分析仅 19.0 天（需 30 天）" in st["fire_zone_why"]
    for day in range(20, 31):
        tb.observe(analysis(T0 + day * DAY, o2=3.0, n2=85.0, co=5.0, temps=cold))
    assert tb.status["SG1"]["fire_zone"] == "熄灭", tb.status["SG1"]["fire_zone_why"]
    assert scene.property("tubebundle/SG1", "fire_zone") == "熄灭"
    # O2 back above 5 %, C2H4 appearing: not extinguished, and it says why
    tb.observe(analysis(T0 + 31 * DAY, o2=6.5, n2=85.0, co=5.0, c2h4=0.5, temps=cold))
    why = scene.property("tubebundle/SG1", "fire_zone_why")
    assert scene.property("tubebundle/SG1", "fire_zone") == "未熄灭"
    assert "O2 最高 6.5 %（需 < 5 %）" in why and "C2H4 出现 0.5 ppm" in why


def test_the_mine_folder_declares_its_sampling_points(demo_dir, tmp_path):
    mine = tmp_path / "mine"
    shutil.copytree(demo_dir, mine)
    codes = sorted(load_mine(mine).sensors)
    header = "id,name,roadway,chainage_m,sealed,o2,n2,co,co2\n"
    (mine / "tube_bundle.csv").write_text(
        header + f"SG1,采空区1,11901-return,12.5,1,{codes[0]},{codes[1]},{codes[2]},\n",
        encoding="utf-8")
    model = load_mine(mine)
    tb = model.tube_bundle["SG1"]
    assert tb.sealed and tb.gases == {"o2": codes[0], "n2": codes[1], "co": codes[2]}
    assert model.summary()["tube_bundle_points"] == 1
    scene = build_scene(model, AssetStore(tmp_path / "store"))
    assert "tubebundle/SG1" in scene and scene.property("tubebundle/SG1", "sealed") is True
    (mine / "tube_bundle.csv").write_text(
        header + "SG1,x,11901-return,12.5,2,NOPE,,,\n", encoding="utf-8")
    with pytest.raises(MineDataError) as e:
        load_mine(mine)
    text = str(e.value)
    assert "'2' is not 0 or 1" in text
    (mine / "tube_bundle.csv").write_text(
        header + f"SG1,x,11901-return,12.5,0,NOPE,{codes[1]},,\n", encoding="utf-8")
    with pytest.raises(MineDataError, match="'NOPE' is not a monitoring point of CDDY"):
        load_mine(mine)


def test_the_demos_goaf_heating_drill_rises_over_days(demo_model, tmp_path):
    """#20.7 — the demo's sampling points (two behind 11901 in its goaf, two inside the 11701
    seals) analysed every 10 minutes by the simulator; a goaf_heating drill at TB01 makes
    its Graham ratio rise 0.3 a day: the rising trend is a pre-warning once three days show
    it, the stage turns "look for heating" when the day's median passes 0.4, and the other
    points stay normal. Judged by the tube-bundle rules on the simulator's own analyses."""
    from twin import Simulator
    from twin.sim.scenarios import parse_scenario
    m = demo_model
    assert sorted(m.tube_bundle) == ["TB01", "TB02", "TB03", "TB04"]
    assert [tb.sealed for tb in m.tube_bundle.values()] == [False, False, True, True]
    assert all(len(tb.gases) == 7 for tb in m.tube_bundle.values())
    sim = Simulator(m, seed=4, step_s=300.0, scenario=parse_scenario({"event": [
        {"type": "goaf_heating", "at": "00:00:00", "place": "tubebundle:TB01",
         "duration": "120:00:00", "magnitude": 0.3}]}))
    scene = build_scene(m, AssetStore(tmp_path / "store"))
    tb = TubeBundle(m, scene)
    tube_points = {c for t in m.tube_bundle.values() for c in (*t.gases.values(),
                                                               *t.temperatures.values())}
    events = []
    for _ in range(4 * 24 * 12):                               # four days, 5 min a step
        obs = [o for o in sim.advance(300.0) if o.kind == "point" and o.key in tube_points]
        events += tb.observe(obs)
    raised = {(e.rule.point, e.rule.quantity) for e in events if e.kind == "raise"}
    assert ("TB01", "graham_trend") in raised and ("TB01", "graham") in raised
    assert {e.node for e in events} == {"tubebundle/TB01"}          # on its node
    assert not any(p != "TB01" for p, _ in raised)
    assert tb.status["TB01"]["stage"] >= 1
    assert scene.property("tubebundle/TB01", "graham_trend_per_day") == pytest.approx(0.3,
                                                                                    abs=0.08)
    assert scene.property("tubebundle/TB03", "fire_zone") == "未熄灭"   # a month not yet seen
    # the analyses came every 10 minutes, not every reading cycle
    assert 4 * 24 * 6 - 2 <= len(tb._history["TB02"]) <= 4 * 24 * 6 + 2
