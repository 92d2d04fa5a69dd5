"""Hazard indices: outburst indicators against critical values, spontaneous-combustion stages."""

import numpy as np

from assets import AssetStore
from safety import AlarmBook, HazardRules
from twin.model import Mine, MineModel, Outstation, Profile, Roadway, Sensor, Thresholds
from twin.observation import Observation
from twin.scene_build import build_scene


def test_outburst_indicators_at_or_above_critical_are_danger(demo_model, tmp_path):
    scene = build_scene(demo_model, AssetStore(tmp_path))
    hz = HazardRules(demo_model, scene)
    book = AlarmBook(demo_model, scene=scene)
    m = lambda v, idx="k1": Observation("manual", "point", "11901-hole-7", 0, v,  # noqa: E731
                                         param=idx, place="face:11901")
    assert hz.observe([m(0.35)]) == []
    (ev,) = hz.observe([m(0.42)])                          # wet-coal K1 critical 0.4
    assert (ev.kind, ev.node, ev.threshold) == ("raise", "face/11901", 0.4)
    (alarm,) = book.apply([ev])
    assert alarm.level == 3 and "outburst index k1 critical 0.4" in alarm.source
    assert scene.property("face/11901", "outburst_danger") is True
    assert [e.kind for e in hz.observe([m(0.74, "gas_pressure")])] == ["raise"]
    assert [e.kind for e in hz.observe([m(0.3)])] == ["clear"]
    assert scene.property("face/11901", "outburst_danger") is True   # gas pressure still
    assert [e.kind for e in hz.observe([m(0.5, "gas_pressure")])] == ["clear"]
    assert scene.property("face/11901", "outburst_danger") is False


def test_combustion_stage_follows_the_index_gases():
    road = Roadway("goaf-seal", "密闭", "gateroad", Profile("rectangle", 4.0, 3.0),
                   np.array([[0.0, 0, 0], [50, 0, 0]]))
    sensors = {code: Sensor(code, "01", "001", tc, "MN", "ppm", (None, None), Thresholds(),
                            code, (1.0, 0, 0), "goaf-seal", 1.0)
               for code, tc in (("CO", "0004"), ("C2H4", "0046"))}
    model = MineModel(Mine("m", "520522000001", "high"), {"goaf-seal": road}, {}, {},
                      {"001": Outstation("001", "x", (0, 0, 0))}, sensors, {}, {}, {}, {})
    hz = HazardRules(model)
    p = lambda code, v, t: Observation("t", "point", code, t, v)  # noqa: E731
    assert hz.observe([p("CO", 30.0, 1), p("C2H4", 0.0, 1)]) == []       # stage 1: no alarm
    assert hz._stage["goaf-seal"] == 1
    (ev,) = hz.observe([p("C2H4", 0.3, 2)])                             # C2H4 appears
    assert (ev.kind, ev.value, ev.node, ev.time_ms) == ("raise", 2.0, "roadway/goaf-seal", 2)
    (ev,) = hz.observe([p("C2H4", 0.0, 3), p("CO", 5.0, 3)])
    assert ev.kind == "clear"
