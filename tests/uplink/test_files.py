"""Provincial uplink, first part: files exported from the demo mine's live twin pass our own
ingest and match the standard field by field; a dialect changes exactly what it says; a
file that fails the self-check is held back, never written where the sender picks up."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from uplink.files import STANDARD, Dialect, UplinkError, export_once, split_records
from twin.kj_format import parse_upload

WHEN = datetime(2026, 11, 2, 9, 0, 30)


@pytest.fixture(scope="module")
def live(demo_model, tmp_path_factory):
    from assets import AssetStore
    from live_bindings import DefaultBindings
    from twin.scene_build import build_scene
    from twin.sim import Simulator
    scene = build_scene(demo_model, AssetStore(tmp_path_factory.mktemp("store")))
    b = DefaultBindings(demo_model, scene)
    scene.commit()
    b.apply(Simulator(demo_model, seed=2, start=datetime(2026, 11, 2, 9, 0)).advance(30.0))
    scene.commit()
    return scene


def _same(a: str, b: str) -> bool:
    try:
        return abs(float(a) - float(b)) <= 1.5e-3       # both rounded to the millimetre
    except ValueError:
        return a == b


def test_a_full_set_passes_our_ingest_and_matches_the_mines_own_files(demo_dir, demo_model,
                                                                      live, tmp_path):
    from live_bindings.upload_files import decode_upload
    out = tmp_path / "out"
    r = export_once(demo_model, live, out, WHEN)
    assert r["held"] == {} and len(r["written"]) == 7
    assert sorted(p.name for p in out.iterdir()) == sorted(r["written"])   # no .part left
    for name in r["written"]:
        data = (out / name).read_bytes()
        f = parse_upload(data, name)
        assert f.mine_code == demo_model.mine.code and f.data_time == WHEN
        assert not decode_upload(data, name).problems
    # definitions field by field against the demo's own files (numbers as numbers, the CDDY
    # relations — 联动 — as they were; the data time is not the model's to keep)
    for ftype, upto in (("CDDY", 23), ("FZDY", 5), ("RYQY", 4), ("RYJZ", 6), ("RYXX", 9)):
        original = next((demo_dir / "upload").glob(f"*_{ftype}_*.txt"))
        mine = {r[0] if ftype != "RYQY" else r[1]: r for r in split_records(original.read_bytes())[1:]}
        ours = split_records(next(out.glob(f"*_{ftype}_*.txt")).read_bytes())[1:]
        assert len(ours) == len(mine), ftype
        for rec in ours:
            want = mine[rec[0] if ftype != "RYQY" else rec[1]]
            assert all(_same(a, b) for a, b in zip(rec[:upto], want[:upto])), (ftype, rec, want)
    related = [r for r in split_records(next(out.glob("*_CDDY_*.txt")).read_bytes())[1:] if r[22]]
    assert len(related) == len([s for s in demo_model.sensors.values() if s.relations]) >= 10
    # real-time values are the scene's
    cdss = split_records(next(out.glob("*_CDSS_*.txt")).read_bytes())[1:]
    from twin.sensor_types import quantity_of
    assert len(cdss) > 30
    for rec in cdss:
        s = demo_model.sensors[rec[0]]
        v = live.property(f"sensor/{rec[0]}", quantity_of(s.type_code).key)
        v = getattr(v, "value", v)
        assert _same(rec[3], ("1" if v else "0") if isinstance(v, bool) else f"{float(v):g}")


def test_a_dialect_changes_exactly_what_it_says(demo_model, live, tmp_path):
    d = Dialect(name_pattern="{time}-{type}-{mine}.dat", field_sep="|", record_end="#",
                file_end="$$", newline_after_record=False, time_format="%Y/%m/%d %H:%M:%S",
                encoding="gb18030", bom=False)
    std = export_once(demo_model, live, tmp_path / "std", WHEN, STANDARD, ("CDSS", "RYQY"))
    odd = export_once(demo_model, live, tmp_path / "odd", WHEN, d, ("CDSS", "RYQY"))
    assert odd["held"] == {} and odd["written"] == ["20261102090030-CDSS-520522000001.dat",
                                                    "20261102090030-RYQY-520522000001.dat"]
    for a, b in zip(std["written"], odd["written"]):
        raw = (tmp_path / "odd" / b).read_bytes()
        assert b";" not in raw and b"\n" not in raw and raw.endswith(b"$$")
        if "RYQY" in b:                                        # GB 18030 bytes, not UTF-8
            assert "其他区域".encode("gb18030") in raw and "其他区域".encode() not in raw
        sa = split_records((tmp_path / "std" / a).read_bytes())
        sb = split_records(raw, d)
        assert sa[0][2] == "2026-11-02 09:00:30" and sb[0][2] == "2026/11/02 09:00:30"
        # every other field identical
        assert [r for r in sa if r is not sa[0]] == [
            [f.replace("2026/11/02", "2026-11-02") for f in r] for r in sb if r is not sb[0]]


def test_a_file_failing_the_self_check_is_held_back(demo_model, live, tmp_path, monkeypatch):
    import uplink.files as uplink
    real = uplink.realtime_rows

    def broken(model, scene):                 # a reading our own ingest would refuse
        rows = real(model, scene)
        rows["CDSS"][0][3] = "n/a"
        return rows
    monkeypatch.setattr(uplink, "realtime_rows", broken)
    r = export_once(demo_model, live, tmp_path / "out", WHEN, STANDARD, ("CDSS", "JZSS"))
    name = "520522000001_CDSS_20261102090030.txt"
    assert r["written"] == ["520522000001_JZSS_20261102090030.txt"] and list(r["held"]) == [name]
    assert "value" in r["held"][name][0]
    assert not (tmp_path / "out" / name).exists()          # nothing where a sender looks
    held = tmp_path / "out" / "held"
    assert (held / name).exists() and (held / f"{name}.problems.txt").read_text().strip()


def test_bad_dialects_are_named(tmp_path):
    p = tmp_path / "d.toml"
    p.write_text('field_sepp = "|"\n')
    with pytest.raises(UplinkError, match="unknown keys"):
        Dialect.load(p)
    p.write_text('field_sep = "~"\n')
    with pytest.raises(UplinkError, match="separators must differ"):
        Dialect.load(p)
    p.write_text('encoding = "klingon"\n')
    with pytest.raises(UplinkError, match="unknown encoding"):
        Dialect.load(p)


def test_uplink_export_command(demo_dir, tmp_path):
    (tmp_path / "d.toml").write_text('field_sep = "|"\nrecord_end = "#"\n')
    r = subprocess.run([sys.executable, "-m", "minetwin.cli", "uplink", "export", "--mine",
                        str(demo_dir), "--out", str(tmp_path / "out"), "--once", "--seconds", "5",
                        "--dialect", str(tmp_path / "d.toml")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert len(result["written"]) == 9 and result["held"] == {}     # + FZSS, RYSS
    d = Dialect.load(tmp_path / "d.toml")
    for name in result["written"]:
        assert split_records(Path(tmp_path / "out" / name).read_bytes(), d)
    r = subprocess.run([sys.executable, "-m", "minetwin.cli", "uplink", "export", "--mine",
                        str(demo_dir), "--out", str(tmp_path / "x")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "--once" in r.stderr


KEY_EQUIPMENT = '''
[key_equipment.TF]
kinds = ["main_fan"]
definition_type = "TFDY"
realtime_type = "TFSS"
definition_layout = ["point", "system", "equipment", "equipment_name", "param", "unit", "x", "y", "z", "time"]
realtime_layout = ["point", "value", "unit", "running", "time"]
[key_equipment.PS]
kinds = ["pump"]
definition_type = "PSDY"
realtime_type = "PSSS"
definition_layout = ["point", "equipment", "param", "unit", "time"]
realtime_layout = ["point", "value", "time"]
'''


def test_key_equipment_files_in_a_declared_layout(demo_model, live, tmp_path):
    from uplink.files import build_files, write_checked
    (tmp_path / "d.toml").write_text(KEY_EQUIPMENT)
    d = Dialect.load(tmp_path / "d.toml")
    files = build_files(demo_model, live, WHEN, d, ("TFDY", "TFSS", "PSDY", "PSSS"))
    r = write_checked(files, tmp_path / "out", demo_model, WHEN, d)
    assert r["held"] == {} and len(r["written"]) == 4
    recs = {n.split("_")[1]: split_records((tmp_path / "out" / n).read_bytes(), d)[1:]
            for n in r["written"]}
    fans = sorted(e.id for e in demo_model.equipment.values() if e.kind == "main_fan")
    expected = [(f, k[len("live_"):]) for f in fans
                for k in sorted(live.node(f"equipment/{f}").properties) if k.startswith("live_")]
    assert [(x[2], x[4]) for x in recs["TFDY"]] == expected and len(expected) >= 3
    assert [x[0] for x in recs["TFDY"]] == [x[0] for x in recs["TFSS"]]      # one point each
    assert len({x[0] for x in recs["TFDY"]}) == len(expected)
    for (fan, param), rt in zip(expected, recs["TFSS"]):
        v = live.node(f"equipment/{fan}").properties[f"live_{param}"].value
        assert rt[1] == (("1" if v else "0") if isinstance(v, bool) else f"{v:g}")
        run = live.node(f"equipment/{fan}").properties["live_running"].value
        assert rt[3] == ("1" if run else "0") and rt[4] == "2026-11-02 09:00:30"
    ox, oy, _ = demo_model.mine.origin
    e = demo_model.equipment[fans[0]]
    assert float(recs["TFDY"][0][6]) == pytest.approx(e.position[0] + ox)
    assert {x[1] for x in recs["PSDY"]} == {e.id for e in demo_model.equipment.values()
                                            if e.kind == "pump"}
    for text, msg in (('[key_equipment.ZZ]\nkinds = ["x"]\n', "no such system"),
                      (KEY_EQUIPMENT.replace('"param", "unit", "time"]', '"param", "colour"]'),
                       "definition_layout is a list"),
                      (KEY_EQUIPMENT.replace('realtime_type = "PSSS"', 'realtime_type = "CDSS"'),
                       "taken")):
        (tmp_path / "bad.toml").write_text(text)
        with pytest.raises(UplinkError, match=msg):
            Dialect.load(tmp_path / "bad.toml")
