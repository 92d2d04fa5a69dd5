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
    assert 28 <= s["roadway_km"] <= 32                  # a real district's size (#20.7)
    assert s["longwalls"] == 1 and s["headings"] == 4
    assert 350 <= s["people"] <= 450
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


def test_the_demo_has_what_a_real_district_monitors(demo_model):
    """#20.7 — at least 150 points; the switch (KG) points the regulations ask for where they
    ask for them; two districts; the face's roof and the goaf watched."""
    from twin import quantity_of
    m = demo_model
    assert len(m.sensors) >= 150
    key = {c: quantity_of(s.type_code).key for c, s in m.sensors.items()}
    kinds = set(key.values())
    assert {"local_fan", "air_door", "feed", "breaker", "main_fan", "duct", "equipment_on",
            "smoke", "dust", "roof_separation", "borehole_stress", "n2", "c2h4", "c2h6",
            "sump_level", "air_quantity"} <= kinds
    # every heading: T1 and T2 CH4 cutting its feeder, a main and a standby local fan (Z)
    for h in m.headings.values():
        on = [c for c, s in m.sensors.items() if s.roadway == h.roadway]
        ch4 = [c for c in on if key[c] == "ch4"]
        fans = [c for c in on if key[c] == "local_fan"]
        feeder = [c for c in on if key[c] == "feed"]
        assert {m.sensors[c].category for c in ch4} == {"T1", "T2"}, h.id
        assert all(m.sensors[c].related("D") == tuple(feeder) for c in ch4), h.id
        assert len(fans) == 2 and m.sensors[fans[0]].related("Z") == (fans[1],), h.id
    doors = [c for c in m.sensors if key[c] == "air_door"]
    assert len(doors) == 6 and all(len(m.sensors[c].related("G")) == 1 for c in doors)
    districts = {r.id.split("-")[0] for r in m.roadways.values() if r.type == "district_return"}
    assert districts == {"117", "119"}
    face = m.longwalls["11901"]
    seps = [s for s in m.sensors.values() if key[s.point_code] == "roof_separation"]
    assert len(seps) == 3 and {s.roadway for s in seps} == {face.return_roadway,
                                                            face.intake_roadway}


def test_the_large_demo_is_for_the_benchmarks(tmp_path, demo_model):
    """#20.8 — ``--size large``: ≥ 1500 points, ≥ 1000 people, ≥ 80 km; the standard mine
    is inside it as it is (its points, readers and people keep their codes), every heading
    has its crew, and the CLI writes it."""
    import subprocess
    import sys

    from twin import Simulator, load_mine
    out = tmp_path / "large"
    r = subprocess.run([sys.executable, "-m", "minetwin.cli", "demo", "generate", "--size",
                        "large", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    m = load_mine(out)
    s = m.summary()
    assert s["sensors"] >= 1500 and s["people"] >= 1000 and s["roadway_km"] >= 80
    assert s["headings"] == 84
    for table in ("sensors", "readers", "people", "roadways", "areas"):
        small, big = getattr(demo_model, table), getattr(m, table)
        assert set(small) <= set(big), table
    assert all(m.sensors[c].location == x.location for c, x in demo_model.sensors.items())
    sim = Simulator(m, seed=1)
    crews = {p.workplace for p in sim.people if p.workplace.startswith("heading:")}
    assert crews == {f"heading:{h}" for h in m.headings}
