"""The shift report: from an alarm book, a history and snapshots written by a simulated
hour across a shift change (an outburst in each shift), it lists exactly the shift's alarms
with their pictures, the key gas points' max/min/mean, headcounts by area and equipment run
time; HTML in Chinese by default, and a PDF printed by Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from render.report import shift_window


@pytest.fixture(scope="module")
def hour(demo_dir, demo_model, tmp_path_factory):
    from assets import AssetStore
    from live_bindings import DefaultBindings, History
    from safety import AlarmBook, RuleEngine, Watchdogs, resolve_rules
    from render.renderer import PandaMirror, Renderer, node_picture
    from twin.scene_build import build_scene
    from twin.sim import Simulator
    from twin.sim.scenarios import parse_scenario
    tmp = tmp_path_factory.mktemp("report")
    scenario = parse_scenario({"event": [
        {"type": "gas_outburst", "at": "00:05:00", "place": "face:11901", "duration": 600},
        {"type": "gas_outburst", "at": "00:40:00", "place": "face:11901", "duration": 600}]},
        "two outbursts")
    model = demo_model
    store = AssetStore(tmp / "assets")
    scene = build_scene(model, store)
    bindings = DefaultBindings(model, scene)
    scene.commit()
    sim = Simulator(model, seed=3, start=datetime(2026, 11, 2, 7, 40), scenario=scenario)
    rules = RuleEngine(resolve_rules(model), clear_hold_s=10)
    dogs = Watchdogs(model, scene)
    book = AlarmBook(model, path=tmp / "alarms.sqlite", scene=scene)
    history = History(tmp / "history.sqlite")
    r = Renderer((320, 180), software=True)
    mirror = PandaMirror(scene, r.render, store.path)
    (tmp / "snaps").mkdir()
    # risk pre-control (#22.6): the forecasts ahead of the workings on the demo's geology, the
    # pre-warnings they raise and the areas' levels each minute, as the twin keeps them
    from safety import RiskEngine, load_register
    from twin.geology.exposure import build_geology
    from twin.geology.forecast import forecast_workings
    from twin.geology.hazard_zones import load_hazard_data
    from twin.geology.meshes import GeologyScene
    geo = build_geology(demo_dir, model.mine.origin)
    maker = GeologyScene(geo, model, store, hazards=load_hazard_data(demo_dir / "geology",
                                                                     model.mine.origin))
    maker.hazard_nodes()
    forecasts = forecast_workings(geo, model, maker.workings(), list(maker.zones.values()),
                                  maker.zone_grid)
    risk = RiskEngine(model, load_register(demo_dir, model))
    next_minute = 0
    for _ in range(90):                                   # 07:40 → 08:25, 30 s at a time
        batch = sim.advance(30.0)
        bindings.apply(batch)
        book.observe(batch)
        now = sim.now_ms
        changed = book.apply(rules.evaluate(batch) + dogs.observe(batch) + dogs.tick(now)
                             + risk.prewarnings(forecasts, now))
        history.record(batch)
        if now >= next_minute:
            history.record_values((f"headcount/{k}", now, n) for k, n in dogs.headcounts().items())
            levels = risk.evaluate(now, alarms=book.listing(), forecasts=forecasts,
                                   headcounts=dogs.headcounts())
            history.record_values((f"risk/{k}", now, a.level) for k, a in levels.items())
            next_minute = now + 60_000
        mirror.apply(scene.commit(now))
        for a in changed:
            if a.active and a.snapshot is None and a.kind != "forecast" and \
                    not (tmp / "snaps" / f"alarm-{a.id}.png").exists():
                node_picture(r, mirror, a.node, banner=f"报警 {a.node}").save(
                    tmp / "snaps" / f"alarm-{a.id}.png")
                book.attach_snapshot(a.id, f"alarm-{a.id}.png")
    r.close()
    book.close()
    history.close()
    # hidden dangers (#22.6): one reported in the night shift and overdue in the early one,
    # one reported and closed in the early shift, one reported in it and still open
    from safety import DangerBook, load_workflow
    hd = DangerBook(model, load_workflow(demo_dir), path=tmp / "dangers.sqlite")
    at = lambda h, m: int(datetime(2026, 11, 2, h, m, tzinfo=ZoneInfo(model.mine.time_zone)).timestamp() * 1000)  # noqa: E731
    area = next(iter(model.areas))
    d1 = hd.take("report", "王五", "viewer", {"title": "风筒破口", "area": area}, at(7, 50))
    hd.take("assess", "李四", "operator", {"danger": d1.id, "level": "A"}, at(7, 51))
    hd.take("assign", "李四", "operator", {"danger": d1.id, "team": "通风队",
                                          "deadline_ms": at(8, 10)}, at(7, 52))
    d2 = hd.take("report", "王五", "viewer", {"title": "皮带托辊缺失", "area": area}, at(8, 5))
    hd.take("reject", "李四", "operator", {"danger": d2.id, "comment": "重复上报"}, at(8, 20))
    hd.take("report", "王五", "viewer", {"title": "消防沙箱不足", "area": area}, at(8, 15))
    hd.close()
    (tmp / "c.toml").write_text(
        f'[mine]\npath = "{demo_dir}"\n[alarms]\ndb = "alarms.sqlite"\n[dangers]\ndb = "dangers.sqlite"\n'
        f'[history]\ndb = "history.sqlite"\n[snapshots]\nfolder = "snaps"\n')
    return tmp


def _report(tmp, shift, out, *extra):
    r = subprocess.run([sys.executable, "-m", "minetwin.cli", "report", "shift", "--date",
                        "2026-11-02", "--shift", str(shift), "--out", str(out), "--config",
                        str(tmp / "c.toml"), *extra], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


def test_the_shift_report_lists_exactly_the_shifts_alarms_with_their_pictures(hour, demo_model):
    import sqlite3
    rows = list(sqlite3.connect(hour / "alarms.sqlite").execute(
        "SELECT id, raised_ms, snapshot FROM alarms ORDER BY raised_ms, id"))
    early = shift_window(date(2026, 11, 2), 2, demo_model.mine.time_zone)
    mine = [i for i, t, _ in rows if early.start_ms <= t < early.end_ms]
    before = [i for i, t, _ in rows if t < early.start_ms]
    assert mine and before                    # an outburst on each side of 08:00
    rep = _report(hour, 2, hour / "out2")
    assert rep["alarms"] == mine
    html = (hour / "out2" / "index.html").read_text(encoding="utf-8")
    assert "早班" in html and "本班报警" in html and f"本班报警 ({len(mine)})" in html
    assert len(re.findall(r"<tr class='level", html)) == len(mine)
    shots = {s for i, _, s in rows if i in mine and s}
    assert shots and set(rep["pictures"]) == shots
    for s in shots:
        assert (hour / "out2" / "images" / s).read_bytes() == (hour / "snaps" / s).read_bytes()
        assert f"images/{s}" in html
    for img in re.findall(r"src='(images/[^']+)'", html):
        assert (hour / "out2" / img).exists()
    assert rep["gas_points"] >= 3 and rep["areas"] >= 2 and rep["equipment"] >= 1
    assert "002A01" in html and "分区域人数" in html and "设备开机时间" in html
    # #22.6 risk levels by area and the pre-warnings standing at the shift's end
    assert "风险分级管控" in html and rep["risk_areas"] == len(demo_model.areas)
    face_area = demo_model.areas[demo_model.working_area("11901")].name
    section = html.split("<h2>风险分级管控</h2>", 1)[1]
    row = re.search(rf"<tr><td>{face_area}</td><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td><td>(\d+)</td>", section)
    assert row and row.group(2) in ("较大风险", "重大风险") and int(row.group(3)) >= 2   # the outburst
    assert rep["prewarnings"] and html.count("<tr class='prewarn") == len(rep["prewarnings"])
    assert "探水线 60 m" in html and "一周内" in html      # 45 m of water ahead at 8 m a day
    # the hidden dangers of the shift: as they stood at its end, the overdue one first
    assert rep["dangers"]["reported"] == 2 and rep["dangers"]["closed"] == 1
    assert rep["dangers"]["overdue"] == 1 and len(rep["dangers"]["open"]) == 2
    assert "本班上报 2 项，销号/驳回 1 项；班末未销号 2 项，其中逾期 1 项" in html
    first = html.split("<h3>隐患排查治理</h3>", 1)[1].split("<tr class='danger", 2)[1]
    assert first.startswith(" overdue") and "风筒破口" in first and "A级隐患" in first
    pdf = (hour / "out2" / "report.pdf").read_bytes()
    art = Path(__file__).resolve().parents[2] / "test-artifacts"      # to look at (pdftoppm)
    art.mkdir(exist_ok=True)
    (art / "shift-report.pdf").write_bytes(pdf)
    assert rep["pdf"] and pdf[:5] == b"%PDF-"
    # #19.10: printed on A4 (595 × 842 pt), alarms in words, full scale marked as over range
    boxes = {tuple(round(float(v)) for v in m.split()) for m in
             re.findall(rb"/MediaBox\s*\[\s*([\d.\s]+?)\s*\]", pdf)}
    assert boxes == {(0, 0, 595, 842)} or boxes == {(0, 0, 596, 843)}, boxes
    assert "甲烷" in html and " % ≥ " in html and "级</td>" in html
    if "≥4.00" in html:
        assert "超量程" in html
    night = _report(hour, 1, hour / "out1", "--no-pdf", "--lang", "en")
    assert night["alarms"] == before and night["pdf"] is None
    assert night["dangers"] == {"reported": 1, "closed": 0, "open": [1], "overdue": 0}
    # the daily report: the same parts over the whole day (every alarm, every danger)
    day = _report(hour, 0, hour / "out0", "--no-pdf")
    assert day["alarms"] == [i for i, *_ in rows]
    assert day["dangers"] == {"reported": 3, "closed": 1, "open": [1, 3], "overdue": 1}
    page = (hour / "out0" / "index.html").read_text(encoding="utf-8")
    assert "安全日报" in page and "本日报警" in page and "本日上报 3 项" in page
    assert "shift report" in (hour / "out1" / "index.html").read_text(encoding="utf-8")


def test_report_values_come_from_the_history(hour, demo_model):
    from live_bindings import History
    from render.report import _run_time, _stats
    sh = shift_window(date(2026, 11, 2), 2, demo_model.mine.time_zone)
    h = History(hour / "history.sqlite")
    lo, hi, mean, n = _stats(h, "002A01", sh)
    vals = [v for (v,) in h.db.execute("SELECT value FROM samples WHERE series='002A01' AND "
                                       "t >= ? AND t < ?", (sh.start_ms, sh.end_ms))]
    assert (lo, hi, n) == (min(vals), max(vals), len(vals))
    assert hi >= 1.0                                   # the outburst at 08:20
    hours, starts = _run_time(h, "shearer-11901/running", sh)
    assert 0 < hours <= 25 / 60 + 1e-9                 # at most 08:00 → 08:25 of data
    with pytest.raises(ValueError, match="shift 4"):
        shift_window(date(2026, 11, 2), 4, demo_model.mine.time_zone)
