"""Hidden dangers (#22.4): the closed loop step by step with who may take each step, the
refusals, deadlines that raise an overdue alarm and clear it, open items raising their area's
risk, attachments kept by content, the list's filters and the CSV / XLSX export."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest

from safety import (AlarmBook, DangerBook, DangerError, DangerRefused, RiskEngine,
                    check_workflow, load_register, load_workflow)

T0 = 1_790_000_000_000
DAY = 86_400_000
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 4


@pytest.fixture
def book(demo_model, tmp_path):
    b = DangerBook(demo_model, load_workflow(None), path=tmp_path / "d.sqlite",
                   files=tmp_path / "files", area_of=lambda node, pos: "A001" if pos else None)
    yield b
    b.close()


def _area(model):
    return next(iter(model.areas))


def test_the_loop_from_report_to_closing_each_step_by_an_allowed_person(book, demo_model,
                                                                          tmp_path):
    area = _area(demo_model)
    d = book.take("report", "井下班长王五", "viewer",
                  {"title": "11901 回风巷 顶板离层", "description": "锚杆托盘松动 3 根",
                   "area": area, "hazard": "roof", "node": "roadway/11901-return",
                   "files": [{"name": "photo.jpg", "data": JPEG}]}, T0)
    assert (d.state, d.area, d.reported_by) == ("reported", area, "井下班长王五")
    # a viewer may report but not assess; a shared token (no holder) may do nothing
    with pytest.raises(DangerRefused, match="roles"):
        book.take("assess", "王五", "viewer", {"danger": d.id, "level": "A"}, T0)
    with pytest.raises(DangerRefused, match="named person"):
        book.take("assess", "", "operator", {"danger": d.id, "level": "A"}, T0)
    # steps out of order are refused, naming the state
    with pytest.raises(DangerError, match="reported"):
        book.take("rectify", "张三", "operator", {"danger": d.id}, T0)
    with pytest.raises(DangerError, match="level must be one of"):
        book.take("assess", "李四", "operator", {"danger": d.id, "level": "Z"}, T0)
    d = book.take("assess", "李四", "operator", {"danger": d.id, "level": "A"}, T0 + 1000)
    d = book.take("assign", "李四", "operator", {"danger": d.id, "team": "综采一队",
                                               "measures": "补打锚杆"}, T0 + 2000)
    assert d.state == "assigned" and d.deadline_ms == T0 + 2000 + 3 * DAY   # grade A: 3 days
    d = book.take("rectify", "张三", "operator", {"danger": d.id, "comment": "已补打 3 根",
                                                "files": [{"name": "after.jpg",
                                                           "data": JPEG + b"2"}]}, T0 + DAY)
    # the one who rectified may not verify it
    with pytest.raises(DangerRefused, match="整改人不得验收"):
        book.take("verify", "张三", "operator", {"danger": d.id, "passed": True}, T0 + DAY)
    # a failed verification goes back to the team
    d = book.take("verify", "李四", "operator", {"danger": d.id, "passed": False,
                                               "comment": "托盘未拧紧"}, T0 + DAY + 1)
    assert d.state == "assigned" and d.rectified_by is None
    d = book.take("rectify", "张三", "operator", {"danger": d.id}, T0 + DAY + 2)
    d = book.take("verify", "李四", "operator", {"danger": d.id, "passed": True}, T0 + DAY + 3)
    d = book.take("close", "李四", "operator", {"danger": d.id}, T0 + DAY + 4)
    assert d.state == "closed" and d.closed_ms == T0 + DAY + 4 and not book.open_items()
    steps = book.steps_of(d.id)
    assert [(s["step"], s["to"], s["person"]) for s in steps] == [
        ("report", "reported", "井下班长王五"), ("assess", "assessed", "李四"),
        ("assign", "assigned", "李四"), ("rectify", "rectified", "张三"),
        ("verify", "assigned", "李四"), ("rectify", "rectified", "张三"),
        ("verify", "verified", "李四"), ("close", "closed", "李四")]
    assert steps[4]["comment"] == "托盘未拧紧" and steps[4]["detail"]["passed"] is False
    files = book.files_of(d.id)
    assert [f["name"] for f in files] == ["photo.jpg", "after.jpg"]
    data, mime, name = book.file(d.id, files[0]["sha256"])
    assert data == JPEG and mime == "image/jpeg"
    # what was stored survives a restart of the book
    book.close()
    again = DangerBook(demo_model, load_workflow(None), path=tmp_path / "d.sqlite",
                       files=tmp_path / "files")
    assert again.get(d.id) == d and len(again.steps_of(d.id)) == 8
    again.close()


def test_bad_input_is_refused_with_a_reason_and_nothing_is_stored(book):
    cases = [({"title": ""}, "title missing"), ({"title": "x"}, "say where"),
             ({"title": "x", "area": "nope"}, "not an area"),
             ({"title": "x", "position": [1, 2]}, "position"),
             ({"title": "x", "position": [0, 0, 0], "hazard": "ghosts"}, "hazard"),
             ({"title": "x" * 201, "position": [0, 0, 0]}, "longer than 200"),
             ({"title": "x", "position": [0, 0, 0], "files": [{"name": "a.exe",
                                                                "data": b"MZ\x90\x00"}]},
              "by its content"),
             ({"title": "x", "position": [0, 0, 0], "files": [{"data": JPEG * 2000}]},
              "over the limit")]
    for args, why in cases:
        with pytest.raises(DangerError, match=why):
            book.take("report", "王五", "viewer", args, T0)
    # nothing stored; the refused files kept for a look, by their digest
    assert book.query() == [] and book.refused_files == 2
    kept = sorted(p.name for p in book.files.glob("*/*"))
    assert kept == sorted(hashlib.sha256(b).hexdigest() for b in (b"MZ\x90\x00", JPEG * 2000))
    assert all((book.files / "refused" / k).exists() for k in kept)
    with pytest.raises(DangerError, match="no hidden danger 99"):
        book.take("assess", "李四", "operator", {"danger": 99, "level": "A"}, T0)
    # a position finds its area (the roadway nearest it)
    d = book.take("report", "王五", "viewer", {"title": "积水", "position": [1, 2, 3]}, T0)
    assert d.area == "A001" and d.x == 1.0


def test_people_and_teams_from_dangers_toml(demo_model, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "dangers.toml").write_text('''
teams = ["综采一队", "机电队"]
[[person]]
name = "李四"
duties = ["assess", "assign", "verify", "close", "reject"]
[[person]]
name = "张三"
duties = ["rectify"]
team = "综采一队"
[[person]]
name = "赵六"
duties = ["rectify"]
team = "机电队"
[[level]]
id = "A"
days = 1.5
''', encoding="utf-8")
    assert check_workflow(mine) == []
    wf = load_workflow(mine)
    assert wf.levels["A"].days == 1.5 and wf.levels["A"].zh == "A级隐患"   # the rest kept
    b = DangerBook(demo_model, wf)
    d = b.take("report", "路人", "viewer", {"title": "电缆破皮", "area": _area(demo_model)}, T0)
    with pytest.raises(DangerRefused, match="no assess duty"):
        b.take("assess", "张三", "operator", {"danger": d.id, "level": "B"}, T0)
    d = b.take("assess", "李四", "operator", {"danger": d.id, "level": "A"}, T0)
    with pytest.raises(DangerError, match="is not one of"):
        b.take("assign", "李四", "operator", {"danger": d.id, "team": "掘进队"}, T0)
    d = b.take("assign", "李四", "operator", {"danger": d.id, "team": "机电队"}, T0)
    assert d.deadline_ms == T0 + int(1.5 * DAY)
    with pytest.raises(DangerRefused, match="assigned to 机电队"):
        b.take("rectify", "张三", "operator", {"danger": d.id}, T0)
    assert b.take("rectify", "赵六", "operator", {"danger": d.id}, T0).state == "rectified"
    (mine / "dangers.toml").write_text('[[level]]\nid = "X"\nrisk = "purple"\n[steps]\n'
                                       'assess = ["boss"]\n[[person]]\nduties = ["fly"]\n')
    problems = check_workflow(mine)
    assert len(problems) == 5 and any("risk must be one of" in p for p in problems) and \
        any("steps.assess" in p for p in problems) and any("name missing" in p for p in problems)


def test_a_deadline_passed_raises_an_overdue_alarm_and_the_area_s_risk(book, demo_model,
                                                                          demo_dir):
    area = _area(demo_model)
    alarms = AlarmBook(demo_model)
    risk = RiskEngine(demo_model, load_register(demo_dir, demo_model))
    d = book.take("report", "王五", "viewer", {"title": "风门关不严", "area": area}, T0)
    d = book.take("assess", "李四", "operator", {"danger": d.id, "level": "B"}, T0)
    risk.evaluate(T0, dangers=book.risk_facts(T0))
    reasons = risk.levels[area].reasons
    assert risk.levels[area].level >= 1 and any(r["fact"] == "danger" and "风门关不严" in r["zh"]
                                                 for r in reasons)
    d = book.take("assign", "李四", "operator", {"danger": d.id, "team": "通风队", "days": 2},
                  T0)
    assert book.overdue(T0 + 2 * DAY) == []                   # on the deadline: not yet
    [(late, ev)] = book.overdue(T0 + 2 * DAY + 1)
    assert book.overdue(T0 + 2 * DAY + 2) == []               # raised once
    [alarm] = alarms.apply([ev])
    rec = alarms.record(alarm)
    assert (alarm.kind, alarm.level, alarm.node) == ("danger", 2, f"area/{area}")
    assert rec["text"]["zh"] == f"隐患 #{d.id} 逾期未整改"
    risk.evaluate(T0 + 2 * DAY + 1, alarms=alarms.listing(),
                  dangers=book.risk_facts(T0 + 2 * DAY + 1))
    ar = risk.levels[area]
    assert ar.level >= 2 and ar.reasons[0]["fact"] == "danger_overdue"
    assert not any(r["fact"] == "alarm" for r in ar.reasons)  # the alarm is not counted twice
    listed = book.query(overdue=True, now_ms=T0 + 2 * DAY + 1)
    assert [x.id for x in listed] == [d.id]
    # rectified late: the overdue alarm clears; the steps keep that it was late
    d = book.take("rectify", "张三", "operator", {"danger": d.id}, T0 + 3 * DAY)
    ev = book.cleared(d, T0 + 3 * DAY)
    assert ev is not None and ev.kind == "clear"
    [cleared] = alarms.apply([ev])
    assert not cleared.active and book.cleared(book.get(d.id), T0 + 3 * DAY) is None
    assert [s["step"] for s in book.steps_of(d.id)][-2:] == ["overdue", "rectify"]


def test_filters_and_the_export(book, demo_model):
    areas = list(demo_model.areas)
    for i, (title, level) in enumerate((("皮带跑偏", "C"), ("瓦斯管路漏气", "A"),
                                        ("消防器材过期", "B"))):
        d = book.take("report", "王五", "viewer", {"title": title, "area": areas[i % len(areas)]},
                      T0 + i)
        book.take("assess", "李四", "operator", {"danger": d.id, "level": level}, T0 + i)
    assert [d.title for d in book.query(level="A")] == ["瓦斯管路漏气"]
    assert [d.title for d in book.query(text="过期")] == ["消防器材过期"]
    assert len(book.query(state="assessed,reported")) == 3
    with pytest.raises(DangerError, match="unknown state"):
        book.query(state="lost")
    rows = list(csv.reader(io.StringIO(book.export_csv(book.query(), T0).decode("utf-8-sig"))))
    assert rows[0][:3] == ["编号", "标题", "描述"] and len(rows) == 4
    assert {r[1] for r in rows[1:]} == {"皮带跑偏", "瓦斯管路漏气", "消防器材过期"}
    assert {r[4] for r in rows[1:]} == {"A级隐患", "B级隐患", "C级隐患"}
    from openpyxl import load_workbook
    ws = load_workbook(io.BytesIO(book.export_xlsx(book.query(), T0, "en"))).active
    values = list(ws.values)
    assert values[0][:2] == ("id", "title") and len(values) == 4
    assert {v[5] for v in values[1:]} == {"assessed"}
