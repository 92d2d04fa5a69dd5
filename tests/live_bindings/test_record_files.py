"""#20.1 The record files a mine's systems upload (REFERENCE.md §3a): TJSJ statistics, YCBJ
abnormals, RYCS / RYCY / RYXZ / RYQJ personnel alarms — golden files written from the
reference's layouts, good and broken — and a deployment's dialect routing a type, reordering
its fields and mapping FZSS power codes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from live_bindings import DialectError, IngestDialect
from live_bindings.upload_files import decode_upload
from twin import RECORD_FIELDS, UploadFormatError

HEADER = "520522000001;黔西示范煤矿;2026-11-02 08:10:00~"
TZ = ZoneInfo("Asia/Shanghai")
CARD = "52052200000100061"
AREA = "5205220000010004"
READER = "5205220000010004000097"


def ms(hms: str) -> int:
    h, m, s = map(int, hms.split(":"))
    return int(datetime(2026, 11, 2, h, m, s, tzinfo=TZ).timestamp() * 1000)


def golden(ftype: str, *records: str) -> tuple[str, bytes]:
    return f"520522000001_{ftype}_20261102081000.txt", \
        (HEADER + "".join(r + "~" for r in records) + "||").encode()


def decoded(ftype, *records, dialect=None):
    name, data = golden(ftype, *records)
    return decode_upload(data, name, dialect=dialect)


def problems(d):
    return [(p.record, p.field, p.message) for p in d.problems]


def test_the_layouts_are_the_references():
    assert [len(RECORD_FIELDS[t]) for t in ("TJSJ", "YCBJ", "RYCS", "RYCY", "RYXZ", "RYQJ")] == \
        [12, 17, 9, 8, 9, 9]


def test_tjsj_is_a_points_window_max_min_and_mean():
    d = decoded("TJSJ", "002A02;甲烷;11901工作面;%;2026-11-02 08:00:00;2026-11-02 08:05:00;"
                        "0.62;2026-11-02 08:03:10;0.31;2026-11-02 08:00:20;0.44;2026-11-02 08:05:00")
    assert d.problems == () and d.read_as == "TJSJ"
    assert [(o.kind, o.key, o.param, o.value, o.unit, o.time_ms, o.since_ms)
            for o in d.observations] == [
        ("statistic", "002A02", "max", 0.62, "%", ms("08:03:10"), ms("08:00:00")),
        ("statistic", "002A02", "min", 0.31, "%", ms("08:00:20"), ms("08:00:00")),
        ("statistic", "002A02", "mean", 0.44, "%", ms("08:05:00"), ms("08:00:00"))]
    assert d.numbers == (2, 2, 2)


@pytest.mark.parametrize("record, field, message", [
    ("002A02;甲烷;x;%;2026-11-02 08:00:00;2026-11-02 08:05:00;0.62;;0.31;;0.70;2026-11-02 08:05:00",
     "mean", "0.70 is not between the min 0.31 and the max 0.62"),
    ("002A02;甲烷;x;%;2026-11-02 08:05:00;2026-11-02 08:00:00;0.62;;0.31;;0.4;2026-11-02 08:05:00",
     "window end", "2026-11-02 08:00:00 is before the window's start 2026-11-02 08:05:00"),
    ("002A02;甲烷;x;%;2026-11-02 08:00:00;2026-11-02 08:05:00;0.62;2026-11-02 09:00:00;0.31;;0.4;"
     "2026-11-02 08:05:00", "time of max", "outside the window"),
    ("002A02;甲烷;x;%;2026-11-02 08:00:00;2026-11-02 08:05:00;;;0.31;;0.4;2026-11-02 08:05:00",
     "max", "missing"),
    ("002A02;甲烷;x;%;2026-11-02 08:00:00;2026-11-02 08:05:00;abc;;0.31;;0.4;2026-11-02 08:05:00",
     "max", "not a number: 'abc'"),
    ("002A02;甲烷;x;%;2026-11-02 08:00:00;2026-11-02 08:05:00;0.6;;0.3;;0.4", None,
     "11 fields, a TJSJ record has 12"),
])
def test_a_broken_tjsj_record_is_named(record, field, message):
    d = decoded("TJSJ", record)
    assert problems(d) == [(2, field, message)] and d.observations == () and d.rejected


def test_ycbj_an_ongoing_abnormal_then_the_same_with_its_end():
    ongoing = "002A02;甲烷;11901工作面;%;001;2026-11-02 08:02:00;;1.62;2026-11-02 08:04:00;" \
              "1.01;2026-11-02 08:02:00;1.3;;;;;2026-11-02 08:10:00"
    ended = "002A02;甲烷;11901工作面;%;001;2026-11-02 08:02:00;2026-11-02 08:08:30;1.62;" \
            "2026-11-02 08:04:00;0.9;2026-11-02 08:08:30;1.2;瓦斯涌出;加强通风;" \
            "2026-11-02 08:09:00;调度员;2026-11-02 08:10:00"
    switch = "002D11;馈电器;11901工作面馈电开关;;003;2026-11-02 08:01:00;;;;;;;;;;;" \
             "2026-11-02 08:10:00"
    d = decoded("YCBJ", ongoing, ended, switch)
    assert d.problems == ()
    assert [(o.kind, o.key, o.param, o.value, o.state, o.since_ms, o.time_ms)
            for o in d.observations] == [
        # ongoing: known to last until the file's time; ended: its end
        ("report", "002A02", "YCBJ/001", 1.62, 1, ms("08:02:00"), ms("08:10:00")),
        ("report", "002A02", "YCBJ/001", 1.62, 0, ms("08:02:00"), ms("08:08:30")),
        ("report", "002D11", "YCBJ/003", None, 1, ms("08:01:00"), ms("08:10:00"))]


@pytest.mark.parametrize("record, field, message", [
    ("002A02;甲烷;x;%;011;2026-11-02 08:02:00;;1.6;;1.0;;1.3;;;;;2026-11-02 08:10:00",
     "abnormal type", "'011' is not 001 … 010 (REFERENCE.md §3)"),
    ("002A02;甲烷;x;%;001;2026-11-02 08:02:00;2026-11-02 08:01:00;1.6;;1.0;;1.3;;;;;"
     "2026-11-02 08:10:00", "end", "2026-11-02 08:01:00 is before the start 2026-11-02 08:02:00"),
    ("002A02;甲烷;x;%;001;08:02;;1.6;;1.0;;1.3;;;;;2026-11-02 08:10:00", "start",
     "not yyyy-MM-dd HH:mm:ss: '08:02'"),
    (";甲烷;x;%;001;2026-11-02 08:02:00;;1.6;;1.0;;1.3;;;;;2026-11-02 08:10:00", "point code",
     "missing"),
    ("002A02;甲烷;x;%;001;2026-11-02 08:02:00;;inf;;1.0;;1.3;;;;;2026-11-02 08:10:00", "max",
     "not a finite number: 'inf'"),
])
def test_a_broken_ycbj_record_is_named(record, field, message):
    assert problems(decoded("YCBJ", record)) == [(2, field, message)]


def test_personnel_alarms_are_reports_about_a_card_or_an_area():
    d = decoded("RYCS", f"{CARD};王伟;2026-11-01 21:00:00;2026-11-02 07:00:00;;{AREA};"
                        f"2026-11-02 06:00:00;{READER};2026-11-02 08:09:00")
    (o,) = d.observations
    assert (o.kind, o.key, o.param, o.state, o.since_ms, o.area, o.reader, o.value, o.unit) == \
        ("report", CARD, "RYCS", 1, ms("07:00:00"), AREA, READER, 11.17, "h")   # 21:00 → 08:10
    d = decoded("RYXZ", f"{CARD};王伟;2026-11-02 08:01:00;2026-11-02 08:03:00;"
                        f"2026-11-02 06:00:00;{AREA};2026-11-02 08:01:00;{READER};"
                        f"2026-11-02 08:01:00")
    (o,) = d.observations
    assert (o.param, o.state, o.since_ms, o.time_ms, o.value) == \
        ("RYXZ", 0, ms("08:01:00"), ms("08:03:00"), None)
    (o,) = decoded("RYQJ", f"{CARD};王伟;2026-11-02 08:05:00;;2026-11-02 06:00:00;{AREA};"
                           f"2026-11-02 07:00:00;{READER};2026-11-02 08:05:00").observations
    assert (o.param, o.state, o.key) == ("RYQJ", 1, CARD)
    (o,) = decoded("RYCY", f"1;8;11;{AREA};11901工作面;2026-11-02 08:00:00;;"
                           f"{CARD},52052200000100062").observations
    assert (o.kind, o.key, o.param, o.value, o.state, o.since_ms) == \
        ("report", AREA, "RYCY", 11.0, 1, ms("08:00:00"))


@pytest.mark.parametrize("ftype, record, field", [
    ("RYCS", f"5205220000010006;王伟;;2026-11-02 07:00:00;;{AREA};;{READER};", "card code"),
    ("RYQJ", f"{CARD};王伟;yesterday;;;{AREA};;{READER};", "start"),
    ("RYCY", f"1;8;eleven;{AREA};x;2026-11-02 08:00:00;;", "current headcount"),
    ("RYCY", f"1;8;-1;{AREA};x;2026-11-02 08:00:00;;", "current headcount"),
    ("RYCY", "1;8;3;;x;2026-11-02 08:00:00;;", "area code"),
])
def test_a_broken_personnel_alarm_is_named(ftype, record, field):
    d = decoded(ftype, record)
    assert [p[1] for p in problems(d)] == [field] and d.observations == ()


def test_a_dialect_routes_a_type_reorders_its_fields_and_maps_power_codes(tmp_path):
    path = tmp_path / "dialect.toml"
    path.write_text("""
