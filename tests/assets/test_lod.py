"""LOD chains keep their bounds and shrink as stated; compressed GLBs (gltfpack: meshopt +
quantization) validate, decode back within the quantization step, and are smaller; long
meshes are tiled so 16-bit positions keep the wanted precision."""

from __future__ import annotations

import io

import numpy as np
import pytest
import trimesh

from assets.groundtruth import polyline_at
from assets.lod import (compress_glb, decompress_glb, gltfpack_available, lod_chain,
                        position_bits, quantization_step, shrink_textures,
                        tile_for_precision, validate_compressed)
from assets.sweep import glb_from_mesh, sweep_profile
from tests.conftest import require

OUTLINE = np.array([[-2.5, 0], [2.5, 0], [2.5, 2.2]]
                   + [[2.5 * np.cos(a), 2.2 + 1.6 * np.sin(a)] for a in np.linspace(0.2, np.pi - 0.2, 16)]
                   + [[-2.5, 2.2]])


@pytest.fixture(scope="module")
def roadway():
    line = polyline_at(np.array([[0, 0, 0], [60, 0, 0], [90, 40, 2.0]], float), 0.1)
    return sweep_profile(line, OUTLINE)


def test_lods_keep_bounds_and_shrink_as_stated():
    # A scanned-rock-like surface: a dense sphere with seeded radial noise.
    rock = trimesh.creation.icosphere(subdivisions=6, radius=2.0)
    r = 1 + 0.005 * np.random.default_rng(0).standard_normal(len(rock.vertices))
    rock = trimesh.Trimesh(rock.vertices * r[:, None], rock.faces, process=False)
    chain = lod_chain(rock, (1.0, 0.25, 0.05))
    faces = [len(m.faces) for m in chain]
    assert faces[0] == len(rock.faces)
    assert abs(faces[1] / faces[0] - 0.25) < 0.02 and abs(faces[2] / faces[0] - 0.05) < 0.01
    for m in chain:
        assert np.allclose(m.bounds, rock.bounds, atol=0.02 * 4.0)   # 2 % of the size


def test_position_bits_and_tiling_keep_the_precision():
    assert position_bits(trimesh.creation.box((100, 5, 4)), 0.0065) == 14   # 6.1 mm steps
    assert position_bits(trimesh.creation.box((400, 5, 4)), 0.0065) == 16
    long = sweep_profile(polyline_at(np.array([[0, 0, 0], [5000, 0, 0]], float), 10.0), OUTLINE)
    assert position_bits(long, 0.005) is None           # 5 km at 5 mm needs 20 bits
    tiles = tile_for_precision(long, 0.005)
    assert len(tiles) >= 2 and sum(len(t.faces) for t in tiles) == len(long.faces)
    for t in tiles:
        assert quantization_step(float(np.max(t.extents)), 16) <= 0.005


def test_compressed_glbs_validate_decode_within_the_step_and_are_smaller(roadway, tmp_path,
                                                                         gltf_validator):
    require(gltfpack_available(), "gltfpack (npm)")
    plain = glb_from_mesh(roadway)
    packed = compress_glb(plain, position_bits=16)
    assert len(packed) < len(plain) / 3
    path = tmp_path / "roadway.glb"
    path.write_bytes(packed)
    reports = validate_compressed(path, gltf_validator)
    assert [r.errors for r in reports] == [0, 0]
    decoded = trimesh.load(io.BytesIO(decompress_glb(packed)), file_type="glb", force="mesh")
    assert len(decoded.faces) == len(roadway.faces)
    step = quantization_step(float(np.max(roadway.extents)), 16)
    import open3d as o3d
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(np.asarray(roadway.vertices, np.float32), np.asarray(roadway.faces, np.uint32))
    dist = scene.compute_distance(o3d.core.Tensor(np.asarray(decoded.vertices, np.float32))).numpy()
    assert dist.max() <= step


def test_textures_are_resized_and_reencoded(tmp_path, gltf_validator):
    require(gltfpack_available(), "gltfpack (npm)")
    import json
    import struct

    from PIL import Image

    from assets.importers import import_file
    Image.effect_noise((2048, 2048), 60).convert("RGB").save(tmp_path / "rock.png")
    (tmp_path / "m.mtl").write_text("newmtl rock\nKd 1 1 1\nmap_Kd rock.png\n")
    (tmp_path / "m.obj").write_text(
        "mtllib m.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nusemtl rock\nf 1/1 2/2 3/3\n")
    scene = import_file(tmp_path / "m.obj").mesh
    before = len(scene.export(file_type="glb"))
    assert shrink_textures(scene, 512) == 1
    packed = compress_glb(scene.export(file_type="glb"))
    (tmp_path / "m.glb").write_bytes(packed)
    assert [r.errors for r in validate_compressed(tmp_path / "m.glb", gltf_validator)] == [0, 0]
    length = struct.unpack_from("<I", packed, 12)[0]
    doc = json.loads(packed[20:20 + length])
    assert [i["mimeType"] for i in doc["images"]] == ["image/jpeg"]
    assert len(packed) < before / 8
    import io as _io
    view = doc["bufferViews"][doc["images"][0]["bufferView"]]
    start = 20 + length + 8 + view.get("byteOffset", 0)
    assert Image.open(_io.BytesIO(packed[start:start + view["byteLength"]])).size == (512, 512)
