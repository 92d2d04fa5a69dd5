"""The minetwin command's glTF tools, run as a user would."""

import subprocess
import sys

from tests.scene.test_gltf import trimesh_glb


def run(*args):
    return subprocess.run([sys.executable, "-m", "minetwin.cli", *args], capture_output=True,
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
    assert "roadways 57" in r.stderr and "stopped after 3 ticks" in r.stderr
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


def test_serve_prints_a_sign_in_link_once_the_server_answers(tmp_path, demo_dir):
    """The URL `make run` prints works the moment it is printed: the page loads at once (no
    retry) and its token signs in as the demo's operator."""
    import asyncio
    import json
    import queue
    import signal
    import threading
    import urllib.request
    from pathlib import Path

    from streaming.client import StreamClient

    root = Path(__file__).resolve().parents[2]
    config = tmp_path / "c.toml"
    config.write_text(f"""
[mine]
path = {json.dumps(str(demo_dir))}
[assets]
path = {json.dumps(str(tmp_path / "assets"))}
[server]
port = 0
audit_log = {json.dumps(str(tmp_path / "audit.jsonl"))}
viewer_dir = {json.dumps(str(root / "viewer_web" / "dist"))}
[alarms]
db = {json.dumps(str(tmp_path / "alarms.sqlite"))}
[history]
db = {json.dumps(str(tmp_path / "history.sqlite"))}
[recording]
enabled = false
[geology]
enabled = false
""")
    proc = subprocess.Popen([sys.executable, "-m", "minetwin.cli", "serve", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        line = lines.get(timeout=300)                 # a bound for a hung start, not a timing
        assert line.startswith("MineTwin viewer: http://127.0.0.1:"), line
        url = line.split()[2]
        assert url.endswith("/?token=minetwin-operator")
        with urllib.request.urlopen(url, timeout=30) as r:       # once: it answers already
            assert r.status == 200 and b"<html" in r.read().lower()

        async def sign_in():
            ws = url.replace("http://", "ws://").split("?")[0]
            client = StreamClient(ws, url.split("token=")[1])
            stop = asyncio.Event()
            task = asyncio.create_task(client.run(stop))
            try:
                await asyncio.wait_for(client.connected.wait(), 120)
                return client.role
            finally:
                stop.set()
                await task
        assert asyncio.run(sign_in()) == "operator"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0


def test_output_into_a_pipe_its_reader_closed_ends_quietly(tmp_path):
    """`minetwin … | head -1`: no traceback, SIGPIPE's status, as Unix tools do."""
    missing = [str(tmp_path / f"no-such-file-{i}") for i in range(3000)]   # ~600 kB of lines
    proc = subprocess.Popen([sys.executable, "-m", "minetwin.cli", "ingest", "check", *missing],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()                                  # what `head -1` does next
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert b"no-such-file-0" in first
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def _tree(*roots):
    skip = {".venv", "node_modules", ".git", "__pycache__", ".pytest_cache", ".hypothesis",
            "test-artifacts"}
    out = set()
    for root in roots:
        for p in root.rglob("*"):
            if not skip.intersection(p.relative_to(root).parts):
                out.add(p)
    return out


def test_read_only_commands_create_no_file_or_folder(tmp_path, demo_dir):
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    here = tmp_path / "cwd"
    here.mkdir()
    not_a_store = tmp_path / "not-a-store"
    not_a_store.mkdir()
    (not_a_store / "notes.txt").write_text("a folder of something else")
    commands = [
        (("config", "check"), 0),
        (("mine", "check", str(demo_dir)), 0),
        (("ingest", "check", str(tmp_path / "missing.txt")), 1),
        (("uplink", "status"), 0),
        (("assets", "list", "--store", str(not_a_store)), 2),
        (("assets", "list", "--store", str(tmp_path / "nowhere")), 2),
        (("assets", "show", "0" * 64, "--store", str(tmp_path / "nowhere")), 2),
        (("assets", "thumbnails", "--store", str(not_a_store)), 2),
    ]
    before = _tree(repo, tmp_path, demo_dir)
    for args, status in commands:
        r = subprocess.run([sys.executable, "-m", "minetwin.cli", *args], capture_output=True,
                           text=True, cwd=here)
        assert r.returncode == status, (args, r.stderr)
        if status == 2:
            assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr, r.stderr
        assert _tree(repo, tmp_path, demo_dir) == before, args
    r = subprocess.run([sys.executable, "-m", "minetwin.cli", "assets", "list", "--store",
                        str(not_a_store)], capture_output=True, text=True)
    assert r.stderr.strip() == (f"error: {not_a_store} is not an asset store (a store has "
                                "objects/ and meta/; `minetwin assets import` makes one)")
