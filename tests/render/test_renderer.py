"""Server-side rendering (Panda3D): offscreen pictures of the demo mine are not blank and
show the node asked for at their centre; the tiles of a 2×1 wall rendered separately match
the two halves of one picture of the whole wall; the mirror follows the scene's diffs; the
`minetwin render` command."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from render.renderer import (CameraSpec, PandaMirror, Renderer, frame_node, node_picture,
                              overview)


@pytest.fixture(scope="module")
def live_scene(demo_model, tmp_path_factory):
    from datetime import datetime

    from assets import AssetStore
    from live_bindings import DefaultBindings
    from twin.scene_build import build_scene
    from twin.sim import Simulator
    store = AssetStore(tmp_path_factory.mktemp("store"))
    scene = build_scene(demo_model, store)
    b = DefaultBindings(demo_model, scene)
    scene.commit()
    b.apply(Simulator(demo_model, seed=2, start=datetime(2026, 11, 2, 9, 0)).advance(30.0))
    scene.commit()
    return scene, store


@pytest.fixture(scope="module", params=[True, None], ids=["software", "default"])
def renderer(request, live_scene):
    """Panda3D's software renderer, and the default pipe (OpenGL via EGL where it opens)."""
    scene, store = live_scene
    r = Renderer((480, 270), software=request.param)
    mirror = PandaMirror(scene, r.render.attach_new_node("scene"), store.path)
    yield r, mirror
    r.close()


def _centroid(mask: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean())


@pytest.mark.parametrize("nid", ["equipment/shearer-11901", "sensor/002A01", "person/52052200000100006"])
def test_a_picture_framed_on_a_node_shows_it_at_the_centre(renderer, live_scene, nid):
    scene, _ = live_scene
    r, mirror = renderer
    if nid not in scene or not scene.visual(nid).visible:
        nid = next(n for n in scene if n.startswith("person/") and scene.visual(n).visible)
    r.look(frame_node(mirror, nid, margin_m=8.0))
    mirror.highlight(nid)                       # (as the snapshots draw it: never occluded)
    shown = r.picture()
    assert shown.std() > 10 and len(np.unique(shown.reshape(-1, 3), axis=0)) > 5    # not blank
    mirror.nodes[scene.handle(nid)].hide()
    hidden = r.picture()
    mirror.nodes[scene.handle(nid)].show()
    mirror.highlight(nid, False)
    diff = np.abs(shown.astype(int) - hidden.astype(int)).sum(axis=2) > 30
    assert diff.sum() > 20, "the node is not in the picture"
    x, y = _centroid(diff)
    assert abs(x - 240) < 0.1 * 480 and abs(y - 135) < 0.1 * 270, (x, y)
    px = r.project([scene.world_position(nid)])[0]
    assert abs(px[0] - 240) < 0.1 * 480 and abs(px[1] - 135) < 0.1 * 270


def test_two_tiles_of_a_2x1_wall_match_the_halves_of_the_whole(live_scene):
    scene, store = live_scene
    whole = Renderer((640, 240), software=True)
    left, right = Renderer((320, 240), software=True), Renderer((320, 240), software=True)
    for r in (whole, left, right):
        PandaMirror(scene, r.render, store.path)
    spec = frame_node(PandaMirror(scene, whole.render.attach_new_node("x"), store.path),
                      "equipment/shearer-11901", margin_m=40.0)
    whole.render.find("x").remove_node()
    whole.look(spec, (1, 1), (0, 0))
    left.look(spec, (2, 1), (0, 0))
    right.look(spec, (2, 1), (1, 0))
    w, a, b = whole.picture(), left.picture(), right.picture()
    assert w.std() > 10
    for half, tile in ((w[:, :320], a), (w[:, 320:], b)):
        d = np.abs(half.astype(int) - tile.astype(int)).max(axis=2)
        assert d.mean() < 2.0 and (d > 40).mean() < 0.01, (d.mean(), (d > 40).mean())
    # and a tile is not simply the same picture twice
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 5
    for r in (whole, left, right):
        r.close()


