"""The demo mine: deterministic, loadable, and laid out by the rules."""

import hashlib

import numpy as np

from twin.demo.generator import generate_demo
from twin.demo.truth import TrueGeology


def digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_files_other_seed_other_files(tmp_path, demo_dir):
    again = generate_demo(tmp_path / "again", 7)
    assert digest(again) == digest(demo_dir)
    other = generate_demo(tmp_path / "other", 8)
    assert digest(other) != digest(demo_dir)


def test_the_demo_mine_is_a_guizhou_style_mine(demo_model):
    s = demo_model.summary()
    assert 18 <= s["roadway_km"] <= 24
    assert s["longwalls"] == 1 and s["headings"] == 2
    assert 200 <= s["people"] <= 400
    assert demo_model.mine.gas_class == "high" and len(demo_model.mine.code) == 12
    kinds = {e.kind for e in demo_model.equipment.values()}
    assert kinds == {"shearer", "hydraulic_support", "face_conveyor", "belt_conveyor",
                     "main_fan", "local_fan", "pump", "hoist", "compressor",
                     "gas_drainage_pump", "substation"}
    teams = {p.team for p in demo_model.people.values()}
    assert len(teams) >= 8
    assert any(p.leader for p in demo_model.people.values())


def test_ch4_sensors_are_placed_by_aq1029(demo_model):
    m = demo_model
    face = m.longwalls["11901"]
    ret = m.roadways[face.return_roadway]
    face_ch = ret.project(face.face_line()[1])[0]   # where the face meets the return
    by_cat = {}
    for s in m.sensors.values():
        if s.type_code == "0001" and s.category:
            by_cat.setdefault((s.category, s.roadway), []).append(s)
    t0 = by_cat[("T0", ret.id)][0]
    assert 0 < face_ch - t0.chainage_m <= 1.0                    # upper corner, ≤ 1 m
    assert t0.thresholds.upper_alarm == 1.0 and t0.thresholds.upper_power_off == 1.5
    t2 = by_cat[("T2", ret.id)][0]
    assert 10 <= t2.chainage_m <= 15                             # 10–15 m from the mouth
    assert t2.thresholds.upper_power_off == 1.0
    t1 = by_cat[("T1", None)][0]                                 # on the face itself
    ends = face.face_line()
    d = np.linalg.norm(np.asarray(t1.position[:2]) - ends[1][:2])
    assert d <= 10.0
    for h in m.headings.values():
        t1h = by_cat[("T1", h.roadway)][0]
        assert 0 < h.advanced_m - t1h.chainage_m <= 5.0          # heading face, ≤ 5 m


def test_boreholes_sample_the_hidden_truth(demo_dir):
    import csv
    truth = TrueGeology.load(demo_dir / "truth" / "geology.toml")
    collars = {r["hole_id"]: r for r in csv.DictReader(open(demo_dir / "geology/collars.csv"))}
    surveys = {r["hole_id"]: r for r in csv.DictReader(open(demo_dir / "geology/surveys.csv"))}
    origin = np.array([35_512_000.0, 2_935_000.0, 0.0])
    n = 0
    for r in csv.DictReader(open(demo_dir / "geology/intervals.csv")):
        c, sv = collars[r["hole_id"]], surveys[r["hole_id"]]
        az, dip = np.radians(float(sv["azimuth"])), np.radians(float(sv["dip"]))
        direction = np.array([np.sin(az) * np.cos(dip), np.cos(az) * np.cos(dip), np.sin(dip)])
        top = np.array([float(c["x"]), float(c["y"]), float(c["z"])]) - origin + \
            float(r["from"]) * direction
        roof = truth.roof(r["seam"], top[0], top[1])
        assert abs(top[2] - roof) < 0.5, (r, top[2], roof)
        n += 1
    assert n > 100
