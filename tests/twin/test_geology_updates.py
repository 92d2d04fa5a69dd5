"""The geological model learning from mining: exposure points correct it where they are,
the error at the face before each mapping is logged, the prediction ahead holds the truth in
its 95 % band, cross-sections show the faults where they are, meshes validate, and the running
twin updates the scene from the simulator's face mapping off the tick."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import numpy as np
import pytest
import trimesh

from twin.geology import BoreholeError
from twin.geology.exposure import (Exposures, GeologyModel, build_geology, face_points,
                                   load_exposures)
from twin.geology.surfaces import build_seam_model
from twin.demo.truth import TrueGeology


@pytest.fixture(scope="module")
def geo(demo_dir, demo_model):
    return build_geology(demo_dir, demo_model.mine.origin)


@pytest.fixture(scope="module")
def truth(demo_dir):
    return TrueGeology.load(demo_dir / "truth" / "geology.toml")


def test_the_demo_exposures_load_in_order(demo_dir, demo_model, geo):
    exp = load_exposures(demo_dir / "geology" / "exposures.csv", demo_model.mine.origin)
    soft = load_exposures(demo_dir / "geology" / "geophysics.csv", demo_model.mine.origin)
    assert len(exp) + len(soft) == len(geo.exposed) and len(exp) > 1000
    assert set(exp.seam) == set(soft.seam) == {"M9"}
    assert {s.split(":")[0] for s in exp.source} == {"roadway", "face"}
    assert set(soft.source) == {"seismic:11902"} and (soft.sigma == 0.25).all()
    assert np.isnan(soft.floor).all() and (exp.sigma == 0.05).all()
    times = [int(b.time_ms[0]) for b in exp.batches()]
    assert times == sorted(times)


def test_exposure_corrects_the_model_near_it_and_not_far_away(geo, truth, demo_model):
    plain = build_seam_model(geo.holes)
    # near the mined panel (between its gateroads) and far from any exposure
    f = demo_model.longwalls["11901"]
    rng = np.random.default_rng(2)
    near = np.c_[rng.uniform(1400 - f.advanced_m, 1400, 300), rng.uniform(-420, -260, 300)]
    far = np.c_[rng.uniform(-1300, -600, 300), rng.uniform(-100, 200, 300)]
    for pts, better in ((near, True), (far, False)):
        x, y = pts[:, 0], pts[:, 1]
        t = truth.floor("M9", x, y)
        e_new = np.sqrt(np.mean((geo.model.floor("M9", x, y) - t) ** 2))
        e_old = np.sqrt(np.mean((plain.floor("M9", x, y) - t) ** 2))
        if better:
            assert e_new < 0.15 and e_new < e_old / 10
        else:
            assert abs(e_new - e_old) < 0.05 * e_old          # the boreholes' model there
    # thickness too, and the uncertainty falls to the mapping error there
    x, y = near[:, 0], near[:, 1]
    assert np.sqrt(np.mean((geo.model.thickness("M9", x, y) - truth.thickness("M9", x, y)) ** 2)) < 0.08
    assert geo.model.floor_sigma("M9", x, y).max() < plain.floors["M9"].sigma(x, y).min()


def test_the_accuracy_log_says_how_the_face_was_predicted_before_each_mapping(geo):
    rep = geo.report()
    face = [e for e in geo.log if e["source"] == "face:11901"]
    assert len(face) == rep["exposure_batches"] - sum(
        1 for e in geo.log if not e["source"].startswith("face:"))
    assert rep["face_floor_rmse_m"] <= 0.2                    # the target
    assert rep["face_floor_rmse_boreholes_only_m"] > 10 * rep["face_floor_rmse_m"]
    assert all(e["floor_rmse_m"] < 0.2 for e in face[5:])      # once a few lines are in
    # errors were logged before the batch was used: re-predicting it now is better still
    last = geo.exposed.select(geo.exposed.source == "face:11901")
    now = geo.model.floor("M9", last.xy[:, 0], last.xy[:, 1]) - last.floor
    assert np.sqrt(np.mean(now ** 2)) < rep["face_floor_rmse_m"]


def test_prediction_ahead_holds_the_truth_in_its_band(geo, truth, demo_model):
    f = demo_model.longwalls["11901"]
    a, b = f.face_line()
    ah = geo.ahead("M9", face_points(a, b), f.advance_direction, 100.0, 10.0)
    t_floor = truth.floor("M9", ah["x"], ah["y"])
    t_thick = truth.thickness("M9", ah["x"], ah["y"])
    inside = (t_floor >= ah["floor_lo"]) & (t_floor <= ah["floor_hi"])
    assert inside.mean() >= 0.95
    assert ((t_thick >= ah["thickness_lo"]) & (t_thick <= ah["thickness_hi"])).mean() >= 0.95
    band = [s["floor_band95_m"] for s in ah["summary"]]
    assert band[0] < 0.3 and band[-1] > 2 * band[0]          # grows with distance ahead
    assert [s["ahead_m"] for s in ah["summary"]] == list(np.arange(0.0, 101.0, 10.0))
    err = np.sqrt(np.mean((ah["floor_z"][-1] - t_floor[-1]) ** 2))
    assert err < 0.5                                          # 100 m ahead, between gateroads


def test_soft_data_weigh_by_their_error(geo, truth):
    """The same biased thickness readings move the model less as seismic (±0.25 m) than as
    mapped exposure (±0.05 m); the demo's in-seam seismic of 11902 (its noise as large as the
    thickness varies there) neither spoils the thickness away from where mining has seen the
    seam nor widens its band."""
    from scipy.spatial import cKDTree
    base = GeologyModel(geo.holes, build_seam_model(geo.holes))
    x, y = np.meshgrid(np.arange(-1200, -900, 40.0), np.arange(300, 500, 40.0))
    pts = np.c_[x.ravel(), y.ravel()]
    before = base.model.thickness("M9", *pts.T)
    moved = {}
    for sigma in (0.05, 0.25):
        g = GeologyModel(geo.holes, build_seam_model(geo.holes))
        g.add(Exposures.of("M9", pts, np.full(len(pts), np.nan), before + 0.3, "test", 1, sigma))
        moved[sigma] = float(np.mean(g.model.thickness("M9", *pts.T) - before))
    assert 0.2 < moved[0.05] <= 0.3 and 0 < moved[0.25] < moved[0.05]
    # the demo: thickness between the 11902 headings, > 100 m from any exposure
    hard = GeologyModel(geo.holes, build_seam_model(geo.holes))
    for b in geo.exposed.select(geo.exposed.source != "seismic:11902").batches():
        hard.add(b)
    rng = np.random.default_rng(0)
    q = np.c_[rng.uniform(260, 1380, 600), rng.uniform(-640, -480, 600)]
    far = cKDTree(hard.exposed.xy).query(q)[0] > 100
    t = truth.thickness("M9", *q[far].T)
    err_hard = np.sqrt(np.mean((hard.model.thickness("M9", *q[far].T) - t) ** 2))
    err_soft = np.sqrt(np.mean((geo.model.thickness("M9", *q[far].T) - t) ** 2))
    assert far.sum() > 100 and err_soft < err_hard + 0.01 and err_soft < 0.05
    assert np.median(geo.model.thickness_sigma("M9", *q[far].T)) <= \
        np.median(hard.model.thickness_sigma("M9", *q[far].T)) + 1e-9


def test_unknown_seams_are_refused_and_logged(geo):
    g = GeologyModel(geo.holes, build_seam_model(geo.holes))
    entries = g.add(Exposures.of("M99", [[0, 0]], [1000.0], source="face:x", time_ms=1))
    assert entries[0]["refused"] == "no seam 'M99' in the model" and len(g.exposed) == 0


def test_bad_exposure_files_are_named(tmp_path):
    p = tmp_path / "exposures.csv"
    p.write_text("seam,x,y,floor_z,thickness_m,source,time\nM9,1,2,abc,1.5,face:1,2026-11-01T08:00:00\n")
    with pytest.raises(BoreholeError, match="exposures.csv:2: floor_z is not a number"):
        load_exposures(p)
    p.write_text("seam,x,y,floor_z,thickness_m,source,time\nM9,1,2,3,1.5,face:1,yesterday\n")
    with pytest.raises(BoreholeError, match="exposures.csv:2: time is not ISO 8601"):
        load_exposures(p)
    p.write_text("seam,x,y,floor_z\n")
    with pytest.raises(BoreholeError, match="missing columns"):
        load_exposures(p)


def test_a_section_through_a_known_fault_shows_it_where_it_is(geo, truth, tmp_path):
    from twin.geology.sections import section, section_mesh, section_png
    f = next(x for x in truth.faults if x.name == "F1")
    dip = np.radians(f.strike_deg + 90.0)
    d = np.array([np.sin(dip), np.cos(dip)])
    p = np.asarray(f.point[:2])
    sec = section(geo.model, np.vstack([p - 300 * d, p + 300 * d]), spacing=2.0)
    # where the true fault plane cuts the true M9 floor along the section
    s, x, y = sec["chainage_m"], sec["x"], sec["y"]
    true_floor = truth.floor("M9", x, y)
    jump = np.abs(np.diff(true_floor))
    where = (s[np.argmax(jump)] + s[np.argmax(jump) + 1]) / 2
    hits = [c for c in sec["faults"] if c["fault"] == "F1" and c["seam"] == "M9"]
    assert len(hits) == 1
    assert abs(hits[0]["chainage_m"] - where) < 12.0           # mapped within a few metres
    assert abs(abs(hits[0]["step_m"]) - f.throw_m) < 1.0       # the right throw
    assert len(section_mesh(sec).faces) > 0
    png = section_png(sec, tmp_path / "s.png")
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_meshes_validate_and_fault_slabs_are_closed(geo, demo_model, tmp_path, gltf_validator):
    from assets import AssetStore
    from scene import Scene
    from twin.geology.meshes import GeologyScene, ahead_shell, fault_surface
    store = AssetStore(tmp_path / "store")
    maker = GeologyScene(geo, demo_model, store, step=100.0)
    s = Scene()
    ids = maker.add(s)
    assert {"geology/seam-M9", "geology/fault-F1", "geology/ahead-face-11901",
            "geology/ahead-heading-11902-return-heading", "geology/contours-M9",
            "geology/stratum-M9-M7"} <= set(ids)
    # contours at a round interval giving at most 15 lines (every 50 m over the demo's
    # 560 m relief: at 10 m, three seams' 57 lines each were a striped wash), or as asked,
    # lying on the floor they describe
    from twin.geology.meshes import contour_interval, floor_contours
    mesh, levels = floor_contours(geo.model, "M9", maker.extent)
    assert np.allclose(np.diff(levels), 50.0) and 8 <= len(levels) <= 15, levels
    assert contour_interval(560.0) == 50.0 and contour_interval(90.0) == 10.0
    assert s.property("geology/contours-M9", "interval_m") == 50.0
    mesh, levels = floor_contours(geo.model, "M9", maker.extent, interval=10.0)
    assert np.allclose(np.diff(levels), 10.0) and len(levels) > 20
    v = mesh.vertices[::97]
    under = geo.model.floor("M9", v[:, 0], v[:, 1])
    assert np.median(np.abs(v[:, 2] - 0.3 - under)) < 2.0
    assert s.tagged("prediction") and s.tagged("fault") == {f"geology/fault-{n}"
                                                              for n in ("F1", "F2", "F3")}
    paths = [store.path(s.get_field(n, "mesh").asset) for n in ids]
    assert all(r.errors == 0 for r in gltf_validator(paths))
    for n in ids:
        if "contours" in n:                  # flat strips, not volumes
            continue
        m = trimesh.load(store.path(s.get_field(n, "mesh").asset), force="mesh")
        assert m.is_watertight, n
    slab = fault_surface(geo.model.faults[0], geo.model, maker.extent)
    assert slab.is_watertight and slab.bounds[0][0] >= maker.extent[0] - 1e-6
    # it spans the seams where it cuts them, a margin above and below
    f = geo.model.faults[0]
    lo = min(float(geo.model.floor(s, *f.point[:2])) for s in geo.model.seams)
    hi = max(float(geo.model.roof(s, *f.point[:2])) for s in geo.model.seams)
    assert slab.bounds[0][2] < lo - 10 and slab.bounds[1][2] > hi + 10
    assert slab.bounds[1][2] - slab.bounds[0][2] < 1000          # not the whole extent's depth
    f = demo_model.longwalls["11901"]
    shell = ahead_shell(geo.ahead("M9", face_points(*f.face_line()), f.advance_direction))
    assert shell.is_watertight and shell.volume > 0


def test_the_simulator_maps_the_face_and_the_service_updates_the_scene_off_the_tick(
        demo_dir, demo_model, tmp_path, truth):
    from assets import AssetStore
    from scene import Scene
    from twin.geology.meshes import GeologyScene
    from twin.geology.service import GeologyService
    from twin.sim import Simulator
    geo = build_geology(demo_dir, demo_model.mine.origin)
    before = geo.report()["exposure_points"]
    store = AssetStore(tmp_path / "store")
    maker = GeologyScene(geo, demo_model, store, step=100.0)
    s = Scene()
    maker.add(s)
    s.commit()
    seam_asset = s.get_field("geology/seam-M9", "mesh").asset
    service = GeologyService(geo, maker, coalesce_s=0.05)
    try:
        sim = Simulator(demo_model, seed=4, start=datetime(2026, 11, 2, 9, 0), truth=truth,
                        map_every_m=0.02)       # a mapping every ~6 simulated minutes
        out = sim.advance(1800.0)
        mapped = [o for o in out if o.kind == "exposure"]
        faces = [o for o in mapped if o.param == "face:11901"]
        assert len(faces) >= 18 * 3 and all(o.key == "M9" for o in mapped)
        x, y, z = np.array([o.position for o in faces]).T
        assert np.abs(z - truth.floor("M9", x, y)).max() < 0.25      # 5 cm survey error
        service.offer(out)
        service.apply(s)                       # the tick never waits: nothing yet, or a part
        assert service.wait_idle(60)
        service.apply(s)
        s.commit()
    finally:
        service.close()
    rep = service.report()
    assert rep["exposure_points"] == before + len(mapped)
    assert rep["accuracy_log"][-1]["floor_rmse_m"] < 0.2
    assert s.get_field("geology/seam-M9", "mesh").asset != seam_asset      # a new version
    assert s.property("geology/seam-M9", "exposure_points") == rep["exposure_points"]
    assert service.stats["update failures"] == 0


def test_geology_commands(demo_dir, tmp_path):
    import shutil
    mine = tmp_path / "mine"
    shutil.copytree(demo_dir, mine)

    def run(*args, ok=True):
        r = subprocess.run([sys.executable, "-m", "minetwin.cli", "geology", *args],
                           capture_output=True, text=True, timeout=300)
        assert (r.returncode == 0) == ok, r.stderr
        return r
    rep = json.loads(run("report", "--mine", str(mine), "--json", "--plots",
                         str(tmp_path / "plots")).stdout)
    assert {"floor_rmse_m", "roof_rmse_m", "thickness_rmse_m", "face_floor_rmse_m"} <= set(rep)
    assert all((tmp_path / "plots" / n).stat().st_size > 10_000
               for n in ("error_over_time.png", "cross_validation.png"))
    built = json.loads(run("build", "--mine", str(mine), "--store", str(tmp_path / "st"),
                           "--step", "100", "--json").stdout)
    assert "geology/seam-M9" in built["assets"]
    # an update: a new face line 5 m ahead of the last mapped one, in the mine's CRS
    ox, oy, oz = (35_512_000.0, 2_935_000.0, 0.0)
    exp = load_exposures(mine / "geology" / "exposures.csv", (ox, oy, oz))
    last_x = exp.xy[exp.source == "face:11901", 0].min()
    truth = TrueGeology.load(mine / "truth" / "geology.toml")
    pts = face_points((last_x - 5, -430), (last_x - 5, -250))
    fz, th = truth.mapped("M9", pts, np.random.default_rng(0))
    rows = "\n".join(f"M9,{x + ox:.2f},{y + oy:.2f},{z:.3f},{t:.3f},face:11901,2026-11-03T08:00:00"
                     for (x, y), z, t in zip(pts, fz, th))
    (tmp_path / "new.csv").write_text("seam,x,y,floor_z,thickness_m,source,time\n" + rows + "\n")
    up = json.loads(run("update", "--mine", str(mine), "--exposures", str(tmp_path / "new.csv"),
                        "--json").stdout)
    assert up["log"][-1]["points"] == len(pts) and up["log"][-1]["floor_rmse_m"] < 0.2
    assert up["exposure_points"] == rep["exposure_points"] + len(pts)
    again = json.loads(run("report", "--mine", str(mine), "--json").stdout)
    assert again["exposure_points"] == up["exposure_points"]          # kept in the folder
    (tmp_path / "line.csv").write_text("x,y\n500,-700\n900,-100\n")
    sec = json.loads(run("section", "--mine", str(mine), "--line", str(tmp_path / "line.csv"),
                         "--png", str(tmp_path / "s.png"), "--json").stdout)
    assert sec["length_m"] > 700 and (tmp_path / "s.png").exists()
    assert "error:" in run("section", "--mine", str(mine), "--line", str(tmp_path / "nope.csv"),
                           ok=False).stderr
