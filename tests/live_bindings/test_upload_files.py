"""Real-time upload files decode exactly; bad records are named; ingest check as a user runs it."""

import json
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from assets import AssetStore
from live_bindings import DefaultBindings
from live_bindings.upload_files import decode_upload
from twin.scene_build import build_scene
from twin.kj_format import IncompleteFileError

HEADER = "520522000001;黔西示范煤矿;2026-11-02 08:00:00~"
T = int(datetime(2026, 11, 2, 8, 0, 5, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1000)


def golden(ftype: str, *records: str, end: str = "||") -> tuple[str, bytes]:
    name = f"520522000001_{ftype}_20261102080005.txt"
    return name, (HEADER + "".join(r + "~" for r in records) + end).encode()


def test_cdss_golden_file():
    name, data = golden("CDSS", "002A02;甲烷;11901工作面;0.52;%;0;2026-11-02 08:00:05",
                        "002A05;一氧化碳;11901上隅角;12;ppm;129;2026-11-02 08:00:05")
    d = decode_upload(data, name)
    assert [(o.kind, o.key, o.value, o.unit, o.state, o.time_ms) for o in d.observations] == [
        ("point", "002A02", 0.52, "%", 0, T), ("point", "002A05", 12.0, "ppm", 129, T)]
    assert d.problems == () and not d.rejected


def test_ryss_jzss_fzss_golden_files():
    card = "52052200000100061"
    reader = "5205220000010004000097"
    name, data = golden("RYSS", f"{card};王伟;1;2026-11-02 07:40:00;;5205220000010004;"
                                f"2026-11-02 07:58:00;{reader};2026-11-02 08:00:05;三八制;-12.5;0;0;0;"
                                f"{reader}&2026-11-02 08:00:05")
    (o,) = decode_upload(data, name).observations
    assert (o.kind, o.key, o.value, o.reader, o.distance_m, o.area, o.time_ms) == \
        ("card", card, True, reader, -12.5, "5205220000010004", T)
    name, data = golden("JZSS", f"{reader};1;2;2026-11-02 08:00:05")
    (o,) = decode_upload(data, name).observations
    assert (o.kind, o.value, o.state) == ("reader", False, 1 | 2 << 4)
    name, data = golden("FZSS", "002;0;1;2026-11-02 08:00:05")
    (o,) = decode_upload(data, name).observations
    assert (o.kind, o.key, o.value) == ("outstation", "002", True)


def test_bad_records_are_named_and_too_many_reject_the_file():
    good = "002A02;甲烷;x;0.52;%;0;2026-11-02 08:00:05"
    name, data = golden("CDSS", good, "002A03;甲烷;x;abc;%;0;2026-11-02 08:00:05",
                        *[good] * 18)
    d = decode_upload(data, name)
    assert len(d.observations) == 19 and not d.rejected     # 1 bad in 20: accepted
    assert str(d.problems[0]) == f"{name}: record 3, field 'value': not a number: 'abc'"
    name, data = golden("CDSS", good, "002A03;甲烷;x;nan;%;0;2026-11-02 08:00:05",
                        "002A04;甲烷;x;0.1;%;999;2026-11-02 08:00:05",
                        "002A05;甲烷;x;0.1;%;0;2026-13-02 08:00:05")
    d = decode_upload(data, name)
    assert d.rejected
    assert [(p.record, p.field) for p in d.problems] == [(3, "value"), (4, "state"),
                                                         (5, "data time")]
    name, data = golden("CDSS", good, end="")
    with pytest.raises(IncompleteFileError):
        decode_upload(data, name)


def test_a_card_seen_by_a_reader_lands_on_the_reader_roadway(demo_model, tmp_path):
    scene = build_scene(demo_model, AssetStore(tmp_path))
    bindings = DefaultBindings(demo_model, scene)
    reader = next(r for r in demo_model.readers.values() if r.roadway == "main-track")
    card = next(iter(demo_model.people))
    name, data = golden("RYSS", f"{card};x;1;2026-11-02 07:40:00;;{reader.code[:16]};"
                                f"2026-11-02 07:58:00;{reader.code};2026-11-02 08:00:05;三八制;"
                                f"30.0;0;0;0;")
    bindings.apply(decode_upload(data, name).observations)
    want = demo_model.roadways["main-track"].point_at(reader.chainage_m + 30.0)
    np.testing.assert_allclose(scene.translation(f"person/{card}"), want)
    assert scene.visual(f"person/{card}").visible


def run(*args):
    return subprocess.run([sys.executable, "-m", "minetwin.cli", *args], capture_output=True,
                          text=True)


def test_ingest_check(tmp_path, demo_dir):
    good = tmp_path / "520522000001_CDSS_20261102080005.txt"
    good.write_bytes(golden("CDSS", "002A02;甲烷;x;0.52;%;0;2026-11-02 08:00:05",
                            "ZZZ;甲烷;x;0.5;%;0;2026-11-02 08:00:05")[1])
    r = run("ingest", "check", str(good), "--mine", str(demo_dir))
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 0
    assert lines[0]["observation"]["key"] == "002A02" and "warning" not in lines[0]
    assert "unknown point 'ZZZ'" in lines[1]["warning"]
    assert lines[-1] == {"file": str(good), "type": "CDSS", "read_as": "CDSS", "accepted": True, "records": 2,
                         "bad_records": 0}
    bad = tmp_path / "520522000001_CDSS_20261102080006.txt"
    bad.write_bytes(golden("CDSS", "002A02;甲烷;x;oops;%;0;2026-11-02 08:00:05",
                           "002A02;甲烷;x;0.5;%;0",              # a field short
                           "002A02;甲烷;x;0.52;%;0;2026-11-02 08:00:05")[1])
    incomplete = tmp_path / "520522000001_CDSS_20261102080007.txt"
    incomplete.write_bytes(golden("CDSS", "002A02;甲烷;x;1;%;0;2026-11-02 08:00:05", end="")[1])
    r = run("ingest", "check", str(bad), str(incomplete))
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 1
    assert {"file": str(bad), "record": 2, "field": "value",
            "error": "not a number: 'oops'"} in lines
    # #18.5: a structural fault is one bad record; the check goes on to the next
    assert {"file": str(bad), "record": 3, "field": None,
            "error": "6 fields, a CDSS record has 7"} in lines
    assert [x["observation"]["value"] for x in lines if "observation" in x] == [0.52]
    assert {"file": str(bad), "type": "CDSS", "read_as": "CDSS", "accepted": False, "records": 3,
            "bad_records": 2} in lines
    assert lines[-1] == {"file": str(incomplete), "accepted": False}
