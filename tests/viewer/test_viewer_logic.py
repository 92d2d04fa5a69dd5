"""The viewer's logic that needs no browser: node's own test runner on viewer_web/test/, and
the browser replica (viewer_web/src/replica.js + wire.js) against the Python one on the same
wire frames, from random edit histories (tests/scene/histories.py)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from scene import Scene
from scene.wire import WireEncoder
from tests.conftest import require
from tests.scene.histories import step

VIEWER = Path(__file__).resolve().parents[2] / "viewer_web"


def _node_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (VIEWER / "node_modules" / "@msgpack" / "msgpack").is_dir():
        return "viewer_web's npm packages are not installed (make setup)"
    return None


def test_node_unit_tests_pass():
    require(_node_missing(), "node with the viewer's packages")
    run = subprocess.run(["node", "--test", "test/"], cwd=VIEWER, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout


def state_json(scene: Scene) -> dict:
    """The Python scene in the shape of Replica.toJSON() (viewer_web/src/replica.js)."""
    nodes = {}
    for nid in scene:
        n = scene.node(nid)
        v = n.visual
        mesh = n.mesh
        nodes[nid] = {
            "parent": n.parent, "kids": list(n.children),
            "t": n.translation.tolist(), "r": n.rotation.tolist(), "s": n.scale.tolist(),
            "name": n.name, "tags": sorted(n.tags),
            "mesh": None if mesh is None else {"asset": mesh.asset, "lods": list(mesh.lods),
                                               "bounds": list(mesh.bounds)},
            "color": v.color, "opacity": v.opacity, "visible": v.visible,
            "emissive": v.emissive, "blink": v.blink, "label": v.label,
            "props": {k: p.value for k, p in sorted(n.properties.items())},
        }
    return {"revision": scene.revision, "roots": list(scene.children_of()), "nodes": nodes}


def _close(a, b, path="") -> None:
    """Equal, floats within float32 on the wire (transforms, opacity, blink)."""
    if isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-6, abs_tol=2e-3), f"{path}: {a} != {b}"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            _close(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: {a} != {b}"
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


@settings(max_examples=25)
@given(st.data())
def test_the_browser_replica_equals_the_python_replica_on_the_same_frames(data):
    require(_node_missing(), "node with the viewer's packages")
    scene, counter, encoder = Scene(), [0], WireEncoder()
    expected = []
    with tempfile.TemporaryDirectory() as tmp:
        frames = 0
        snapshot_at = data.draw(st.integers(0, 3), label="snapshot after commit")
        for commit in range(data.draw(st.integers(2, 8), label="commits")):
            for _ in range(data.draw(st.integers(1, 12), label="ops")):
                step(data, scene, counter)
            cs = scene.commit()
            if commit < snapshot_at:
                continue                      # the browser joins late: its first frame is a snapshot
            frame = scene.snapshot() if commit == snapshot_at else cs
            Path(tmp, f"{frames:03d}.bin").write_bytes(encoder.encode(frame))
            expected.append(state_json(scene))
            frames += 1
        run = subprocess.run(["node", str(VIEWER / "scripts" / "apply_frames.mjs"), tmp],
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-3000:]
    got = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        _close(g, e)