[types]
RYCS = "RYXX"          # an open-pit platform's personnel register
FZZT = "FZSS"          # a vendor's own name for outstation states

[layouts]
FZSS = ["data time", "outstation code", "", "power state", "run state"]

[fzss_power]
1 = "dc"
2 = "ac"
9 = "fault"
""")
    dialect = IngestDialect.load(path)
    d = decoded("RYCS", f"{CARD};王伟;采煤工;工人;综采一队;1990-01-01;高中;0;1", dialect=dialect)
    assert d.read_as == "RYXX" and d.definitions[0]["name"] == "王伟"
    name = "520522000001_FZZT_20261102081000.txt"
    data = (HEADER + "2026-11-02 08:09:00;002;x;9;0~2026-11-02 08:09:00;003;x;2;0~||").encode()
    d = decode_upload(data, name, dialect=dialect)
    assert d.problems == () and d.read_as == "FZSS"
    # 9 is a power fault here (2 in the twin's codes), 2 is AC (1)
    assert [(o.key, o.value, o.state >> 4) for o in d.observations] == [("002", True, 2),
                                                                        ("003", True, 1)]
    # the reference's own codes: 9 unknown
    (o,) = decoded("FZSS", "002;0;9;2026-11-02 08:09:00").observations
    assert o.state >> 4 == 9
    bad = decode_upload((HEADER + "2026-11-02 08:09:00;002;x;0;0~||").encode(), name,
                        dialect=dialect)
    assert problems(bad) == [(2, "power state", "0 is not one of 1 dc, 2 ac, 9 fault")]


@pytest.mark.parametrize("text, message", [
    ('[types]\nRYCS = "RYZZ"', "types.RYCS: 'RYZZ' is not a type we read"),
    ('[layouts]\nFZSS = ["outstation code", "colour"]', "layouts.FZSS: unknown fields ['colour']"),
    ('[layouts]\nFZSS = ["run state", "run state"]', "layouts.FZSS: a field named twice"),
    ('[fzss_power]\n1 = "battery"', "fzss_power: each code means one of dc, ac, fault, unknown"),
    ('[encoding]\nx = 1', "unknown keys ['encoding']"),
])
def test_a_bad_dialect_is_refused_naming_the_key(tmp_path, text, message):
    path = tmp_path / "dialect.toml"
    path.write_text(text)
    with pytest.raises(DialectError, match=message.replace("[", r"\[").replace("]", r"\]")):
        IngestDialect.load(path)


def test_a_type_we_do_not_read_says_which_we_do():
    with pytest.raises(UploadFormatError, match="XXXX files are not decoded .*TJSJ, YCBJ"):
        decoded("XXXX", "1;2")


KEY_DIALECT = """
[key_equipment.TF]
definition_type = "TFDY"
realtime_type = "TFSS"
abnormal_type = "TFYC"
params = { "3001" = "running", "3002" = "air_m3_min" }
equipment = { "TF01" = "main-fan-1" }
"""
KEY_HEADER = "520522000001;黔西示范煤矿;30;主通风机;2026-11-02 08:10:00~"


def key_file(ftype, *records):
    return f"520522000001_{ftype}_20261102081000.txt", \
        (KEY_HEADER + "".join(r + "~" for r in records) + "||").encode()


def test_key_equipment_files_through_a_declared_dialect(tmp_path, demo_model):
    """MT/T 1201.2 (REFERENCE.md §3a, [1]): the dialect names the files; real-time values
    become the machine's parameters, -9999 is no reading, abnormal records are reports."""
    from safety import AlarmBook, ReportedAlarms
    from twin import ObservationGate
    (tmp_path / "d.toml").write_text(KEY_DIALECT)
    d = IngestDialect.load(tmp_path / "d.toml")
    name, data = key_file("TFSS", "TF0101;3001;运行状态;TF01;1;;0;2026-11-02 08:10:00",
                          "TF0102;3002;风量;TF01;8650.5;m³/min;0;2026-11-02 08:10:00",
                          "TF0103;3003;轴承温度;TF01;-9999;℃;0;2026-11-02 08:10:00",
                          "TF0104;3009;;TF01;1;;0;2026-11-02 08:10:00")
    dec = decode_upload(data, name, dialect=d)
    assert dec.read_as == "TF realtime"
    assert [(o.kind, o.key, o.param, o.value, o.unit) for o in dec.observations] == [
        ("equipment", "main-fan-1", "running", True, None),
        ("equipment", "main-fan-1", "air_m3_min", 8650.5, "m³/min")]      # -9999: nothing
    assert problems(dec) == [(5, "point type code", "'3009' names no parameter (the "
                                                    "dialect's params, or a point type name)")]
    gate = ObservationGate(demo_model, clock=lambda: ms("08:10:00"))
    assert gate.check(dec.observations) == list(dec.observations)
    name, data = key_file("TFYC", "TF0103;3003;轴承温度;TF01;1;2026-11-02 08:05:00;;2;;;"
                                  "2026-11-02 08:07:00;86.5;2026-11-02 08:10:00")
    (o,) = decode_upload(data, name, dialect=d).observations
    assert (o.kind, o.key, o.param, o.value, o.state, o.since_ms) == \
        ("report", "main-fan-1", "TF/TF0103", 86.5, 1, ms("08:05:00"))
    book = AlarmBook(demo_model)
    book.apply(ReportedAlarms(demo_model).observe([o]))
    (a,) = book.listing()
    assert (a.node, a.level) == ("equipment/main-fan-1", 3)
    assert book.record(a)["text"]["zh"] == "设备监控报 主通风机异常 测点 TF0103 86.5"
    name, data = key_file("TFDY", "TF0102;3002;风量;TF01;主通风机房;m³/min;20000;0;;;;"
                                  "2026-11-02 08:00:00")
    dec = decode_upload(data, name, dialect=d)
    assert dec.definitions[0]["equipment code"] == "TF01" and dec.read_as == "TF definition"
    # the envelope's header carries the system: a 3-field header is an error
    with pytest.raises(UploadFormatError, match="system id;system name;data time"):
        decode_upload(f"520522000001;矿;2026-11-02 08:10:00~TF0101;3001;x;TF01;1;;0;"
                      f"2026-11-02 08:10:00~||".encode(), "520522000001_TFSS_20261102081000.txt",
                      dialect=d)


@pytest.mark.parametrize("text, message", [
    ('[key_equipment.ZZ]\nrealtime_type = "ZZSS"', "no such system"),
    ('[key_equipment.TF]\nparams = {}', "name at least one of its files"),
    ('[key_equipment.TF]\nrealtime_type = "CDSS"', "file types \\['CDSS'\\] are taken"),
    ('[key_equipment.TF]\nrealtime_type = "tfss"', "an upper-case 4-letter file type"),
    ('[key_equipment.TF]\nrealtime_type = "TFSS"\nrealtime_layout = ["colour"]',
     "unknown fields \\['colour'\\]"),
])
def test_a_bad_key_equipment_declaration_is_refused(tmp_path, text, message):
    (tmp_path / "d.toml").write_text(text)
    with pytest.raises(DialectError, match=message):
        IngestDialect.load(tmp_path / "d.toml")
