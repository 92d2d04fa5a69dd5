"""#20.6 Ground pressure: a support over its rated resistance, periodic weighting found as a band
of high leg pressure travelling with the advance (its interval and the next one expected), a
roof-separation point opening too fast — and the simulator's weighting found by it."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import numpy as np
import pytest

from assets import AssetStore
from safety import AlarmBook, GroundPressure
from safety.ground_pressure import rated_pressure_mpa
from twin import Observation, Simulator, build_scene

MIN = 60_000


@pytest.fixture(scope="module")
def face(demo_model, tmp_path_factory):
    scene = build_scene(demo_model, AssetStore(tmp_path_factory.mktemp("store")))
    supports = sorted(e.id for e in demo_model.equipment.values() if e.kind == "hydraulic_support")
    return demo_model, scene, supports


def legs(supports, t, pressure, adv=None):
    obs = [Observation("t", "equipment", s, t, p, "MPa", param="leg_pressure_MPa")
           for s, p in zip(supports, pressure)]
    if adv is not None:
        obs.append(Observation("t", "equipment", "face:11901", t, adv, "m", param="advanced_m"))
    return obs


def test_the_rating_of_a_demo_support():
    # ZY6800: 6800 kN on two legs of 320 mm → 42.3 MPa
    assert rated_pressure_mpa({"rated_resistance_kN": (6800, "kN"), "legs": (2, None),
                               "leg_bore_mm": (320, "mm")}) == pytest.approx(42.28, abs=0.01)
    assert rated_pressure_mpa({"rated_resistance_kN": (6800, "kN")}) is None


def test_a_support_over_its_rating_is_an_alarm(face):
    model, scene, supports = face
    gp = GroundPressure(model, scene)
    book = AlarmBook(model, scene=scene)
    s = supports[10]
    assert len(gp.supports["11901"]) == len(supports)             # every support on its face
    assert gp.observe(legs([s], 0, [40.0])) == []
    assert scene.property(f"equipment/{s}", "support_resistance_kN") == pytest.approx(6433, abs=2)
    (ev,) = gp.observe(legs([s], MIN, [43.0]))
    (alarm,) = book.apply([ev])
    assert alarm.node == f"equipment/{s}" and alarm.level == 2
    assert book.record(alarm)["text"]["zh"] == "支架压力 43.0 MPa ≥ 42.3 MPa"
    assert gp.observe(legs([s], 2 * MIN, [41.0])) == []           # not yet under 95 %
    assert [e.kind for e in gp.observe(legs([s], 3 * MIN, [39.0]))] == ["clear"]


def test_periodic_weighting_is_a_band_travelling_with_the_advance(face):
    model, scene, supports = face
    gp = GroundPressure(model, scene)
    rng = np.random.default_rng(3)
    events, t = [], 0
    # 60 m of advance, a step of 0.8 m each; the roof breaks every 16 m (at 8, 24, 40, 56)
    for k in range(75):
        adv = 300.0 + 0.8 * k
        extra = 11.0 if (adv - 300.0 - 8.0) % 16.0 < 2.5 and adv >= 308.0 else 0.0
        p = 32 + 2 * rng.normal(size=len(supports)) + extra
        t += 30 * MIN
        events += gp.observe(legs(supports, t, p, adv))
    raised = [e for e in events if e.rule.quantity == "weighting" and e.kind == "raise"]
    assert len(raised) == 4, [(e.kind, e.time_ms) for e in events]
    assert np.allclose(np.diff(gp.starts["11901"]), 16.0, atol=0.9), gp.starts
    assert scene.property("face/11901", "weighting_interval_m") == pytest.approx(16.0, abs=0.9)
    assert scene.property("face/11901", "next_weighting_at_m") == pytest.approx(
        gp.starts["11901"][-1] + 16.0, abs=0.9)
    assert raised[0].rule.level == 1 and raised[0].node == "face/11901"
    # one support alone pressing hard is not the face weighting
    gp2 = GroundPressure(model, scene)
    for k in range(30):
        p = np.full(len(supports), 32.0)
        if k > 20:
            p[5] = 45.0
        assert not [e for e in gp2.observe(legs(supports, k * 30 * MIN, p, 300 + 0.8 * k))
                    if e.rule.quantity == "weighting"]


def test_a_roof_separation_opening_fast_is_an_alarm(demo_model, tmp_path):
    proto = next(iter(demo_model.sensors.values()))
    roof = dataclasses.replace(proto, point_code="LC01", type_code="0020", unit="mm",
                               thresholds=type(proto.thresholds)())
    model = dataclasses.replace(demo_model, sensors={**demo_model.sensors, "LC01": roof})
    scene = build_scene(model, AssetStore(tmp_path / "store"))
    gp = GroundPressure(model, scene)
    hour = 60 * MIN
    slow = [gp.observe([Observation("t", "point", "LC01", h * hour, 10 + 0.1 * h)])
            for h in range(30)]                                     # 2.4 mm a day
    assert not any(slow)
    fast = [e for h in range(30, 60)
            for e in gp.observe([Observation("t", "point", "LC01", h * hour,
                                             13 + 0.4 * (h - 30))])]   # 9.6 mm a day
    assert [e.kind for e in fast] == ["raise"] and fast[0].node == "sensor/LC01"
    assert scene.property("sensor/LC01", "separation_rate_mm_per_day") > 5


def test_the_simulators_weighting_is_found(demo_model):
    """The demo's roof breaks every 18 m: over 40 m of simulated advance the rule finds the
    weightings 18 m apart."""
    sim = Simulator(demo_model, seed=5, start=datetime(2026, 11, 2, 9, 0), step_s=300.0)
    gp = GroundPressure(demo_model)
    f = demo_model.longwalls["11901"]
    events = []
    while sim.face_advanced_m("11901") < f.advanced_m + 40:
        events += gp.observe(sim.advance(3600.0))
    starts = gp.starts["11901"]
    assert len(starts) >= 2 and np.allclose(np.diff(starts), 18.0, atol=1.7), starts
    assert all((s % 18.0) < 3.0 for s in starts), starts


def test_the_demos_roof_separation_drill_is_an_alarm_on_its_point(demo_model):
    """#20.7 — the demo's roof-separation points ahead of 11901 open 0.4 mm a day (quiet);
    a roof_separation drill at one of them (12 mm a day) is an alarm on that point only."""
    from twin import quantity_of
    from twin.sim.scenarios import parse_scenario
    seps = sorted(c for c, s in demo_model.sensors.items()
                  if quantity_of(s.type_code).key == "roof_separation")
    assert len(seps) == 3
    sim = Simulator(demo_model, seed=6, step_s=300.0, scenario=parse_scenario({"event": [
        {"type": "roof_separation", "at": "06:00:00", "place": f"point:{seps[1]}",
         "duration": "40:00:00", "magnitude": 12.0}]}))
    gp = GroundPressure(demo_model)
    events = []
    for _ in range(40):                                            # 40 hours
        events += gp.observe([o for o in sim.advance(3600.0) if o.kind == "point"])
    assert [(e.kind, e.node) for e in events] == [("raise", f"sensor/{seps[1]}")]
