"""The minetwin command's glTF tools, run as a user would."""

import subprocess
import sys

from tests.scene.test_gltf import trimesh_glb


def run(*args):
    return subprocess.run([sys.executable, "-m", "twin.cli", *args], capture_output=True,
                          text=True)


def test_gltf_inspect_and_convert(tmp_path, gltf_validator):
    src = trimesh_glb(tmp_path)
    shown = run("gltf", "inspect", str(src))
    assert shown.returncode == 0
    assert "gltf/belt" in shown.stdout and "  gltf/drum" in shown.stdout
    out = tmp_path / "out.glb"
    conv = run("gltf", "convert", str(src), str(out))
    assert conv.returncode == 0 and "0 errors" in conv.stdout
    assert gltf_validator([out])[0].errors == 0


def test_gltf_inspect_of_a_broken_file_exits_2(tmp_path):
    bad = tmp_path / "bad.glb"
    bad.write_bytes(b"not a glb")
    r = run("gltf", "inspect", str(bad))
    assert r.returncode == 2 and "error:" in r.stderr and "bad.glb" in r.stderr


def test_run_ticks_and_stops(tmp_path):
    r = run("run", "--ticks", "3", "--import", str(trimesh_glb(tmp_path)),
            "--store", str(tmp_path / "store"))
    assert r.returncode == 0, r.stderr
    assert "2 top-level nodes, 3 nodes" in r.stderr and "stopped after 3 ticks" in r.stderr
