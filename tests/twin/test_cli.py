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


def test_serve_loads_the_mine_and_ticks(tmp_path, demo_dir):
    config = tmp_path / "c.toml"
    config.write_text(f'[mine]\npath = "{demo_dir}"\n[assets]\npath = "{tmp_path / "assets"}"\n')
    r = run("serve", "--config", str(config), "--ticks", "3", "--import",
            str(trimesh_glb(tmp_path)))
    assert r.returncode == 0, r.stderr
    assert "roadways 40" in r.stderr and "stopped after 3 ticks" in r.stderr
    assert "imported" in r.stderr


def test_mine_check_and_scene_export(tmp_path, demo_dir, gltf_validator):
    ok = run("mine", "check", str(demo_dir))
    assert ok.returncode == 0 and "roadway_km" in ok.stdout
    bad = run("mine", "check", str(tmp_path))
    assert bad.returncode == 2 and "mine.toml: missing file" in bad.stderr
    config = tmp_path / "c.toml"
    config.write_text(f'[assets]\npath = "{tmp_path / "assets"}"\n')
    out = tmp_path / "mine.glb"
    r = run("scene", "export", "--mine", str(demo_dir), "--out", str(out), "--config",
            str(config))
    assert r.returncode == 0, r.stderr
    assert gltf_validator([out])[0].errors == 0


def test_demo_generate(tmp_path):
    r = run("demo", "generate", "--seed", "5", "--out", str(tmp_path / "d"))
    assert r.returncode == 0 and (tmp_path / "d" / "mine.toml").exists()
