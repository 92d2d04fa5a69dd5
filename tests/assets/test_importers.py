"""Each importer on small files made here; broken files give clear errors; georeferencing
recovers a known transform and names the bad control point."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from assets.georef import GeoreferenceError, fit_similarity, read_control_points
from assets.importers import AssetImportError, MeshData, PointCloud, formats, import_file
from assets.sweep import glb_from_mesh

RNG = np.random.default_rng(5)
PTS = RNG.uniform(-10, 10, (500, 3))


def test_every_format_has_a_reader():
    assert {".glb", ".gltf", ".obj", ".ply", ".stl", ".las", ".laz", ".pcd", ".xyz", ".csv",
            ".txt", ".e57"} <= set(formats())


def test_meshes_glb_obj_with_texture_ply_stl(tmp_path):
    box = trimesh.creation.box((2, 3, 4))
    (tmp_path / "a.glb").write_bytes(glb_from_mesh(box))
    box.export(tmp_path / "a.stl")
    box.export(tmp_path / "a.ply")
    for name in ("a.glb", "a.stl", "a.ply"):
        m = import_file(tmp_path / name)
        assert isinstance(m, MeshData) and m.meta["triangles"] == 12, name
    # OBJ + MTL + a texture beside it
    from PIL import Image
    Image.new("RGB", (4, 4), (200, 40, 40)).save(tmp_path / "rock.png")
    (tmp_path / "m.mtl").write_text("newmtl rock\nKd 1 1 1\nmap_Kd rock.png\n")
    (tmp_path / "m.obj").write_text(
        "mtllib m.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nusemtl rock\nf 1/1 2/2 3/3\n")
    m = import_file(tmp_path / "m.obj")
    geom = m.mesh if isinstance(m.mesh, trimesh.Trimesh) else next(iter(m.mesh.geometry.values()))
    assert m.meta["triangles"] == 1
    assert geom.visual.material.image is not None          # the texture came along


def test_point_clouds_las_laz_ply_pcd_xyz_csv_e57(tmp_path):
    import laspy
    import open3d as o3d
    import pye57

    for suffix in ("las", "laz"):
        header = laspy.LasHeader(point_format=3, version="1.2")
        header.scales, header.offsets = [0.001] * 3, [0, 0, 0]
        las = laspy.LasData(header)
        las.x, las.y, las.z = PTS[:, 0], PTS[:, 1], PTS[:, 2]
        las.intensity = np.arange(len(PTS), dtype=np.uint16)
        las.write(tmp_path / f"s.{suffix}")
        pc = import_file(tmp_path / f"s.{suffix}")
        assert isinstance(pc, PointCloud) and np.allclose(pc.points, PTS, atol=0.001)
        assert pc.intensity[7] == 7
    trimesh.PointCloud(PTS).export(tmp_path / "p.ply")
    o3d.io.write_point_cloud(str(tmp_path / "p.pcd"),
                             o3d.geometry.PointCloud(o3d.utility.Vector3dVector(PTS)))
    np.savetxt(tmp_path / "p.xyz", PTS, fmt="%.6f")
    (tmp_path / "p.csv").write_text("x,y,z,r,g,b\n" + "\n".join(
        f"{x:.6f},{y:.6f},{z:.6f},10,20,30" for x, y, z in PTS))
    e57 = pye57.E57(str(tmp_path / "p.e57"), mode="w")
    e57.write_scan_raw({"cartesianX": PTS[:, 0], "cartesianY": PTS[:, 1], "cartesianZ": PTS[:, 2]})
    e57.close()
    for name in ("p.ply", "p.pcd", "p.xyz", "p.csv", "p.e57"):
        pc = import_file(tmp_path / name)
        assert isinstance(pc, PointCloud), name
        assert np.allclose(pc.points, PTS, atol=1e-5), name
    assert import_file(tmp_path / "p.csv").colors[0].tolist() == [10, 20, 30]


def test_broken_and_unsupported_files_get_clear_errors(tmp_path):
    (tmp_path / "cut.glb").write_bytes(glb_from_mesh(trimesh.creation.box())[:60])
    (tmp_path / "junk.las").write_bytes(b"not a las file at all")
    (tmp_path / "empty.xyz").write_text("# nothing\n")
    (tmp_path / "nan.xyz").write_text("1 2 3\nnan 2 3\n")
    (tmp_path / "a.dwg").write_bytes(b"AC1032")
    cases = {"cut.glb": "cannot be read", "junk.las": "cannot be read",
             "empty.xyz": "no point lines", "nan.xyz": "NaN", "a.dwg": "unsupported format",
             "missing.ply": "no such file"}
    for name, reason in cases.items():
        with pytest.raises(AssetImportError, match=reason) as e:
            import_file(tmp_path / name)
        assert name in str(e.value)


def test_georeferencing_recovers_a_known_transform_and_names_a_bad_point(tmp_path):
    a = np.radians(30)
    r = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    src = RNG.uniform(-50, 50, (6, 3))
    dst = 1.0002 * src @ r.T + [35512000.0, 2935000.0, -420.0]
    dst += RNG.normal(0, 0.002, dst.shape)
    dst[4] += [0.5, 0, 0]                                      # a mis-measured point
    rows = "\n".join(f"CP{i},{','.join(map(str, s))},{','.join(map(str, d))}"
                     for i, (s, d) in enumerate(zip(src, dst)))
    (tmp_path / "cp.csv").write_text("name,xs,ys,zs,xm,ym,zm\n" + rows + "\n")
    names, s, d = read_control_points(tmp_path / "cp.csv")
    fit = fit_similarity(s, d, names=names)
    assert int(np.argmax(fit.residuals)) == 4 and fit.report()["residuals_m"]["CP4"] > 0.2
    good = [i for i in range(6) if i != 4]
    fit = fit_similarity(s[good], d[good])
    assert abs(fit.scale - 1.0002) < 1e-4 and np.allclose(fit.rotation, r, atol=1e-4)
    assert fit.rms < 0.005
    assert np.allclose(fit.apply(src[4]), 1.0002 * src[4] @ r.T + [35512000.0, 2935000.0, -420.0], atol=0.01)
    with pytest.raises(GeoreferenceError, match="at least 3"):
        fit_similarity(s[:2], d[:2])
    with pytest.raises(GeoreferenceError, match="one line"):
        line = np.c_[np.arange(4.0), np.zeros(4), np.zeros(4)]
        fit_similarity(line, line + 1)
