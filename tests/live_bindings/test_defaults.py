"""Default bindings: the simulator's observations drive the demo mine's scene."""

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from assets import AssetStore
from live_bindings import SENSOR_COLORS, DefaultBindings
from scene import Replica
from twin.observation import POINT_STATE, Observation
from twin.scene_build import build_scene
from twin.sim import Simulator, parse_scenario


@pytest.fixture(scope="module")
def live(demo_model, tmp_path_factory):
    scene = build_scene(demo_model, AssetStore(tmp_path_factory.mktemp("assets")))
    bindings = DefaultBindings(demo_model, scene)
    scene.commit(0)
    replica = Replica()
    replica.apply(scene.snapshot())
    sim = Simulator(demo_model, seed=2, step_s=2.0,
                    start=datetime(2026, 11, 2, 7, 55, tzinfo=ZoneInfo("Asia/Shanghai")),
                    scenario=parse_scenario({"event": [
                        {"type": "gas_outburst", "at": "00:10:00", "place": "face:11901"}]}))
    last = []
    for tick in range(13 * 6):                    # 13 minutes in 10-second ticks
        obs = sim.advance(10)
        last = obs
        bindings.apply(obs)
        replica.apply(scene.commit(sim.now_ms))
    return demo_model, scene, bindings, sim, replica, last


def test_sensor_values_land_in_typed_properties_coloured_by_thresholds(live):
    model, scene, bindings, sim, _, last = live
    latest = {o.key: o for o in last if o.kind == "point"}
    t1 = latest["002A02"]                          # T1 during the outburst
    assert scene.property("sensor/002A02", "ch4") == t1.value > 1.0
    assert scene.schema["ch4"].unit == "%"
    assert scene.visual("sensor/002A02").color == SENSOR_COLORS["alarm"]
    assert scene.visual("sensor/002A02").blink > 0
    # The outburst drives T1 past its 4 % full scale: reported as the full scale, flagged.
    assert t1.value == 4.0 and t1.state & POINT_STATE["over_range"]
    # the label names the point and quantity, with the value and its unit (#19.3)
    assert scene.visual("sensor/002A02").label == "T1 CH4 ≥4.00 %"
    calm = latest["002A04"]                        # T3 in the intake
    assert scene.visual("sensor/002A04").color == SENSOR_COLORS["normal"]
    assert scene.property("sensor/002A04", "ch4") == calm.value


def test_people_move_and_show_whether_they_are_underground(live):
    _, scene, _, sim, _, last = live
    seen = {o.key: o for o in last if o.kind == "card" and o.value is True}
    assert len(seen) > 30
    for card, o in list(seen.items())[:20]:
        np.testing.assert_allclose(scene.translation(f"person/{card}"), o.position)
        assert scene.visual(f"person/{card}").visible
        assert scene.property(f"person/{card}", "underground") is True
    out = [p.card for p in sim.people if p.state == "out"]
    assert not scene.visual(f"person/{out[0]}").visible


def test_equipment_states_and_the_face_follow(live):
    model, scene, _, sim, _, _ = live
    assert scene.property("equipment/shearer-11901", "live_running") is True
    assert scene.properties("equipment/shearer-11901")["live_current_A"].unit == "A"
    adv = scene.property("face/11901", "advanced_m")
    assert adv > model.longwalls["11901"].advanced_m
    a, b = model.longwalls["11901"].face_line(adv)
    np.testing.assert_allclose(scene.translation("face/11901"), (a + b) / 2)


def test_a_replica_follows_the_live_scene(live):
    _, scene, _, _, replica, _ = live
    assert replica == scene


def test_bad_observations_are_refused_and_counted(live):
    model, scene, bindings, sim, _, _ = live
    before = scene.property("sensor/002A04", "ch4")
    bindings.apply([
        Observation("test", "point", "002A04", sim.now_ms, float("nan"), "%"),
        Observation("test", "point", "999X99", sim.now_ms, 0.5, "%"),
        Observation("test", "card", "00000000000000000", sim.now_ms, True),
        Observation("test", "equipment", "no-such-thing", sim.now_ms, 1.0, param="x"),
        Observation("test", "telepathy", "x", sim.now_ms, 1.0),
        Observation("test", "point", "002A04", sim.now_ms, 40.0, "%"),       # range 0 … 4 %
    ])
    assert scene.property("sensor/002A04", "ch4") == before
    for reason in ("not a finite number", "unknown point", "unknown card", "unknown equipment",
                   "unknown kind", "outside the sensor's range"):
        assert bindings.stats[f"refused: {reason}"] >= 1
