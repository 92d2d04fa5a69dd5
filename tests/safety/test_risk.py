"""Risk pre-control (#22): the register and its errors, forecasts ahead of the workings on
the demo's geology, a drill of a heading driving at a fault and an outburst zone — the
pre-warnings at their lines, the area's level with its reasons — and the other facts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from assets import AssetStore
from safety import AlarmBook, RiskEngine, RiskError, check_register, load_register
from safety.alarms import Alarm
from twin.geology.exposure import build_geology
from twin.geology.forecast import forecast_workings
from twin.geology.hazard_zones import Zone, load_hazard_data
from twin.geology.meshes import GeologyScene


@pytest.fixture(scope="module")
def geology(demo_dir, demo_model, tmp_path_factory):
    geo = build_geology(demo_dir, demo_model.mine.origin)
    hazards = load_hazard_data(demo_dir / "geology", demo_model.mine.origin)
    maker = GeologyScene(geo, demo_model, AssetStore(tmp_path_factory.mktemp("store")),
                         hazards=hazards)
    maker.hazard_nodes()
    return geo, maker


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "minetwin.cli", "risk", *args],
                          capture_output=True, text=True, timeout=300)


def test_the_register_is_derived_from_the_mine_and_a_bad_file_says_every_problem(
        demo_dir, demo_model, tmp_path):
    reg = load_register(demo_dir, demo_model)
    assert reg.derived
    places = {p.place for p in reg.points}
    # every working has its gas risk; the demo is an outburst mine: outburst too, red
    for k in demo_model.headings:
        assert f"heading:{k}" in places
    gas = {p.place for p in reg.points if p.hazard == "gas"}
    assert gas == {f"face:{k}" for k in demo_model.longwalls} | \
        {f"heading:{k}" for k in demo_model.headings}
    if demo_model.mine.gas_class == "outburst":
        assert all(p.level == 3 for p in reg.points if p.hazard == "outburst")
    assert all(p.controls and p.owner for p in reg.points)
    assert {(w.hazard, w.id) for w in reg.lines} >= {("water", "probe"), ("fault", "near")}

    mine = tmp_path / "mine"
    shutil.copytree(demo_dir, mine)
    (mine / "risks.toml").write_text('''
[[risk]]
id = "r1"
place = "heading:nope"
hazard = "volcano"
level = "purple"
owner = "x"

[[risk]]
id = "r1"
place = "face:11901"
hazard = "gas"
level = "较大"
owner = "通风科"

[[line]]
hazard = "water"
id = "probe"
distance_m = -5
level = "orange"

[[rule]]
id = "x"
fact = "weather"
level = "red"
''', encoding="utf-8")
    problems = check_register(mine, demo_model)
    text = "\n".join(problems)
    for expected in ("place 'heading:nope' is not", "hazard 'volcano' is not one of",
                     "level 'purple' is not one of", "id 'r1' given twice",
                     "a orange risk needs its controls", "distance_m must be a number ≥ 0",
                     "fact 'weather' is not one of"):
        assert expected in text, expected
    with pytest.raises(RiskError):
        load_register(mine, demo_model)
    r = _cli("check", "--mine", str(mine))
    assert r.returncode == 2 and r.stderr.count("error:") == len(problems)

    # the derived register written out is a valid file of the mine's own
    (mine / "risks.toml").unlink()
    assert _cli("default", "--mine", str(mine), "--write").returncode == 0
    ok = json.loads(_cli("check", "--mine", str(mine), "--json").stdout)
    assert ok["ok"] and not ok["derived"] and ok["points"] == len(reg.points)
    own = load_register(mine, demo_model)
    assert [(p.id, p.level, p.controls) for p in own.points] == \
        [(p.id, p.level, p.controls) for p in reg.points]


def test_the_forecast_finds_the_fault_where_its_plane_cuts_the_seam(geology, demo_model):
    geo, maker = geology
    fcs = forecast_workings(geo, demo_model, maker.workings(), list(maker.zones.values()),
                            maker.zone_grid)
    assert {f.working for f in fcs} == {f"face:{k}" for k in demo_model.longwalls} | \
        {f"heading:{k}" for k in demo_model.headings}
    faults = {f.name: f for f in geo.model.faults}
    seen = 0
    for fc in fcs:
        assert [a.distance_m for a in fc.ahead] == sorted(a.distance_m for a in fc.ahead)
        for a in fc.ahead:
            assert 0.0 <= a.distance_m <= fc.reach_m
            if a.days is not None:
                assert a.days == pytest.approx(a.distance_m / fc.rate_m_per_day)
            if a.kind != "fault":
                continue
            seen += 1
            x, y, z = a.position
            # on the plane: the plan distance to the fault's trace at the seam there ≈ 0
            f = faults[a.name]
            assert abs(float(f.plan_distance(x, y, z))) < 6.0
            assert a.detail["throw_m"] == f.throw_m and a.detail["throw_sigma_m"] > 0
    assert seen >= 2
    face = next(f for f in fcs if f.working.startswith("face:"))
    panel = demo_model.longwalls[face.working.partition(":")[2]]
    end = np.max(panel.outline @ np.asarray(face.direction))
    start = np.min(panel.start_line[:, :2] @ np.asarray(face.direction))
    assert face.reach_m <= end - start - face.advanced_m + 1e-6      # no further than the panel


def _drill_zone(maker, centre, radius=60.0):
    """An outburst-danger zone of the drill: the cells within ``radius`` of ``centre``."""
    xs, ys = maker.zone_grid
    cx, cy = np.meshgrid((xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2)
    mask = np.hypot(cx - centre[0], cy - centre[1]) <= radius
    z = np.zeros((len(ys), len(xs)))
    return Zone("outburst", "M9", "M9突出危险区(演练)", mask, z, z,
                {"criterion": "drill"})


def test_a_heading_driving_at_a_fault_and_an_outburst_zone(geology, demo_model):
    """The drill of #22: as the heading advances, the forecast distances fall, pre-warnings
    enter the alarm book at each line, and the heading's area goes blue → yellow → orange
    with reasons naming the fault, the zone and their distances."""
    geo, maker = geology
    hid = "11902-intake-heading"
    key = f"heading:{hid}"
    road = demo_model.roadways[demo_model.headings[hid].roadway]
    adv0 = demo_model.headings[hid].advanced_m
    area = demo_model.working_area(hid)
    w = next(x for x in maker.workings() if x[0] == f"heading-{hid}")
    p0, d = w[2][1], np.asarray(w[3])
    zone = _drill_zone(maker, p0 + d * 260.0)
    engine = RiskEngine(demo_model, _register(demo_model))
    book = AlarmBook(demo_model)
    levels, fault_d, zone_d, raised = [], [], [], []
    old = dict(maker.advance)
    try:
        for step in range(0, 236, 5):
            adv = min(adv0 + step, road.length_m - 1.0)
            maker.advance[key] = adv
            work = [x for x in maker.workings() if x[0] == f"heading-{hid}"]
            fcs = forecast_workings(geo, demo_model, work, [zone], maker.zone_grid)
            t = 1_000_000 + step * 60_000
            changed = book.apply(engine.prewarnings(fcs, t))
            raised += [a for a in changed if a.active]
            engine.evaluate(t, alarms=book.listing(), forecasts=fcs)
            ahead = {a.kind: a.distance_m for a in fcs[0].ahead}
            fault_d.append(ahead.get("fault"))
            zone_d.append(ahead.get("outburst"))
            levels.append((step, engine.levels[area].level, engine.levels[area].reasons))
    finally:
        maker.advance.clear()
        maker.advance.update(old)
    # the distances fall with the advance, metre for metre (while ahead)
    fd = [(s, v) for (s, *_), v in zip(levels, fault_d) if v is not None]
    assert len(fd) >= 20 and all(abs((v0 - v1) - (s1 - s0)) < 1.5
                                 for (s0, v0), (s1, v1) in zip(fd, fd[1:]))
    assert fault_d[-1] is None                       # passed: no longer ahead
    zd = [v for v in zone_d if v is not None]
    assert zd[0] > 150 and zd[-1] == 0.0
    seq = [lv for _, lv, _ in levels]
    assert seq[0] == 0                               # blue: nothing within a line
    first_yellow, first_orange = seq.index(1), seq.index(2)
    assert 0 < first_yellow < first_orange
    # yellow at the fault's notice line, naming the fault and its distance
    s, _, reasons = levels[first_yellow]
    r = reasons[0]
    assert r["fact"] == "forecast" and "F1" in r["zh"] and "预报线 100 m" in r["zh"]
    assert r["value"] <= 100.0 and f"{r['value']:.0f} m" in r["zh"]
    # orange at the near line (30 m)
    s, _, reasons = levels[first_orange]
    assert "F1" in reasons[0]["en"] and "near line 30 m" in reasons[0]["en"]
    assert reasons[0]["value"] <= 30.0
    # later orange for the outburst zone at its protective distance, naming the zone
    late = [x for x in levels if x[1] == 2 and "突出危险区(演练)" in x[2][0]["zh"]]
    assert late and late[0][0] > first_orange and late[0][2][0]["value"] <= 50.0
    assert "防突保护距离 50 m" in late[0][2][0]["zh"]
    # the alarm book: pre-warnings of their own kind, one per line crossed, at the line
    kinds = {(a.rule.split("/")[1], a.rule.rsplit("@", 1)[1]) for a in raised}
    assert {("forecast_fault", "notice"), ("forecast_fault", "near"),
            ("forecast_outburst", "notice"), ("forecast_outburst", "protective")} <= kinds
    assert all(a.kind == "forecast" and a.node == f"heading/{hid}" for a in raised)
    notice = next(a for a in raised if a.rule.endswith("F1@notice"))
    assert 95.0 <= notice.value <= 100.0 and notice.threshold == 100.0 and notice.level == 1
    text = book.record(notice)["text"]
    assert "F1" in text["zh"] and "预报线 100 m" in text["zh"] and "ahead" in text["en"]
    # passing the fault cleared its pre-warnings
    fault_open = [a for a in book.listing() if a.active and "forecast_fault" in a.rule]
    assert not fault_open


def _register(model):
    from safety.risk import DEFAULT_RISKS, _read, Register, default_points
    from twin.tomlfile import read_toml
    lines, rules, raise_at = _read(read_toml(DEFAULT_RISKS, RiskError), "defaults", None, [])[1:]
    # the drill judges the fault and the zone alone: no seam-shape lines
    lines = [w for w in lines if w.hazard in ("fault", "outburst")]
    return Register(tuple(default_points(model)), tuple(lines), tuple(rules), raise_at, True)


def test_alarms_headcount_and_the_combination_make_an_areas_level(demo_model, demo_dir):
    engine = RiskEngine(demo_model, load_register(demo_dir, demo_model))
    code = next(c for c, s in demo_model.sensors.items() if s.roadway and
                engine.area_of_place(f"sensor/{c}"))
    area = engine.area_of_place(f"sensor/{code}")
    alarm = Alarm(1, f"{code}/ch4/main", code, f"sensor/{code}", f"point:{code}", "alarm", 2,
                  1000, 1.2, 1.0, "test", 1.2)
    engine.evaluate(1000, alarms=[alarm])
    got = engine.levels[area]
    assert got.level == 2 and got.reasons[0]["fact"] == "alarm" and code in got.reasons[0]["zh"]
    assert all(v.level == 0 and not v.reasons for k, v in engine.levels.items() if k != area)
    # cleared: blue again, and the history says when each changed
    engine.evaluate(2000, alarms=[replace(alarm, cleared_ms=1500)])
    assert engine.levels[area].level == 0
    assert [(t, lv) for t, a, lv in engine.history if a == area] == [(1000, 2), (2000, 0)]
    # three yellow facts at once raise the area to orange (combine.raise_at = 3)
    rated = demo_model.areas[area].rated_headcount
    ones = [replace(alarm, id=i, level=1, rule=f"{code}/x{i}/main") for i in (2, 3)]
    engine.evaluate(3000, alarms=ones, headcounts={area: rated + 1})
    lv = engine.levels[area]
    assert lv.level == 2 and sorted(r["fact"] for r in lv.reasons) == \
        ["alarm", "alarm", "headcount"]
    assert engine.record()["levels"][0]["level_name"]["zh"] in ("低风险", "一般风险", "较大风险")


def test_the_geology_service_forecasts_a_moved_working_again(demo_dir, demo_model, tmp_path):
    """In the twin the forecasts are made on the geology's thread: first for every working,
    then again for one that advanced, the others kept as they were."""
    from twin import GeologyService, Observation
    geo = build_geology(demo_dir, demo_model.mine.origin)
    hazards = load_hazard_data(demo_dir / "geology", demo_model.mine.origin)
    maker = GeologyScene(geo, demo_model, AssetStore(tmp_path / "store"), hazards=hazards)
    maker.hazard_nodes()
    svc = GeologyService(geo, maker)
    try:
        assert svc.wait_idle(120) and len(svc.forecasts) == len(demo_model.longwalls) + \
            len(demo_model.headings)
        before = {f.working: f for f in svc.forecasts}
        hid = "11902-intake-heading"
        adv = demo_model.headings[hid].advanced_m + 20.0
        svc.offer([Observation("sim", "equipment", f"heading:{hid}", 1, adv,
                               param="advanced_m")])
        assert svc.wait_idle(120)
        after = {f.working: f for f in svc.forecasts}
        moved = after[f"heading:{hid}"]
        assert moved.advanced_m == pytest.approx(adv)
        f0 = next(a for a in before[f"heading:{hid}"].ahead if a.kind == "fault")
        f1 = next(a for a in moved.ahead if a.kind == "fault")
        assert f1.distance_m == pytest.approx(f0.distance_m - 20.0, abs=1.5)
        assert all(after[k] is before[k] for k in before if k != f"heading:{hid}")
    finally:
        svc.close()


def test_the_forecast_notice_of_a_heading(demo_dir, tmp_path):
    """#22.5: the written notice (预测预报通知单) says what lies ahead, how far, by when, which
    lines it crossed and what they ask, in Chinese and English, and prints to PDF."""
    import re
    r = _cli("notice", "--mine", str(demo_dir), "--working", "11902-return-heading",
             "--out", str(tmp_path), "--date", "2026-12-03")
    assert r.returncode == 0, r.stderr
    (item,) = json.loads(r.stdout)
    page = open(item["html"], encoding="utf-8").read()
    assert "地质预测预报通知单" in page and "11902回风巷掘进工作面" in page and "编号 11902-return-heading-20261203" in page
    # the water zone 45 m ahead at 8 m a day: inside the probing line, 6 days, with its measure
    row = re.search(r"<tr class='orange'><td>水害区</td><td>([^<]+)</td><td>(\d+)</td><td>(\d+)</td>"
                    r"<td>([\d-]+)</td>", page)
    assert row and 40 <= int(row.group(2)) <= 50 and row.group(4).startswith("2026-12-")
    assert "探水线 60 m" in page and "先探后掘" in page
    assert "判据：突水系数（95% 上限）" in page and "upper bound" not in page   # all in Chinese
    assert re.search(r"<td>断层</td><td>F1</td><td>\d+</td>", page) and "落差 5.29 m" in page
    assert all(s in page for s in ("编制", "审核", "总工程师"))
    assert item["pdf"] and open(item["pdf"], "rb").read(5) == b"%PDF-"
    assert _cli("notice", "--mine", str(demo_dir), "--working", "nope", "--out",
                str(tmp_path)).returncode == 2
    en = _cli("notice", "--mine", str(demo_dir), "--working", "heading:11902-return-heading",
              "--out", str(tmp_path / "en"), "--lang", "en", "--no-pdf")
    text = open(json.loads(en.stdout)[0]["html"], encoding="utf-8").read()
    assert "Geological forecast notice" in text and "probing line 60 m" in text \
        and "probe before advancing" in text and "criterion: Ts (95 % upper bound)" in text
