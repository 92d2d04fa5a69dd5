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
