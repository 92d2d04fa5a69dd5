"""Watchdogs: data quality, rate of change, the gas–fan interlock and the personnel rules."""

import pytest

from assets import AssetStore
from safety import AlarmBook, Limits, Watchdogs
from twin.observation import CARD_STATE, Observation
from twin.scene_build import build_scene

MIN = 60_000


def pt(code, t, v):
    return Observation("t", "point", code, t, v, "%")


def card(c, t, inside=True, area=None, state=0):
    return Observation("t", "card", c, t, inside, state=state, area=area)


@pytest.fixture
def dogs(demo_model, tmp_path):
    scene = build_scene(demo_model, AssetStore(tmp_path))
    wd = Watchdogs(demo_model, scene, Limits(stale_after_s=60, stuck_after=5, overtime_h=10))
    return demo_model, scene, wd


def kinds(events):
    return [(e.kind, e.rule.name, e.node) for e in events]


def test_stale_and_stuck_points_are_flagged_and_shown(dogs):
    _, scene, wd = dogs
    assert kinds(wd.tick(0)) == []                   # the twin is ticking
    assert kinds(wd.observe([pt("002A04", 0, 0.03)])) == []
    assert kinds(wd.tick(59_000)) == []
    assert kinds(wd.tick(61_000)) == [("raise", "stale", "sensor/002A04")]
    assert scene.property("sensor/002A04", "data_state") == "stale"
    assert scene.visual("sensor/002A04").color == 0x95A5A6
    assert ("clear", "stale", "sensor/002A04") in kinds(wd.observe([pt("002A04", 62_000, 0.04)]))
    events = []
    for i in range(5):
        events += wd.observe([pt("002A04", 64_000 + i * 2000, 0.05)])
    assert kinds(events) == [("raise", "stuck", "sensor/002A04")]
    assert scene.property("sensor/002A04", "data_state") == "stuck"
    assert kinds(wd.observe([pt("002A04", 80_000, 0.06)])) == [("clear", "stuck", "sensor/002A04")]


def test_ch4_rising_fast_is_a_pre_warning_below_any_threshold(dogs):
    _, _, wd = dogs
    events = []
    for i in range(0, 6):                        # 0.04 → 0.64 % in five minutes: 0.12 %/min
        events += wd.observe([pt("002A04", i * MIN, 0.04 + 0.12 * i)])
    assert ("raise", "rising fast", "sensor/002A04") in kinds(events)
    assert all(e.value < 1.0 for e in events)


def test_local_fans_stopped_with_gas_in_the_heading(dogs):
    model, _, wd = dogs
    heading = next(iter(model.headings.values()))
    t1 = next(c for c, s in model.sensors.items()
              if s.roadway == heading.roadway and s.category == "T1")
    fans = sorted(e.id for e in model.equipment.values()
                  if e.kind == "local_fan" and e.roadway == heading.roadway)
    fan = [Observation("t", "equipment", f, 0, False, param="running") for f in fans]
    wd.observe(fan + [pt(t1, 0, 0.3)])
    assert kinds(wd.tick(1000)) == []            # stopped, but little gas
    wd.observe([pt(t1, 2000, 0.6)])
    assert ("raise", "fan stopped with gas", f"heading/{heading.id}") in kinds(wd.tick(3000))
    wd.observe([Observation("t", "equipment", fans[0], 4000, True, param="running")])
    # cleared once it has held clear for clear_hold_s (10 s), not at the first good tick
    assert kinds(wd.tick(5000)) == [] and kinds(wd.tick(14_000)) == []
    assert ("clear", "fan stopped with gas", f"heading/{heading.id}") in kinds(wd.tick(15_000))


def test_personnel_rules(dogs, tmp_path):
    model, scene, wd = dogs
    cards = sorted(model.people)
    face_area = next(a for a in model.areas.values() if a.kind == "key")
    restricted = next(a for a in model.areas.values() if a.kind == "restricted")
    # Overcrowding: one more person than the rated headcount in the face area.
    crowd = [card(c, 0, area=face_area.code) for c in cards[:face_area.rated_headcount + 1]]
    wd.observe(crowd)
    assert ("raise", "overcrowded", f"area/{face_area.code}") in kinds(wd.tick(1000))
    assert scene.property(f"area/{face_area.code}", "headcount") == face_area.rated_headcount + 1
    # #19.4: a headcount hovering at the rating does not flap — one alarm, cleared only once
    # the area has stayed at or under its rating for clear_hold_s (10 s)
    last = crowd[-1].key
    flaps = []
    for i in range(8):                       # one person steps out and back every 2 s
        t = 2000 + i * 2000
        wd.observe([card(last, t, area=face_area.code if i % 2 else "")])
        flaps += kinds(wd.tick(t))
    assert [k for k in flaps if k[1] == "overcrowded"] == []
    wd.observe([card(last, 20_000, area="")])
    assert kinds(wd.tick(25_000)) == [] and kinds(wd.tick(34_000)) == []
    assert ("clear", "overcrowded", f"area/{face_area.code}") in kinds(wd.tick(35_000))
    wd.observe([card(last, 35_500, area=face_area.code)])
    assert ("raise", "overcrowded", f"area/{face_area.code}") in kinds(wd.tick(36_000))
    # Overtime, SOS, restricted area.
    c = cards[0]
    assert kinds(wd.observe([card(c, 10 * 3_600_000 + 1000, area=face_area.code)])) == \
        [("raise", "overtime", f"person/{c}")]
    assert ("raise", "sos", f"person/{c}") in kinds(wd.observe(
        [card(c, 10 * 3_600_000 + 2000, area=face_area.code, state=CARD_STATE["sos"])]))
    assert ("raise", "restricted area", f"person/{c}") in kinds(wd.observe(
        [card(c, 10 * 3_600_000 + 3000, area=restricted.code)]))
    out = kinds(wd.observe([card(c, 10 * 3_600_000 + 4000, inside=False)]))
    assert {("clear", "overtime", f"person/{c}"), ("clear", "restricted area", f"person/{c}")} \
        <= set(out)
    # A reader offline, and back.
    reader = next(iter(model.readers))
    assert kinds(wd.observe([Observation("t", "reader", reader, 0, False)])) == \
        [("raise", "reader offline", f"reader/{reader}")]
    # These events go through the alarm book like any other and show on their nodes.
    book = AlarmBook(model, scene=scene)
    book.apply(wd.observe([card(cards[1], 0, state=CARD_STATE["sos"])]))
    assert scene.property(f"person/{cards[1]}", "alarm_level") == 3


def test_readings_taken_before_the_first_tick_are_not_stale_at_it(demo_model, tmp_path):
    """A month-old file in the inbox at start (a backlog, a historical import) arrives with
    the first tick: judged on its data clock from then on, not raising 'no data' for every
    point at once (the large demo's benchmark found 1564 of them)."""
    wd = Watchdogs(demo_model, None, Limits(stale_after_s=60))
    month = 30 * 24 * 60 * MIN
    assert wd.observe([pt("002A04", 0, 0.03), pt("002A05", 0, 0.04)]) == []
    assert wd.tick(month) == []
    assert kinds(wd.tick(month + 61_000)) == [("raise", "stale", "sensor/002A04"),
                                              ("raise", "stale", "sensor/002A05")]
