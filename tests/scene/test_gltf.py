"""glTF import/export: round trips keep the tree, transforms, mesh bounds and properties;
every GLB written passes the Khronos validator; broken files give clear errors."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pygltflib
import pytest
import trimesh

from assets import AssetStore
from scene import GltfError, Scene
from scene.gltf import export_glb, import_gltf
from scene.tolerances import GLTF_ROUNDTRIP_TOLERANCE as TOL


def png_1x1(rgb=(200, 120, 40)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"\x00" + bytes(rgb)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def textured_gltf(folder: Path) -> Path:
    """A .gltf with an external .bin and an external PNG: a textured quad under a parent
    whose transform is a matrix, with foreign extras."""
    pos = np.array([[0, 0, 0], [2, 0, 0], [2, 3, 0], [0, 3, 0]], dtype=np.float32)
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
    idx = np.array([0, 1, 2, 0, 2, 3], dtype=np.uint16)
    blob = pos.tobytes() + uv.tobytes() + idx.tobytes()
    (folder / "quad.bin").write_bytes(blob)
    (folder / "wall texture.png").write_bytes(png_1x1())
    matrix = np.eye(4)
    matrix[:3, 3] = [10, 20, 30]
    doc = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [
            {"name": "chamber", "matrix": matrix.T.ravel().tolist(), "children": [1],
             "extras": {"rated_power_kw": 250, "vendor": "郑煤机", "ok": True,
                        "params": {"a": [1, 2]}}},
            {"name": "wall", "mesh": 0, "translation": [0, 1, 0],
             "rotation": [0, 0.7071067811865476, 0, 0.7071067811865476]},
        ],
        "meshes": [{"name": "quad", "primitives": [{
            "attributes": {"POSITION": 0, "TEXCOORD_0": 1}, "indices": 2, "material": 0}]}],
        "materials": [{"name": "rock", "pbrMetallicRoughness": {
            "baseColorTexture": {"index": 0}, "metallicFactor": 0.0}}],
        "textures": [{"source": 0, "sampler": 0}],
        "samplers": [{"magFilter": 9729, "minFilter": 9987}],
        "images": [{"uri": "wall%20texture.png"}],
        "buffers": [{"uri": "quad.bin", "byteLength": len(blob)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": 48, "target": 34962},
            {"buffer": 0, "byteOffset": 48, "byteLength": 32, "target": 34962},
            {"buffer": 0, "byteOffset": 80, "byteLength": 12, "target": 34963},
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3",
             "min": [0, 0, 0], "max": [2, 3, 0]},
            {"bufferView": 1, "componentType": 5126, "count": 4, "type": "VEC2"},
            {"bufferView": 2, "componentType": 5123, "count": 6, "type": "SCALAR"},
        ],
    }
    path = folder / "chamber.gltf"
    path.write_text(json.dumps(doc))
    return path


def trimesh_glb(folder: Path) -> Path:
    sc = trimesh.Scene()
    sc.add_geometry(trimesh.creation.box(extents=(2, 4, 6)), node_name="belt", geom_name="box",
                    transform=trimesh.transformations.translation_matrix((5, 0, 0)))
    sc.add_geometry(trimesh.creation.icosphere(subdivisions=1), node_name="drum",
                    geom_name="ball", parent_node_name="belt",
                    transform=trimesh.transformations.rotation_matrix(0.3, (0, 0, 1)))
    sc.add_geometry(trimesh.creation.box(extents=(2, 4, 6)), node_name="belt2",
                    geom_name="box", transform=trimesh.transformations.translation_matrix((0, 0, 9)))
    path = folder / "belt.glb"
    path.write_bytes(sc.export(file_type="glb"))
    return path


def tree(scene: Scene) -> list[tuple]:
    out = []
    for node in scene:
        n = scene.node(node)
        out.append((node, n.parent, n.name, n.mesh.bounds if n.mesh else None,
                    n.mesh.asset if n.mesh else None))
    return out


@pytest.fixture
def store(tmp_path) -> AssetStore:
    return AssetStore(tmp_path / "store")


@pytest.mark.parametrize("make", [textured_gltf, trimesh_glb])
def test_round_trip_keeps_tree_transforms_bounds_and_properties(make, tmp_path, store,
                                                               gltf_validator):
    src = make(tmp_path)
    first = Scene()
    import_gltf(first, src, store=store)
    first.set_property(next(iter(first)), "ch4", 0.42, unit="%")
    first.set_visual(next(iter(first)), color=0xFF0000, label="CH4 0.42%")
    first.commit(1)
    out = tmp_path / "out.glb"
    export_glb(first, store=store, path=out)
    second = Scene()
    import_gltf(second, out, store=store)
    second.commit(1)
    assert tree(second) == tree(first)
    for node in first:
        np.testing.assert_allclose(second.world_matrix(node), first.world_matrix(node),
                                   atol=TOL)
        assert second.properties(node) == first.properties(node)
        assert second.visual(node) == first.visual(node)
        assert second.node(node).tags == first.node(node).tags
    reports = gltf_validator([out] + [store.path(a) for a in store])
    assert [r.errors for r in reports] == [0] * len(reports), reports


def test_imported_transforms_are_z_up(tmp_path, store):
    s = Scene()
    import_gltf(s, trimesh_glb(tmp_path), store=store)
    # trimesh writes y-up glTF: its +y (up) is the mine's +z.
    np.testing.assert_allclose(s.world_position("gltf/belt2"), [0, -9, 0], atol=1e-9)
    np.testing.assert_allclose(s.world_position("gltf/belt"), [5, 0, 0], atol=1e-9)


def test_textured_import_keeps_material_texture_and_extras(tmp_path, store, gltf_validator):
    s = Scene()
    roots = import_gltf(s, textured_gltf(tmp_path), store=store, tags=["equipment"])
    assert roots == ["gltf/chamber"]
    assert s.properties("gltf/chamber")["rated_power_kw"].value == 250.0
    assert s.properties("gltf/chamber")["vendor"].value == "郑煤机"
    assert json.loads(s.properties("gltf/chamber")["params"].value) == {"a": [1, 2]}
    assert s.tagged("equipment") == {"gltf/chamber", "gltf/wall"}
    mesh = s.node("gltf/wall").mesh
    assert mesh.bounds == (0, 0, 0, 2, 3, 0)
    g = pygltflib.GLTF2.load(store.path(mesh.asset))
    tex = g.materials[g.meshes[0].primitives[0].material].pbrMetallicRoughness.baseColorTexture
    image = g.images[g.textures[tex.index].source]
    view = g.bufferViews[image.bufferView]
    blob = g.binary_blob()
    assert blob[view.byteOffset:view.byteOffset + view.byteLength] == png_1x1()
    assert image.mimeType == "image/png" and g.samplers[0].magFilter == 9729
    assert gltf_validator([store.path(mesh.asset)])[0].errors == 0


def test_export_of_a_subtree(tmp_path, store, gltf_validator):
    s = Scene()
    import_gltf(s, trimesh_glb(tmp_path), store=store)
    s.commit(1)
    out = tmp_path / "drum.glb"
    export_glb(s, store=store, root="gltf/belt", path=out)
    again = Scene()
    assert import_gltf(again, out, store=store) == ["gltf/belt"]
    assert list(again) == ["gltf/belt", "gltf/drum"]
    assert gltf_validator([out])[0].errors == 0


def test_ids_are_unique_across_imports(tmp_path, store):
    s = Scene()
    src = trimesh_glb(tmp_path)
    import_gltf(s, src, store=store)
    second = import_gltf(s, src, store=store)
    assert second[0] == "gltf/belt-2"
    assert len(s) == 6


def _broken(tmp_path: Path, edit) -> Path:
    src = textured_gltf(tmp_path)
    doc = json.loads(src.read_text())
    edit(doc)
    src.write_text(json.dumps(doc))
    return src


@pytest.mark.parametrize("make, message", [
    (lambda p: (p / "x.glb").write_bytes(b"glTF\x02\0\0\0garbage") and p / "x.glb",
     "not a valid glTF"),
    (lambda p: (p / "x.gltf").write_text("{not json") and p / "x.gltf", "not a valid glTF"),
    (lambda p: (p / "x.obj").write_text("v 0 0 0") and p / "x.obj", "not a .gltf or .glb"),
    (lambda p: p / "missing.glb", "no such file"),
    (lambda p: _broken(p, lambda d: d["buffers"][0].update(uri="gone.bin")), "cannot be read"),
    (lambda p: _broken(p, lambda d: d["nodes"][0].update(children=[7])), "node 7 does not exist"),
    (lambda p: _broken(p, lambda d: d["nodes"][1].update(children=[0])), "more than one parent"),
    (lambda p: _broken(p, lambda d: d["asset"].update(version="1.0")), "version 1.0"),
    (lambda p: _broken(p, lambda d: d["accessors"][0].pop("min")), "min/max"),
    (lambda p: _broken(p, lambda d: d["nodes"][1].update(rotation=[0, 0, 0, 0])), "bad transform"),
    (lambda p: _broken(p, lambda d: d["bufferViews"][0].update(byteLength=4000)), "runs past"),
])
def test_malformed_gltf_gives_a_clear_error_and_changes_nothing(make, message, tmp_path, store):
    s = Scene()
    s.add("existing")
    s.commit(1)
    with pytest.raises(GltfError, match=message):
        import_gltf(s, make(tmp_path), store=store)
    assert list(s) == ["existing"] and not s.has_changes
