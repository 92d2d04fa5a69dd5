"""#20.1 Alarms the mine's own systems report (YCBJ, RYCS, RYCY, RYXZ, RYQJ) in the one alarm
book: one alarm per record, raised at its start and cleared at its end, on its node, in words;
and end to end — files in the running twin's inbox show on their nodes."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from safety import AlarmBook, ReportedAlarms
from tests.helpers import app_config, start_app, until
from twin import Observation

S = 1000
T0 = 1_793_000_000_000


def report(key, param, start_s, end_s=None, value=None, t_s=None):
    ended = end_s is not None
    return Observation("file:x", "report", key, T0 + S * (end_s if ended else (t_s or start_s)),
                       value, state=0 if ended else 1, param=param, since_ms=T0 + S * start_s)


def point(model, location, type_code="0001"):
    return next(c for c, s in model.sensors.items()
                if s.location == location and s.type_code == type_code)


def test_an_ycbj_record_is_one_alarm_from_its_start_to_its_end(demo_model):
    m = demo_model
    ch4 = point(m, "11901工作面")
    rep, book = ReportedAlarms(m), AlarmBook(m)
    book.apply(rep.observe([report(ch4, "YCBJ/001", 100, value=1.62)]))
    (a,) = book.listing()
    assert (a.node, a.level, a.raised_ms, a.active, a.value) == \
        (f"sensor/{ch4}", 2, T0 + 100 * S, True, 1.62)
    assert a.threshold == m.sensors[ch4].thresholds.upper_alarm
    assert "monitoring system (YCBJ 001 over-limit alarm)" in a.source
    assert book.record(a)["text"]["zh"] == "监控系统报 超限报警 甲烷 1.62 %"
    assert book.record(a)["text"]["en"] == "monitoring system: over-limit alarm CH4 1.62 %"
    # sent again while it lasts (each upload cycle): nothing new
    assert rep.observe([report(ch4, "YCBJ/001", 100, value=1.7, t_s=110)]) == []
    # the same start with the end filled in: cleared at its end
    book.apply(rep.observe([report(ch4, "YCBJ/001", 100, end_s=400, value=1.7)]))
    (a,) = book.history()
    assert (a.cleared_ms, a.active) == (T0 + 400 * S, False)


def test_a_record_first_seen_ended_is_kept_and_a_switchs_has_no_value(demo_model):
    m = demo_model
    feeder = point(m, "11901工作面馈电开关", "1011")
    rep, book = ReportedAlarms(m), AlarmBook(m)
    book.apply(rep.observe([report(feeder, "YCBJ/003", 50, end_s=80)]))
    (a,) = book.history()
    assert (a.raised_ms, a.cleared_ms, a.level) == (T0 + 50 * S, T0 + 80 * S, 3)
    assert book.record(a)["text"]["zh"] == "监控系统报 馈电异常"


def test_a_new_start_ends_the_open_one_and_an_older_record_changes_nothing(demo_model):
    m = demo_model
    ch4 = point(m, "11901工作面")
    rep = ReportedAlarms(m)
    first = rep.observe([report(ch4, "YCBJ/001", 100, value=1.2)])
    again = rep.observe([report(ch4, "YCBJ/001", 900, value=1.3)])
    assert [e.kind for e in first] == ["raise"]
    assert [(e.kind, e.time_ms) for e in again] == [("clear", T0 + 900 * S),
                                                    ("raise", T0 + 900 * S)]
    assert rep.observe([report(ch4, "YCBJ/001", 100, end_s=200)]) == []


def test_personnel_reports_are_on_the_person_and_the_area(demo_model):
    m = demo_model
    card = next(iter(m.people))
    area = next(c for c, a in m.areas.items() if a.kind != "restricted")
    rep, book = ReportedAlarms(m), AlarmBook(m)
    book.apply(rep.observe([report(card, "RYCS", 10, value=10.5),
                            report(card, "RYQJ", 20), report(area, "RYCY", 30, value=11.0)]))
    got = {a.rule.rsplit("/", 1)[-1]: a for a in book.listing()}
    assert {k: (a.node, a.level) for k, a in got.items()} == {
        "RYCS": (f"person/{card}", 2), "RYQJ": (f"person/{card}", 3), "RYCY": (f"area/{area}", 2)}
    words = {k: book.record(a)["text"]["zh"] for k, a in got.items()}
    rated = m.areas[area].rated_headcount
    assert words == {"RYCS": "定位系统报 超时 下井 10.5 小时", "RYQJ": "定位系统报 SOS 求救",
                     "RYCY": f"定位系统报 超员 11/{rated} 人"}


def test_levels_come_from_the_rule_table_and_open_ones_survive_a_restart(demo_model):
    m = demo_model
    ch4 = point(m, "11901工作面")
    rep = ReportedAlarms(m, table={"reported": {"YCBJ": {"004": 3}, "RYXZ": 2}})
    (e,) = rep.observe([report(ch4, "YCBJ/004", 5)])
    assert e.rule.level == 3 and rep._rule(ch4, "YCBJ/001").level == 2
    again = ReportedAlarms(m)
    again.restore([e.rule.id, "002A02/ch4/main"])
    assert [x.kind for x in again.observe([report(ch4, "YCBJ/004", 5, end_s=60)])] == ["clear"]


def _file(ftype: str, t: datetime, *records: str) -> tuple[str, bytes]:
    head = f"520522000001;黔西示范煤矿;{t:%Y-%m-%d %H:%M:%S}~"
    return f"520522000001_{ftype}_{t:%Y%m%d%H%M%S}.txt", \
        (head + "".join(r + "~" for r in records) + "||").encode()


def test_the_running_twin_shows_what_the_mines_systems_report(demo_dir, tmp_path, demo_model):
    """Files in the inbox: an over-limit abnormal on a CH4 point, an SOS and the window figures
    of a point — each on its node; the abnormal's end clears it."""
    m = demo_model
    ch4 = point(m, "11901工作面")
    card = next(iter(m.people))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    tz = ZoneInfo(m.mine.time_zone)
    now = datetime.now(tz).replace(microsecond=0)
    fmt = "%Y-%m-%d %H:%M:%S"
    start = f"{now.replace(second=0):{fmt}}"
    app = __import__("minetwin.app", fromlist=["TwinApp"]).TwinApp(
        app_config(demo_dir, tmp_path, sim={"enabled": False},
                   ingest={"inbox": str(inbox), "scan_every_s": 0.2}), demo_dir, port=0)

    def put(name, data):
        (inbox / f".{name}.part").write_bytes(data)
        (inbox / f".{name}.part").rename(inbox / name)

    async def main():
        stop = asyncio.Event()
        run, _ = await start_app(app, stop)
        try:
            put(*_file("YCBJ", now, f"{ch4};甲烷;11901工作面;%;001;{start};;1.62;{start};1.01;"
                                    f"{start};1.3;;;;;{now:{fmt}}"))
            put(*_file("RYQJ", now, f"{card};x;{start};;{start};;;;"))
            put(*_file("TJSJ", now, f"{ch4};甲烷;11901工作面;%;{start};{now:{fmt}};0.62;;0.31;;"
                                    f"0.44;{now:{fmt}}"))
            await until(lambda: (app.scene.property(f"sensor/{ch4}", "alarm_level") or 0) >= 2
                        and app.scene.property(f"person/{card}", "sos")
                        and app.scene.property(f"sensor/{ch4}", "ch4_max") is not None,
                        "the reported alarm, the SOS and the window figures", timeout=30)
            active = {a.rule.rsplit("/", 1)[-1]: a for a in app.alarms.listing() if a.active}
            end = now.replace(second=0).timestamp() + 30
            put(*_file("YCBJ", now.replace(second=59) if now.second < 59 else now,
                       f"{ch4};甲烷;11901工作面;%;001;{start};"
                       f"{datetime.fromtimestamp(end, tz):{fmt}};1.62;;0.9;;1.2;;;;;{now:{fmt}}"))
            await until(lambda: not any(a.active and a.rule.endswith("YCBJ 001")
                                        for a in app.alarms.listing()), "the end clears it",
                        timeout=30)
        finally:
            stop.set()
            await run
        return active

    try:
        active = asyncio.run(main())
        assert active["YCBJ 001"].node == f"sensor/{ch4}"
        assert active["RYQJ"].node == f"person/{card}" and active["RYQJ"].level == 3
        assert app.scene.property(f"sensor/{ch4}", "ch4_max") == 0.62
        assert app.scene.property(f"sensor/{ch4}", "ch4_mean") == 0.44
        assert app.history.latest([f"{ch4}/max"])[f"{ch4}/max"].value == 0.62
        assert app.watcher.counts["accepted"] == 4
    finally:
        app.close()
