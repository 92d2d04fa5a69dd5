"""The asset commands as a user runs them: a design sweep and a scanned roadway into a store
(LODs, compression, validation), listing and showing them, and the deformation report."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from assets.groundtruth import polyline_at, synthetic_scan
from assets.lod import gltfpack_available
from assets.sweep import glb_from_mesh, sweep_profile
from tests.conftest import require

LINE = np.array([[0.0, 0.0, 0.0], [30.0, 0.0, 0.0]])
OUTLINE = np.array([[-2.0, 0], [2.0, 0], [2.0, 2.0], [-2.0, 2.0]])


def run(*args, ok=True):
    r = subprocess.run([sys.executable, "-m", "minetwin.cli", "assets", *args],
                       capture_output=True, text=True, timeout=600)
    assert (r.returncode == 0) == ok, r.stderr[-2000:]
    return r


@pytest.fixture
def files(tmp_path):
    np.savetxt(tmp_path / "centerline.csv", LINE, delimiter=",", header="x,y,z", comments="")
    design = sweep_profile(polyline_at(LINE, 0.2), OUTLINE)
    built = design.copy()
    v = built.vertices.copy()
    roof = v[:, 2] > 1.9
    v[roof, 2] -= 0.25 * np.exp(-((v[roof, 0] - 12.0) / 1.5) ** 2)        # roof sag at 12 m
    built.vertices = v
    scan = synthetic_scan(built, LINE + [0, 0, 1.0], station_spacing=0.5,
                          rays_per_station=3000, noise_sigma=0.01, seed=4)
    import laspy
    header = laspy.LasHeader(point_format=0, version="1.2")
    header.scales, header.offsets = [0.001] * 3, [0, 0, 0]
    las = laspy.LasData(header)
    las.x, las.y, las.z = scan.points.T
    las.write(tmp_path / "scan.laz")
    (tmp_path / "design.glb").write_bytes(glb_from_mesh(design))
    return tmp_path


def test_sweep_import_scan_list_show_and_deviation(files, tmp_path):
    require(gltfpack_available(), "gltfpack (npm)")
    store = str(tmp_path / "store")
    swept = json.loads(run("sweep", "--centerline", str(files / "centerline.csv"),
                           "--profile", "rectangle", "--width", "4", "--height", "2",
                           "--store", store).stdout)
    assert len(swept["lods"]) == 2
    out = run("import-scan", str(files / "scan.laz"), "--store", store, "--centerline",
              str(files / "centerline.csv"), "--voxel", "0.08", "--depth", "9", "--compress")
    scanned = json.loads(out.stdout)
    assert "scan → mesh" in out.stderr                       # the progress bar
    listed = json.loads(run("list", "--store", store, "--json").stdout)
    by_id = {a["id"]: a for a in listed}
    assert len(listed) == 6 and all(a["path"].endswith(".glb") for a in listed)
    top = by_id[scanned["asset"]]
    assert top["kind"] == "scan" and top["lods"] == scanned["lods"]
    tris = top["triangles_per_lod"]
    assert tris[0] > tris[1] > tris[2]
    assert top["compression"]["position_bits"] >= 14 and top["compression"]["position_step_m"] < 0.005
    assert top["processing"]["voxel"] == 0.08 and top["scan_stats"]["points_in"] > 10000
    shown = json.loads(run("show", swept["asset"], "--store", store).stdout)
    assert shown["kind"] == "design sweep" and shown["processing"]["profile"] == "rectangle"
    run("show", "0" * 64, "--store", store, ok=False)
    # the scanned mesh (decoded from the store) against the design: the roof sag at 12 m
    from assets import AssetStore
    from assets.lod import decompress_glb
    (tmp_path / "asbuilt.glb").write_bytes(decompress_glb(AssetStore(store).get(scanned["asset"])))
    rep = json.loads(run("deviation", "--scan", str(tmp_path / "asbuilt.glb"), "--reference",
                         str(files / "design.glb"), "--centerline", str(files / "centerline.csv"),
                         "--axis-height", "1.0", "--out", str(tmp_path / "dev.glb"),
                         "--report", str(tmp_path / "dev.json")).stdout)
    assert abs(rep["max_convergence_m"] - 0.25) < 0.05 and abs(rep["max_at_chainage_m"] - 12) < 1
    assert json.loads((tmp_path / "dev.json").read_text()) == rep
    assert (tmp_path / "dev.glb").stat().st_size > 1000


def test_wrong_inputs_are_clear_errors(files, tmp_path):
    store = str(tmp_path / "store")
    r = run("import", str(files / "scan.laz"), "--store", store, ok=False)
    assert "point cloud" in r.stderr and "import-scan" in r.stderr
    r = run("import-scan", str(files / "design.glb"), "--store", store, "--centerline",
            str(files / "centerline.csv"), ok=False)
    assert "is a mesh" in r.stderr
    r = run("import-scan", str(files / "scan.laz"), "--store", store, ok=False)
    assert "inside of the roadway" in r.stderr


def test_a_mesh_import_is_georeferenced_by_its_control_points(files, tmp_path):
    shift = np.array([512000.0, 2935000.0, -400.0])
    pts = np.array([[0, -2, 0], [30, -2, 0], [30, 2, 2], [0, 2, 2.0]])
    (tmp_path / "cp.csv").write_text("name,xs,ys,zs,xm,ym,zm\n" + "\n".join(
        f"P{i},{a[0]},{a[1]},{a[2]},{b[0]},{b[1]},{b[2]}" for i, (a, b) in enumerate(zip(pts, pts + shift))))
    out = run("import", str(files / "design.glb"), "--store", str(tmp_path / "s"),
              "--control-points", str(tmp_path / "cp.csv"), "--lods", "1")
    asset = json.loads(out.stdout)["asset"]
    meta = json.loads(run("show", asset, "--store", str(tmp_path / "s")).stdout)
    assert np.allclose(meta["bounds"], [0 + shift[0], -2 + shift[1], 0 + shift[2],
                                        30 + shift[0], 2 + shift[1], 2 + shift[2]], atol=1e-3)
    assert meta["georeference"]["rms_m"] < 1e-3 and abs(meta["georeference"]["scale"] - 1) < 1e-9


def test_sections_of_a_scan(files, tmp_path):
    out = json.loads(run("sections", str(files / "scan.laz"), "--every", "10",
                         "--centerline-out", str(tmp_path / "cl.csv")).stdout)
    assert 27 < out["length_m"] < 30.5
    widths = [s["width_m"] for s in out["sections"]]
    assert len(widths) == 3 and all(abs(w - 4.0) < 0.08 for w in widths)
    assert np.loadtxt(tmp_path / "cl.csv", delimiter=",", skiprows=1).shape[1] == 3
