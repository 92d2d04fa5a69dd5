"""The simulator: people on roadways, faces on plan, gas carried by the air, and the
physical signature of every drill scenario."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.network import Location, Network
from twin.observation import CARD_STATE, POINT_STATE, FeedQueue
from twin.sim import ScenarioError, Simulator, parse_scenario
from twin.kj_format import RECORD_FIELDS, parse_upload

TZ = ZoneInfo("Asia/Shanghai")
DRILL = {"name": "combined drill", "event": [
    {"type": "fire", "at": "00:15:00", "place": "roadway:11901-intake@8", "magnitude": 150},
    {"type": "gas_outburst", "at": "00:20:00", "place": "face:11901", "magnitude": 8},
    {"type": "sensor_fault", "at": "00:25:00", "place": "point:002A09", "duration": "00:10:00"},
    {"type": "reader_failure", "at": "00:30:00", "duration": "00:10:00", "place": "reader:READER"},
    {"type": "sos", "at": "00:35:00", "place": "card:CARD"},
    {"type": "water_inrush", "at": "00:40:00", "place": "roadway:main-track@1440"},
    {"type": "roof_fall", "at": "00:45:00", "place": "roadway:119-return@60"},
]}


def series(obs, key, kind="point", param=None):
    pts = [(o.time_ms, o.value, o.state) for o in obs
           if o.kind == kind and o.key == key and (param is None or o.param == param)]
    t = np.array([p[0] for p in pts], dtype=float)
    return t, [p[1] for p in pts], [p[2] for p in pts]


@pytest.fixture(scope="module")
def drill(demo_model):
    net = Network(demo_model.roadways)
    # A reader on the 11901 intake gateroad near the face (where face workers are seen).
    face = demo_model.longwalls["11901"]
    intake = demo_model.roadways[face.intake_roadway]
    ch = intake.project(face.face_line()[0])[0]
    reader = min((r for r in demo_model.readers.values() if r.roadway == intake.id),
                 key=lambda r: abs(r.chainage_m - ch))
    sim = Simulator(demo_model, seed=3, start=datetime(2026, 11, 2, 7, 40, tzinfo=TZ),
                    step_s=2.0, network=net)
    # The SOS comes from someone of the day shift driving a heading.
    card = next(p.card for p in sim.people if p.shift == 1 and p.workplace.startswith("heading"))
    doc = {**DRILL, "event": [dict(e, place=e["place"].replace("READER", reader.code)
                                   .replace("CARD", card)) for e in DRILL["event"]]}
    sim.scenario = parse_scenario(doc)
    obs = sim.advance(75 * 60)
    return sim, obs, net, reader, card


def test_people_go_down_at_shift_change_and_stay_on_roadways_or_the_face(drill):
    sim, obs, net, _, _ = drill
    assert len(sim.underground()) > 50
    cards = [o for o in obs if o.kind == "card" and o.value is True]
    assert len({o.key for o in cards}) > 50
    faces = [sim.model.longwalls[f] for f in sim.model.longwalls]
    for o in cards[::37]:
        p = np.array(o.position)
        _, d = net.locate(p)
        if d > 0.5:   # else it must be on a face line (0.9 m above the floor line)
            a, b = faces[0].face_line(sim.face_advanced_m(faces[0].id))
            t = np.clip(np.dot(p - a, b - a) / np.dot(b - a, b - a), 0, 1)
            assert np.linalg.norm(a + (b - a) * t + [0, 0, 0.9] - p) < 5.0, (o, d)


def test_t2_follows_t1_with_the_air_travel_lag(drill):
    sim, obs, _, _, _ = drill
    t1_t, t1, _ = series(obs, "002A02")     # T1 on the face
    t2_t, t2, _ = series(obs, "002A03")     # T2 in the return, 12 m from its mouth
    lag = sim.face_to_point_lag_s("11901", "002A03")
    assert 400 < lag < 1200
    start = sim.start_ms + 20 * 60 * 1000
    # The outburst drives both past their 4 % full scale; compare when each crosses 2 %.
    assert max(t1) == 4.0 and max(t2) == 4.0
    rise1 = t1_t[int(np.argmax(np.array(t1) >= 2.0))]
    rise2 = t2_t[int(np.argmax(np.array(t2) >= 2.0))]
    assert start < rise1 < start + 60 * 1000
    assert abs((rise2 - rise1) / 1000 - lag) < 30                # T2 follows one lag later
    before = np.array(t2)[(t2_t > start) & (t2_t < start + (lag - 60) * 1000)]
    assert before.max() < 1.0                                    # nothing at T2 before the air arrives


def test_fire_raises_co_and_smoke_at_the_belt_head(drill):
    sim, obs, _, _, _ = drill
    t, co, _ = series(obs, "003A02")        # CO at the 11901 belt head
    _, smoke, _ = series(obs, "003D01")   # its smoke sensor
    fire = t >= sim.start_ms + 15 * 60 * 1000
    assert max(np.array(co)[~fire]) < 10 and max(np.array(co)[fire]) > 100
    assert not any(np.array(smoke)[:100]) and any(smoke)


def test_sensor_fault_sets_the_fault_bit_and_freezes_the_value(drill):
    _, obs, _, _, _ = drill
    t, v, state = series(obs, "002A09")
    faulty = [(vv, s) for vv, s in zip(v, state) if s & POINT_STATE["sensor_fault"]]
    assert 250 <= len(faulty) <= 350                # 10 minutes of 2 s reports
    assert len({vv for vv, _ in faulty}) == 1        # stuck
    assert state[-1] == 0


def test_reader_failure_and_sos(drill):
    _, obs, _, reader, card = drill
    t, up, _ = series(obs, reader.code, kind="reader")
    assert up == [False, True]
    down_from, down_to = t[0], t[1]
    seen = [o for o in obs if o.kind == "card" and o.reader == reader.code]
    assert seen and not any(down_from <= o.time_ms < down_to for o in seen)
    sos = [o for o in obs if o.kind == "card" and o.key == card and o.state & CARD_STATE["sos"]]
    assert sos


def test_water_inrush_and_roof_fall(drill):
    sim, obs, _, _, _ = drill
    t, inflow, _ = series(obs, "pump-1", kind="equipment", param="inflow_m3_h")
    assert inflow[0] < 200 and max(inflow) > 500
    _, running3, _ = series(obs, "pump-3", kind="equipment", param="running")
    assert running3[-1] is True
    events = [o.key for o in obs if o.kind == "event"]
    assert events == ["fire", "gas_outburst", "sensor_fault", "reader_failure", "sos",
                      "water_inrush", "roof_fall"]
    t, v, _ = series(obs, "005A03")         # air velocity in the 119 district return
    after = t > sim.start_ms + 45 * 60 * 1000
    assert np.mean(np.array(v)[after]) < 0.5 * np.mean(np.array(v)[~after])


def test_faces_and_headings_advance_by_plan(demo_model):
    sim = Simulator(demo_model, seed=1, step_s=600.0)
    face, heading = demo_model.longwalls["11901"], demo_model.headings["11902-return-heading"]
    obs = sim.advance(86400)
    assert sim.face_advanced_m("11901") == pytest.approx(face.advanced_m + face.plan_m_per_day)
    assert sim.heading_advanced_m(heading.id) == pytest.approx(heading.advanced_m +
                                                              heading.plan_m_per_day)
    _, adv, _ = series(obs, "face:11901", kind="equipment", param="advanced_m")
    assert adv[-1] == pytest.approx(face.advanced_m + face.plan_m_per_day, abs=0.01)
    _, goaf, _ = series(obs, "face:11901", kind="equipment", param="goaf_area_m2")
    assert goaf[-1] == pytest.approx(adv[-1] * face.face_length_m, abs=1.0)     # the goaf grows
    assert goaf[-1] > goaf[0]


def test_supports_advance_behind_the_shearer(drill):
    sim, obs, _, _, _ = drill
    supports = sorted(e for e in sim.model.equipment if e.startswith("support-"))
    moved = {k: series(obs, k, kind="equipment", param="advanced_m")[1] for k in supports[::10]}
    # Over the drill the shearer passes every support: each one steps forward by a web.
    for values in moved.values():
        assert max(values) - min(values) >= 0.8 - 1e-9
    assert all(len(set(v)) > 1 for v in moved.values())


def test_the_same_seed_gives_the_same_observations(demo_model):
    a = Simulator(demo_model, seed=5).advance(120)
    b = Simulator(demo_model, seed=5).advance(120)
    c = Simulator(demo_model, seed=6).advance(120)
    assert a == b and a != c


def test_reader_and_signed_distance_map_to_the_centerline(demo_model):
    net = Network(demo_model.roadways)
    reader = next(r for r in demo_model.readers.values() if r.roadway == "main-track")
    road = demo_model.roadways["main-track"]
    loc = net.reader_location(reader, 25.0)
    assert loc == Location("main-track", reader.chainage_m + 25.0)
    np.testing.assert_allclose(net.point(loc), road.point_at(reader.chainage_m + 25.0))
    assert net.reader_location(reader, -1e6).chainage_m == 0.0       # clamped at the end
    route = net.route(Location("aux-incline", 0.0), Location("11901-cut", 90.0))
    assert route.legs[0][0] == "aux-incline" and route.legs[-1][0] == "11901-cut"
    assert route.length_m > 2000


def test_upload_files_written_by_the_simulator_parse(drill, tmp_path):
    sim, _, _, _, _ = drill
    paths = sim.write_upload_files(tmp_path)
    for path in paths:
        f = parse_upload(path.read_bytes(), path.name)
        assert f.mine_code == sim.model.mine.code
        assert all(len(r) == len(RECORD_FIELDS[f.type]) for r in f.records)
        assert f.records, path.name
    assert not list(tmp_path.glob("*.tmp"))


def test_the_tick_loop_system_feeds_a_queue(demo_model):
    sim = Simulator(demo_model, seed=1)
    q = FeedQueue()
    wall = iter([1.0, 2.0, 0.0, 1.0])
    system = sim.system(q, rate=10.0, budget_s=10.0, wall=lambda: next(wall))
    system(None, 0)
    system(None, 0)                     # one wall second at ×10 = 10 simulated seconds
    assert sim.t_s == pytest.approx(10.0) and len(q) > 0 and sim.lag_s == 0
    starved = sim.system(q, rate=3600.0, budget_s=0.0, wall=lambda: next(wall))
    starved(None, 0)
    starved(None, 0)                    # no time to simulate: it falls behind, and says so
    assert sim.t_s == pytest.approx(10.0) and sim.lag_s == pytest.approx(3600.0)


@pytest.mark.parametrize("doc, message", [
    ({"event": [{"type": "flood", "place": "roadway:x@1"}]}, "type 'flood'"),
    ({"event": [{"type": "fire", "place": "face:11901"}]}, "must be roadway:"),
    ({"event": [{"type": "fire", "place": "roadway:x"}]}, "roadway:<id>@<chainage"),
    ({"event": [{"type": "sos", "place": "card:1", "at": "ten"}]}, "HH:MM:SS"),
])
def test_bad_scenarios_are_clear_errors(doc, message):
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(doc)