def test_the_mirror_follows_the_scenes_diffs(live_scene, tmp_path):
    from scene import Scene
    from scene.changes import MeshRef
    scene, store = live_scene
    s = Scene()
    asset = scene.node("sensor/002A01").mesh
    s.add("box", name="box")
    s.node("box").mesh = MeshRef(asset.asset, bounds=asset.bounds)
    s.commit()
    r = Renderer((160, 90), software=True)
    m = PandaMirror(s, r.render, store.path, labels=True)
    np_ = m.nodes[s.handle("box")]
    s.set_translation("box", (5.0, 6.0, 7.0))
    s.set_visual("box", color=0xFF0000, opacity=0.5, label="1.2% 甲烷")
    s.add("tag", parent="box", name="tag")
    m.apply(s.commit())
    assert tuple(round(v, 3) for v in np_.get_pos()) == (5.0, 6.0, 7.0)
    assert tuple(round(v, 3) for v in np_.get_color_scale()) == (1.0, 0.0, 0.0, 0.5)
    assert m.nodes[s.handle("tag")].get_parent() == np_
    (lab,) = m._labels.values()
    assert lab.node().get_text() == "1.2% 甲烷" and lab.get_parent() == np_
    m.scale_labels(r.camera)
    s.set_visual("box", label=None)
    m.apply(s.commit())
    assert m._labels == {}
    s.set_visual("box", visible=False, blink=2.0)
    m.apply(s.commit())
    assert np_.is_hidden()
    s.remove("tag")
    m.apply(s.commit())
    assert len(m.nodes) == 1 and np_.get_num_children() == 1     # only its mesh left
    assert not np_.find("label")
    r.close()


def test_overview_and_node_pictures_with_labels(renderer, live_scene):
    scene, _ = live_scene
    r, mirror = renderer
    r.look(overview(mirror))
    assert r.picture().std() > 3
    im = node_picture(r, mirror, "sensor/002A01", banner="甲烷超限 002A01")
    a = np.asarray(im)
    top = a[:10].reshape(-1, 3).mean(axis=0)
    assert top[0] > 180 and top[1] < 120                          # the red banner
    with pytest.raises(Exception, match="no node"):
        node_picture(r, mirror, "sensor/nope")
    assert isinstance(CameraSpec((0, 0, 1), (0, 0, 0)).fov, float)


def test_render_command(demo_dir, tmp_path):
    out = tmp_path / "pic.png"
    r = subprocess.run([sys.executable, "-m", "minetwin.cli", "render", "--mine", str(demo_dir),
                        "--node", "equipment/shearer-11901", "--out", str(out), "--size",
                        "400x300", "--seconds", "5", "--software"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    info = json.loads(r.stdout.strip().splitlines()[-1])
    assert info["renderer"].startswith("Panda3D software") and info["missing_assets"] == []
    from PIL import Image
    im = np.asarray(Image.open(out))
    assert im.shape == (300, 400, 3) and im.std() > 10
    bad = subprocess.run([sys.executable, "-m", "minetwin.cli", "render", "--mine", str(demo_dir),
                          "--view", "nowhere", "--out", str(tmp_path / "x.png"), "--seconds", "0"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "no view 'nowhere'" in bad.stderr


def test_asset_thumbnails_for_the_store(live_scene):
    scene, store = live_scene
    ids = [scene.node("sensor/002A01").mesh.asset, scene.node("roadway/11901-return").mesh.asset]
    r = subprocess.run([sys.executable, "-m", "minetwin.cli", "assets", "thumbnails", "--store",
                        str(store.root), *ids, "--size", "96", "--software"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1])["thumbnails"] == 2
    from PIL import Image
    for i in ids:
        im = np.asarray(Image.open(store.root / "thumbs" / f"{i}.png"))
        assert im.shape == (96, 96, 3) and im.std() > 5
    show = subprocess.run([sys.executable, "-m", "minetwin.cli", "assets", "show", "--store",
                           str(store.root), ids[0]], capture_output=True, text=True, timeout=60)
    assert json.loads(show.stdout)["thumbnail"].endswith(f"thumbs/{ids[0]}.png")
