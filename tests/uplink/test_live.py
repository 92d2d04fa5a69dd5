"""The live upload files: RYSS and FZSS from the running twin pass our ingest and say what
the feeds said (shaft, area and reader times, the track); the statistics windows hold the
readings' own max / min / mean; abnormal records come from the alarm book with the
REFERENCE.md §3 type codes; the types whose layouts REFERENCE.md leaves open are written only
in a dialect that declares them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from twin.observation import POINT_STATE, Observation
from uplink.files import Dialect, UplinkError, build_files, split_records, write_checked
from uplink.live import LiveRecords

FMT = "%Y-%m-%d %H:%M:%S"
LAYOUTS = ('[layouts]\n'
           'TJSJ = ["point", "location", "max", "max_time", "min", "min_time", "avg", '
           '"start", "end"]\n'
           'YCBJ = ["point", "type_name", "location", "abnormal_type", "start", "end", "max"]\n'
           'RYCS = ["card", "name", "time_in", "start", "end", "hours"]\n'
           'RYCY = ["area", "area_name", "rated", "count", "start", "end"]\n')


@pytest.fixture(scope="module")
def shift_start(demo_model):
    """The morning shift going down: 30 simulated minutes from 07:50."""
    from twin.sim import Simulator
    sim = Simulator(demo_model, seed=2, start=datetime(2026, 11, 2, 7, 50))
    obs = sim.advance(1800.0)
    live = LiveRecords(demo_model)
    live.observe(obs)
    return sim, obs, live


def _when(sim):
    return sim.local_time().replace(tzinfo=None, microsecond=0)


def test_ryss_and_fzss_pass_our_ingest_and_say_what_the_feeds_said(demo_model, shift_start,
                                                                   tmp_path):
    from live_bindings.upload_files import decode_upload
    sim, obs, live = shift_start
    when = _when(sim)
    files = build_files(demo_model, None, when, types=("RYSS", "FZSS"), live=live)
    r = write_checked(files, tmp_path, demo_model, when)
    assert r["held"] == {} and len(r["written"]) == 2
    ryss = next(n for n in r["written"] if "_RYSS_" in n)
    data = (tmp_path / ryss).read_bytes()
    decoded = decode_upload(data, ryss, tz=demo_model.mine.time_zone)
    assert not decoded.problems
    underground = {p.card for p in sim.underground()}
    assert len(underground) > 20
    assert {o.key for o in decoded.observations} == underground
    cards = [o for o in obs if o.kind == "card"]
    rows = {r[0]: r for r in split_records(data)[1:]}
    zone = ZoneInfo(demo_model.mine.time_zone)
    fmt = lambda ms: datetime.fromtimestamp(ms / 1000, zone).strftime(FMT)   # noqa: E731
    for card in sorted(underground):
        mine = [o for o in cards if o.key == card]
        row = rows[card]
        assert row[1] == demo_model.people[card].name and row[2] == "1"
        assert row[3] == fmt(mine[0].time_ms) and row[4] == ""            # time in, not out
        assert row[5] == mine[-1].area and row[7] == mine[-1].reader
        assert row[8] == fmt(next(o.time_ms for o in mine if o.reader == mine[-1].reader))
        assert row[5] == row[7][:16]                                       # area ⊃ reader
        assert float(row[10]) == pytest.approx(mine[-1].distance_m)
        track = [t.split("&") for t in row[14].split(",")]
        readers = [o.reader for i, o in enumerate(mine) if i == 0 or o.reader != mine[i - 1].reader]
        assert [rd for rd, _ in track] == readers                         # every change, in order
        assert track[-1] == [row[7], row[8]]
        assert [t for _, t in track] == sorted(t for _, t in track)
    fzss = split_records((tmp_path / next(n for n in r["written"] if "_FZSS_" in n)).read_bytes())
    assert sorted(x[0] for x in fzss[1:]) == sorted(demo_model.outstations)
    assert all(x[1] == "0" and x[2] == "9" for x in fzss[1:])   # delivering; power unknown


def test_a_card_that_comes_out_is_reported_once_with_its_time_out(demo_model):
    live = LiveRecords(demo_model)
    card = sorted(demo_model.people)[0]
    reader = sorted(demo_model.readers)[:2]
    t0 = 1_793_577_600_000
    live.observe([
        Observation("t", "card", card, t0, True, reader=reader[0], area=reader[0][:16],
                    distance_m=3.0),
        Observation("t", "card", card, t0 + 60_000, True, reader=reader[1], area=reader[1][:16],
                    distance_m=-4.5),
        Observation("t", "card", card, t0 + 120_000, False)])
    rows = live.ryss_rows(FMT, since_ms=t0 + 100_000, shift_system="四六制")
    assert len(rows) == 1
    row = rows[0]
    assert row[2] == "2" and row[3] == live.fmt(t0, FMT) and row[4] == live.fmt(t0 + 120_000, FMT)
    assert row[7] == reader[1] and row[8] == row[4] and row[9] == "四六制"
    assert row[14] == f"{reader[0]}&{live.fmt(t0, FMT)},{reader[1]}&{live.fmt(t0 + 60_000, FMT)}"
    assert live.ryss_rows(FMT, since_ms=t0 + 130_000, shift_system="四六制") == []
    live.observe([Observation("t", "card", card, t0 + 3_600_000, True, reader=reader[0],
                              area=reader[0][:16])])      # down again: a new time in, new track
    (row,) = live.ryss_rows(FMT, since_ms=t0 + 130_000, shift_system="四六制")
    assert row[2] == "1" and row[3] == live.fmt(t0 + 3_600_000, FMT) and row[4] == ""
    assert row[14].count("&") == 1


def test_statistics_windows_hold_the_readings_max_min_and_mean(demo_model, shift_start,
                                                              tmp_path):
    sim, obs, _ = shift_start
    live = LiveRecords(demo_model)
    live.observe(obs)
    (tmp_path / "d.toml").write_text(LAYOUTS)
    d = Dialect.load(tmp_path / "d.toml")
    when = _when(sim)
    files = build_files(demo_model, None, when, d, ("TJSJ",), live)
    r = write_checked(files, tmp_path / "out", demo_model, when, d)
    assert r["held"] == {} and len(r["written"]) == 1
    recs = split_records((tmp_path / "out" / r["written"][0]).read_bytes(), d)[1:]
    # a window for each analog point that read in it: every 5 minutes for the 2 s points, the
    # tube-bundle points where an analysis (every 10 minutes) fell
    tube = demo_model.tube_bundle_points()
    analog = [c for c, s in demo_model.sensors.items() if s.value_type == "MN"]
    windows = {(r[0], r[7]) for r in recs}
    assert len(recs) == len(windows) == 6 * len([c for c in analog if c not in tube]) + \
        sum(1 for r in recs if r[0] in tube)
    assert {r[0] for r in recs} == set(analog)
    zone = ZoneInfo(demo_model.mine.time_zone)
    point = "002A01"
    for rec in (x for x in recs if x[0] == point):
        start = int(datetime.strptime(rec[7], FMT).replace(tzinfo=zone).timestamp() * 1000)
        end = int(datetime.strptime(rec[8], FMT).replace(tzinfo=zone).timestamp() * 1000)
        assert end - start == 300_000
        vals = [float(o.value) for o in obs
                if o.kind == "point" and o.key == point and start <= o.time_ms < end]
        assert float(rec[2]) == pytest.approx(max(vals), abs=1e-3)
        assert float(rec[4]) == pytest.approx(min(vals), abs=1e-3)
        assert float(rec[6]) == pytest.approx(sum(vals) / len(vals), rel=1e-3)
    assert build_files(demo_model, None, when, d, ("TJSJ",), live) == []   # taken once


def _abnormal_scenario(demo_model, reported=()):
    """An over-limit CH4 (calibrated meanwhile), an overcrowded area, a person over time —
    judged by the rules and watchdogs into the alarm book, the live records kept; with
    ``reported`` the mine's own system's reports go the same way."""
    from safety import AlarmBook, Limits, RuleEngine, Watchdogs, resolve_rules
    point = "002A01"
    s = demo_model.sensors[point]
    rules = RuleEngine(resolve_rules(demo_model), clear_hold_s=0)
    dogs = Watchdogs(demo_model, limits=Limits(overtime_h=0.5), clear_hold_s=0)
    book = AlarmBook(demo_model)
    live = LiveRecords(demo_model)
    t0 = 1_793_577_600_000
    card = sorted(demo_model.people)[0]
    area = next(a for a in sorted(demo_model.areas.values(), key=lambda a: a.code)
                if a.kind != "restricted")
    crowd = sorted(demo_model.people)[:area.rated_headcount + 1]
    reader = next(r for r in sorted(demo_model.readers) if r.startswith(area.code))
    over = s.thresholds.upper_alarm + 0.3
    batches = [
        [Observation("t", "point", point, t0, 0.2, "%"),
         Observation("t", "card", card, t0, True, reader=reader, area=area.code)],
        [Observation("t", "point", point, t0 + 60_000, over, "%"),
         *[Observation("t", "card", c, t0 + 60_000, True, reader=reader, area=area.code)
           for c in crowd]],
        [Observation("t", "point", point, t0 + 120_000, over + 0.5, "%",
                     state=POINT_STATE["calibrating"])],
        [Observation("t", "point", point, t0 + 180_000, 0.3, "%"),
         Observation("t", "card", card, t0 + 2_400_000, True, reader=reader, area=area.code)],
        [Observation("t", "card", card, t0 + 2_500_000, False),
         *[Observation("t", "card", c, t0 + 2_500_000, False) for c in crowd[1:]]],
    ]
    from safety import ReportedAlarms
    rep = ReportedAlarms(demo_model)
    for batch in batches[:2] + [list(reported)] + batches[2:]:     # (reported at 90 s)
        if not batch:
            continue
        now = max(o.time_ms for o in batch)
        book.observe(batch)                       # as the tick does: peaks first
        events = rules.evaluate(batch) + dogs.observe(batch) + dogs.tick(now) + \
            rep.observe(batch)
        live.observe(batch)
        live.alarms(book.apply(events))
    return live, t0, point, s, card, area, over


def test_abnormal_records_come_from_the_alarm_book(demo_model, tmp_path):
    live, t0, point, s, card, area, over = _abnormal_scenario(demo_model)
    (tmp_path / "d.toml").write_text(LAYOUTS)
    d = Dialect.load(tmp_path / "d.toml")
    when = datetime(2026, 11, 2, 9, 0)
    files = build_files(demo_model, None, when, d, ("YCBJ", "RYCS", "RYCY"), live)
    r = write_checked(files, tmp_path / "out", demo_model, when, d)
    assert r["held"] == {}
    recs = {n.split("_")[1]: split_records((tmp_path / "out" / n).read_bytes(), d)[1:]
            for n in r["written"]}
    f = lambda ms: live.fmt(ms, FMT)   # noqa: E731
    over_limit = [x for x in recs["YCBJ"] if x[3] == "001"]
    assert [x[4:6] for x in over_limit] == [[f(t0 + 60_000), ""],
                                           [f(t0 + 60_000), f(t0 + 180_000)]]
    assert float(over_limit[-1][6]) == pytest.approx(over + 0.5)        # the peak
    calib = [x for x in recs["YCBJ"] if x[3] == "007"]
    assert [x[4:6] for x in calib] == [[f(t0 + 120_000), ""], [f(t0 + 120_000), f(t0 + 180_000)]]
    assert all(x[0] == point and x[2] == s.location for x in recs["YCBJ"])
    assert recs["RYCS"][-1][:5] == [card, demo_model.people[card].name, f(t0), f(t0 + 2_400_000),
                                   f(t0 + 2_500_000)]
    assert recs["RYCY"][0] == [area.code, area.name, str(area.rated_headcount),
                              str(area.rated_headcount + 1), f(t0 + 60_000), ""]
    assert recs["RYCY"][-1][5] == f(t0 + 2_500_000)
    assert build_files(demo_model, None, when, d, ("YCBJ",), live) == []   # nothing new


def test_records_are_written_in_the_references_layouts_and_read_back_by_our_ingest(
        demo_model, shift_start, tmp_path):
    """#20.2 — without a dialect, TJSJ, YCBJ, RYCS, RYCY are written in REFERENCE.md §3a's
    layouts, and our own ingest reads back what happened (the self-check does the same)."""
    from live_bindings.upload_files import decode_upload
    from twin import RECORD_FIELDS
    sim, obs, _ = shift_start
    stats = LiveRecords(demo_model)
    stats.observe(obs)
    when = _when(sim)
    (f,) = build_files(demo_model, None, when, types=("TJSJ",), live=stats)
    assert all(len(r) == 12 for r in split_records(f[2])[1:])
    d = decode_upload(f[2], f[1], tz=demo_model.mine.time_zone)
    assert not d.problems and {o.param for o in d.observations} == {"max", "min", "mean"}
    live, t0, point, s, card, area, over = _abnormal_scenario(demo_model)
    when = datetime(2026, 11, 2, 9, 0)
    files = build_files(demo_model, None, when, types=("YCBJ", "RYCS", "RYCY"), live=live)
    r = write_checked(files, tmp_path / "out", demo_model, when)
    assert r["held"] == {} and len(r["written"]) == 3
    got = {}
    for n in r["written"]:
        data = (tmp_path / "out" / n).read_bytes()
        ftype = n.split("_")[1]
        assert all(len(x) == len(RECORD_FIELDS[ftype]) for x in split_records(data)[1:])
        dec = decode_upload(data, n, tz=demo_model.mine.time_zone)
        assert not dec.problems
        got[ftype] = [(o.key, o.param, o.state, o.since_ms) for o in dec.observations]
    assert (point, "YCBJ/001", 1, t0 + 60_000) in got["YCBJ"]       # ongoing, then ended
    assert (point, "YCBJ/001", 0, t0 + 60_000) in got["YCBJ"]
    assert (point, "YCBJ/007", 0, t0 + 120_000) in got["YCBJ"]
    assert got["RYCS"][-1][:3] == (card, "RYCS", 0)
    assert got["RYCY"][0] == (area.code, "RYCY", 1, t0 + 60_000)


def test_what_the_mines_system_reported_is_passed_on_once(demo_model, tmp_path):
    """A reported over-limit on the point the twin's own rule already reports is not sent
    twice; a reported SOS (the twin had none) is passed on as RYQJ."""
    from live_bindings.upload_files import decode_upload
    card = sorted(demo_model.people)[1]
    t = 1_793_577_600_000 + 90_000
    reported = [Observation("f", "report", "002A01", t, 2.0, state=1, param="YCBJ/001",
                            since_ms=t),
                Observation("f", "report", card, t, None, state=1, param="RYQJ", since_ms=t)]
    live, t0, point, *_ = _abnormal_scenario(demo_model, reported)
    when = datetime(2026, 11, 2, 9, 0)
    files = build_files(demo_model, None, when, types=("YCBJ", "RYQJ"), live=live)
    dec = {f[0]: decode_upload(f[2], f[1], tz=demo_model.mine.time_zone) for f in files}
    over = [o for o in dec["YCBJ"].observations if o.param == "YCBJ/001"]
    assert {o.since_ms for o in over} == {t0 + 60_000}                 # the twin's, once
    (sos,) = dec["RYQJ"].observations
    assert (sos.key, sos.state, sos.since_ms) == (card, 1, t)
    with pytest.raises(UplinkError, match="live records"):
        build_files(demo_model, None, datetime(2026, 11, 2, 9, 0), types=("RYSS",))
    for text, msg in (('[layouts]\nTJSJ = ["point", "colour"]\n', "unknown fields \\['colour'\\]"),
                      ('[layouts]\nZZZZ = ["point"]\n', "no such type"),
                      ('[layouts]\nTJSJ = []\n', "non-empty list")):
        (tmp_path / "d.toml").write_text(text)
        with pytest.raises(UplinkError, match=msg):
            Dialect.load(tmp_path / "d.toml")
