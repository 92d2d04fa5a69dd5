"""The upload inbox: each ingest rule, and nothing is ever lost."""

import json
import os
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from live_bindings.watcher import UploadWatcher
from twin.observation import FeedQueue

MINE = "520522000001"
NOW = int(datetime(2026, 11, 2, 8, 10, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1000)


def cdss(t: str, value: str, mine: str = MINE, end: str = "||", bad: int = 0) -> bytes:
    rows = [f"002A02;甲烷;x;{value};%;0;2026-11-02 {t}~"]
    rows += [f"002A0{3 + i};甲烷;x;oops;%;0;2026-11-02 {t}~" for i in range(bad)]
    return (f"{mine};矿;2026-11-02 {t}~" + "".join(rows) + end).encode()


def name(t: str, mine: str = MINE) -> str:
    return f"{mine}_CDSS_20261102{t.replace(':', '')}.txt"


@pytest.fixture
def inbox(tmp_path):
    q = FeedQueue()
    w = UploadWatcher(tmp_path / "in", q, mine_code=MINE, incomplete_after_s=60)
    yield w, q, tmp_path / "in"
    w.close()


def put(folder, t, data, mine=MINE):
    (folder / name(t, mine)).write_bytes(data)


def report(folder, sub, t, mine=MINE):
    return json.loads((folder / sub / (name(t, mine) + ".report.json")).read_text())


def test_accepted_files_feed_the_queue_and_move_to_processed(inbox):
    w, q, d = inbox
    put(d, "08:00:00", cdss("08:00:00", "0.52"))
    (o,) = w.scan(NOW)
    assert o.outcome == "accepted" and o.observations == 1
    assert [x.value for x in q.drain()] == [0.52]
    assert (d / "processed" / name("08:00:00")).read_bytes() == cdss("08:00:00", "0.52")
    assert report(d, "processed", "08:00:00")["outcome"] == "accepted"


def test_an_incomplete_file_is_waited_for_then_quarantined(inbox):
    w, q, d = inbox
    put(d, "08:00:00", cdss("08:00:00", "0.5", end=""))
    assert w.scan(NOW)[0].outcome == "waiting" and (d / name("08:00:00")).exists()
    put(d, "08:00:00", cdss("08:00:00", "0.5"))          # the writer finished
    assert w.scan(NOW)[0].outcome == "accepted"
    put(d, "08:00:05", cdss("08:00:05", "0.5", end=""))
    old = time.time() - 3600
    os.utime(d / name("08:00:05"), (old, old))
    (o,) = w.scan(NOW)
    assert o.outcome == "quarantined" and o.reason.startswith("incomplete")
    assert (d / "quarantine" / name("08:00:05")).exists()


def test_duplicates_are_ingested_once_even_after_a_restart(inbox, tmp_path):
    w, q, d = inbox
    put(d, "08:00:00", cdss("08:00:00", "0.5"))
    w.scan(NOW)
    put(d, "08:00:00", cdss("08:00:00", "0.5"))
    (o,) = w.scan(NOW)
    assert o.outcome == "duplicate" and len(q.drain()) == 1
    w.close()
    again = UploadWatcher(d, q, mine_code=MINE)
    put(d, "08:00:00", cdss("08:00:00", "0.5"))
    assert again.scan(NOW)[0].outcome == "duplicate" and len(q) == 0
    assert {p.name for p in (d / "processed").glob("*.txt")} == {
        name("08:00:00"), name("08:00:00").replace(".txt", ".2.txt"),
        name("08:00:00").replace(".txt", ".3.txt")}          # nothing overwritten or deleted
    again.close()


def test_an_older_file_arriving_late_never_overwrites_newer_state(inbox):
    w, q, d = inbox
    put(d, "08:00:10", cdss("08:00:10", "0.60"))
    w.scan(NOW)
    put(d, "08:00:05", cdss("08:00:05", "0.40"))
    (o,) = w.scan(NOW)
    assert o.outcome == "accepted" and o.stale == 1 and o.observations == 0
    assert [x.value for x in q.drain()] == [0.60]


def test_future_other_mine_malformed_and_bad_files_are_quarantined_with_reports(inbox):
    w, q, d = inbox
    put(d, "09:00:00", cdss("09:00:00", "0.5"))                           # 50 min ahead
    put(d, "08:00:01", cdss("08:00:01", "0.5", mine="520522000009"), mine="520522000009")
    put(d, "08:00:02", b"520522000001;m;2026-13-02 08:00:02~||")
    put(d, "08:00:03", cdss("08:00:03", "0.5", bad=2))                    # 2 of 3 bad
    put(d, "08:00:04", cdss("08:00:04", "0.5", bad=0))
    (d / "notes.txt").write_text("hello")
    outcomes = {o.file: o for o in w.scan(NOW)}
    assert outcomes[name("09:00:00")].reason.startswith("future")
    assert outcomes[name("08:00:01", "520522000009")].reason.startswith("another mine")
    assert outcomes[name("08:00:02")].reason.startswith("malformed")
    bad = outcomes[name("08:00:03")]
    assert bad.reason.startswith("too many bad records") and bad.bad_records == 2
    assert outcomes["notes.txt"].reason.startswith("bad file name")
    assert outcomes[name("08:00:04")].outcome == "accepted"
    assert len(list((d / "quarantine").glob("*.txt"))) == 5
    rep = report(d, "quarantine", "08:00:03")
    assert rep["problems"][0].endswith("field 'value': not a number: 'oops'")
    # Quarantined files keep their content.
    assert (d / "quarantine" / name("08:00:03")).read_bytes() == cdss("08:00:03", "0.5", bad=2)
    assert list(d.glob("*.txt")) == []


def test_a_full_queue_leaves_the_file_for_later(tmp_path):
    q = FeedQueue(maxsize=0)
    w = UploadWatcher(tmp_path, q, mine_code=MINE)
    put(tmp_path, "08:00:00", cdss("08:00:00", "0.5"))
    assert w.scan(NOW)[0].outcome == "waiting"
    q.maxsize = 10
    assert w.scan(NOW)[0].outcome == "accepted" and len(q) == 1
    w.close()


def twenty(t: str, bad_at: int | None = None, bad: str = "fields") -> bytes:
    """A CDSS file of 20 readings; record ``bad_at`` (2 … 21) is broken."""
    rows = []
    for i in range(20):
        rec = f"002A{i + 1:02d};甲烷;x;0.{i:02d};%;0;2026-11-02 {t}"
        if i + 2 == bad_at:
            rec = rec.replace(";%;0;", ";%;") if bad == "fields" else \
                rec.replace("2026-11-02", "2099-11-02")
        rows.append(rec + "~")
    return (f"{MINE};矿;2026-11-02 {t}~" + "".join(rows) + "||").encode()


def test_one_bad_record_is_one_bad_record_whatever_its_fault(inbox):
    """#18.5 — a record with the wrong field count quarantined the whole file and its 19 good
    readings; a record dated 2099 made every later reading of its point look old, for good."""
    w, q, d = inbox
    put(d, "08:00:00", twenty("08:00:00", bad_at=7))
    put(d, "08:00:01", twenty("08:00:01", bad_at=9, bad="time"))
    a, b = w.scan(NOW)
    assert (a.outcome, a.observations, a.bad_records) == ("accepted", 19, 1)
    assert a.problems == (f"{name('08:00:00')}: record 7: 6 fields, a CDSS record has 7",)
    assert (b.outcome, b.observations, b.bad_records) == ("accepted", 19, 1)
    assert "record 9" in b.problems[0] and "in the future" in b.problems[0]
    assert report(d, "processed", "08:00:00")["problems"] == list(a.problems)
    q.drain()
    w.close()
    w2 = UploadWatcher(d, q, mine_code=MINE)                 # across a restart too
    put(d, "08:00:02", twenty("08:00:02"))
    (c,) = w2.scan(NOW)
    assert (c.outcome, c.observations, c.stale) == ("accepted", 20, 0)
    w2.close()


def test_what_is_not_an_upload_file_is_quarantined_and_never_stops_the_scan(inbox):
    """#18.5 — a folder named like an upload file killed the scan task (later files waited
    forever, unlogged); ``*.TXT`` and other names were never looked at."""
    w, q, d = inbox
    (d / name("07:59:59")).mkdir()
    (d / name("07:59:59") / "inside").write_text("x")
    put(d, "08:00:00", cdss("08:00:00", "0.52"))
    (d / name("08:00:01").replace(".txt", ".TXT")).write_bytes(cdss("08:00:01", "0.53"))
    (d / "readme.md").write_text("not ours")
    (d / ".copying.part").write_bytes(b"half")              # hidden: being written
    outcomes = {o.file: o for o in w.scan(NOW)}
    assert outcomes[name("07:59:59")].outcome == "quarantined"
    assert outcomes[name("07:59:59")].reason.startswith("not a file")
    assert (d / "quarantine" / name("07:59:59") / "inside").read_text() == "x"
    assert outcomes[name("08:00:00")].outcome == "accepted"
    assert outcomes[name("08:00:01").replace(".txt", ".TXT")].outcome == "accepted"
    assert outcomes["readme.md"].reason.startswith("bad file name")
    assert ".copying.part" not in outcomes and (d / ".copying.part").exists()
    assert [o.value for o in q.drain()] == [0.52, 0.53]


def test_a_file_written_slowly_is_waited_for_even_cut_inside_a_character(inbox):
    """#18.5 — a file still being written with Chinese text was quarantined as "not UTF-8"
    because it was decoded before its terminator was looked for."""
    w, q, d = inbox
    whole = cdss("08:00:00", "0.52").replace(b";x;", "；11901回风巷；".encode()[3:-3].join(
        [b";", b";"]))
    cut = whole[:whole.index("回".encode()) + 2]           # two bytes of a three-byte character
    put(d, "08:00:00", cut)
    assert w.scan(NOW)[0].outcome == "waiting"
    put(d, "08:00:00", whole)
    (o,) = w.scan(NOW)
    assert o.outcome == "accepted" and [x.value for x in q.drain()] == [0.52]


def test_a_file_that_cannot_be_read_is_retried_then_quarantined(inbox, monkeypatch):
    """An OSError on one file is counted and retried; after three it is quarantined — the
    other files go on."""
    w, q, d = inbox
    put(d, "08:00:00", cdss("08:00:00", "0.52"))
    put(d, "08:00:01", cdss("08:00:01", "0.53"))
    real = type(d).read_bytes

    def flaky(self):
        if self.name == name("08:00:00"):
            raise OSError(5, "Input/output error")
        return real(self)
    monkeypatch.setattr(type(d), "read_bytes", flaky)
    first = w.scan(NOW)
    assert [o.outcome for o in first] == ["error", "accepted"]
    assert w.scan(NOW)[0].outcome == "error"
    (third,) = w.scan(NOW)
    assert third.outcome == "quarantined" and "Input/output error" in third.reason
    assert w.counts["error"] == 2 and (d / "quarantine" / name("08:00:00")).exists()


def test_a_file_is_finished_only_once_the_tick_has_processed_it(tmp_path):
    """Nothing the inbox accepted is lost: a file moves to processed/ (and counts as seen)
    only after the tick processed its readings; a twin killed before that ingests it again."""
    d = tmp_path / "in"
    q = FeedQueue()
    w = UploadWatcher(d, q, mine_code=MINE, wait_for_tick=True)
    put(d, "08:00:00", cdss("08:00:00", "0.52"))
    (o,) = w.scan(NOW)
    assert o.outcome == "accepted" and (d / name("08:00:00")).exists()
    assert w.scan(NOW) == []                         # pending: not looked at twice
    w.db.close()                                     # the twin dies here, the file unfinished
    q2 = FeedQueue()
    w2 = UploadWatcher(d, q2, mine_code=MINE, wait_for_tick=True)
    (again,) = w2.scan(NOW)
    assert again.outcome == "accepted" and [x.value for x in q2.drain()] == [0.52]
    w2.mark_processed(q2.taken)                      # this time the tick got to it
    assert w2.scan(NOW) == []
    assert (d / "processed" / name("08:00:00")).exists() and not (d / name("08:00:00")).exists()
    w2.close()
