"""Server-side rendering with Panda3D (panda3d-gltf loads the GLBs): a Panda3D scene kept in
step with a MineTwin scene (a replica or the authority itself), rendered offscreen to
pictures or on screen by the native wall client. docs/rendering.md.

- :class:`PandaMirror` — one Panda3D node per scene node: transforms, the mesh (each asset
  loaded once, instanced per node), visual state (colour tint, opacity, visibility, blink,
  emissive); built once, then updated from changesets (never rebuilt).
- :class:`Renderer` — an offscreen buffer (or a window) on hardware OpenGL where there is
  one (GLX, or EGL headless) and Panda3D's software renderer (``p3tinydisplay``) otherwise;
  a camera with an off-axis lens (one tile of a wall of ``cols × rows`` screens);
  :meth:`Renderer.picture` returns RGB pixels (numpy) — labels are drawn over them with
  Pillow in a CJK font, since Panda3D's own font has no Chinese.
- :func:`frame_node` / :func:`overview` — cameras that frame a node (and its neighbourhood)
  or the whole mine.

Panda3D is used from one thread only (the caller's); the alarm snapshots run it in a worker
process (render/snapshots.py).
"""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from scene import Changeset, Scene

__all__ = ["PandaMirror", "Renderer", "CameraSpec", "frame_node", "overview", "draw_labels",
           "hidden_by_default", "RenderError"]

log = logging.getLogger("minetwin.render")

#: Layers a rendered picture leaves out unless asked (like the wall tiles: the see-through
#: geology would cover what the picture is about).
HIDDEN_TAGS = ("seam", "contour", "stratum", "fault", "prediction", "hazard")
#: See-through shells around what is inside them, as in the browser viewer: the
#: "transparent mine" (docs/viewer.md).
SHELL_TAGS = ("roadway", "area", "face")
SHELL_OPACITY = 0.6


class RenderError(RuntimeError):
    """No graphics pipe could open an offscreen buffer, or a bad render request."""


@dataclass(frozen=True)
class CameraSpec:
    """Where the camera is (scene metres, z up), what it looks at, its vertical field of
    view in degrees."""
    position: tuple[float, float, float]
    target: tuple[float, float, float]
    fov: float = 50.0


def hidden_by_default(tags) -> bool:
    return any(t.split(":")[0] in HIDDEN_TAGS for t in tags)


def _configure(size, title: str, fullscreen: bool) -> None:
    from panda3d.core import loadPrcFileData
    loadPrcFileData("minetwin", f"""
audio-library-name null
notify-level-x11display fatal
notify-level-glxdisplay fatal
notify-level-device fatal
notify-level-display error
notify-level-egldisplay error
notify-level-express error
sync-video false
win-size {size[0]} {size[1]}
window-title {title}
fullscreen {'true' if fullscreen else 'false'}
framebuffer-multisample 0
""")


class Renderer:
    """A Panda3D graphics engine with one output (an offscreen buffer, or a window for the
    wall client) and one camera."""

    def __init__(self, size=(960, 540), *, software: bool | None = None, window: bool = False,
                 fullscreen: bool = False, title: str = "MineTwin"):
        _configure(size, title, fullscreen)
        from panda3d.core import (AmbientLight, Camera, DirectionalLight, FrameBufferProperties,
                                  GraphicsEngine, GraphicsPipe, GraphicsPipeSelection, NodePath,
                                  PerspectiveLens, Texture, WindowProperties)
        self.size = tuple(int(v) for v in size)
        self.engine = GraphicsEngine.get_global_ptr()
        sel = GraphicsPipeSelection.get_global_ptr()
        fb = FrameBufferProperties()
        fb.set_rgb_color(True)
        fb.set_color_bits(24)
        fb.set_depth_bits(24)
        wp = WindowProperties.size(*self.size)
        flags = GraphicsPipe.BF_require_window if window else GraphicsPipe.BF_refuse_window
        if window:
            candidates = [("pandagl", "glxGraphicsPipe"), ("p3tinydisplay", "TinyXGraphicsPipe")]
        else:        # EGL: the GPU's driver where there is one (Mesa's llvmpipe otherwise)
            candidates = [("p3headlessgl", "eglGraphicsPipe"), ("pandagl", "glxGraphicsPipe"),
                          ("p3tinydisplay", "TinyOffscreenGraphicsPipe")]
        if software:
            candidates = [c for c in candidates if c[0] == "p3tinydisplay"]
        elif software is False:
            candidates = [c for c in candidates if c[0] != "p3tinydisplay"]
        self.output = None
        for module, type_name in candidates:
            sel.make_module_pipe(module)              # loads the module (its pipe types)
            t = next((t for t in sel.get_pipe_types() if t.get_name() == type_name), None)
            pipe = sel.make_pipe(t) if t is not None else None
            if pipe is None or not pipe.is_valid():
                continue
            out = self.engine.make_output(pipe, "minetwin", 0, fb, wp, flags)
            if out is not None:
                self.pipe, self.output, self.module = pipe, out, type_name
                break
        if self.output is None:
            raise RenderError(f"no graphics pipe could open a {'window' if window else 'buffer'} "
                              f"(tried {', '.join(t for _, t in candidates)})")
        self.engine.render_frame()
        gsg = self.output.get_gsg()
        self.software = self.module.startswith("Tiny")
        self.driver = "Panda3D software (tinydisplay)" if self.software else \
            f"{gsg.get_driver_renderer()} ({self.module})"
        self.output.set_clear_color((0.09, 0.10, 0.12, 1.0))
        self.render = NodePath("render")
        self.lens = PerspectiveLens()
        self.lens.set_near_far(1.0, 20000.0)
        self.camera = self.render.attach_new_node(Camera("camera", self.lens))
        dr = self.output.make_display_region()
        dr.set_camera(self.camera)
        self.texture = Texture()
        if not window:
            from panda3d.core import GraphicsOutput
            self.output.add_render_texture(self.texture, GraphicsOutput.RTM_copy_ram)
        amb = self.render.attach_new_node(AmbientLight("ambient"))
        amb.node().set_color((0.45, 0.45, 0.48, 1))
        sun = self.render.attach_new_node(DirectionalLight("sun"))
        sun.node().set_color((0.75, 0.74, 0.70, 1))
        sun.set_hpr(30, -60, 0)
        self.render.set_light(amb)
        self.render.set_light(sun)
        self.render.set_two_sided(True)
        self.spec: CameraSpec | None = None
        log.info("renderer: %s, %dx%d", self.driver, *self.size)

    def look(self, spec: CameraSpec, grid=(1, 1), tile=(0, 0)) -> None:
        """Point the camera; with ``grid``/``tile``, render only that tile of one picture of
        the whole wall (an off-axis frustum: the film cut into ``cols × rows`` pieces)."""
        cols, rows = grid
        x, y = tile
        if not (0 <= x < cols and 0 <= y < rows):
            raise RenderError(f"tile {x},{y} is outside a {cols}x{rows} grid")
        self.spec = spec
        self.camera.node().set_lens(self.lens)
        w, h = self.size[0] * cols, self.size[1] * rows           # the whole wall, in pixels
        film_w, film_h = w / h, 1.0                  # the whole wall's film (height 1)
        self.lens.set_film_size(film_w, film_h)
        self.lens.set_focal_length(film_h / 2 / math.tan(math.radians(spec.fov) / 2))
        fw, fh = film_w / cols, film_h / rows        # this tile's piece of it (focal length kept)
        self.lens.set_film_size(fw, fh)
        self.lens.set_film_offset((x + 0.5) * fw - film_w / 2, film_h / 2 - (y + 0.5) * fh)
        self.camera.set_pos(*spec.position)
        up = (0, 0, 1)
        d = np.subtract(spec.target, spec.position)
        if np.linalg.norm(np.cross(d, up)) < 1e-6 * max(np.linalg.norm(d), 1e-9):
            up = (0, 1, 0)                                           # looking straight down
        self.camera.look_at(tuple(spec.target), up)

    def look_plan(self, centre_xy, width_m: float, height_m: float,
                  z_range=(-5000.0, 5000.0)) -> None:
        """Look straight down, north up, through an orthographic lens ``width_m × height_m``
        centred on ``centre_xy`` (the plan picture, render/plan.py); :meth:`look` returns to
        the perspective lens."""
        from panda3d.core import OrthographicLens, Point3, Vec3
        lens = OrthographicLens()
        lens.set_film_size(float(width_m), float(height_m))
        lo, hi = z_range
        lens.set_near_far(1.0, float(hi - lo) + 2.0)
        self.camera.node().set_lens(lens)
        self.camera.set_pos(float(centre_xy[0]), float(centre_xy[1]), float(hi) + 1.0)
        self.camera.look_at(Point3(float(centre_xy[0]), float(centre_xy[1]), float(lo)),
                            Vec3(0, 1, 0))
        self.spec = None

    def frame(self) -> None:
        self.engine.render_frame()

    def picture(self) -> np.ndarray:
        """Render one frame and return it as (height, width, 3) uint8 RGB, top row first."""
        self.engine.render_frame()
        self.engine.render_frame()          # (a buffer's texture is copied on the next frame)
        tex = self.texture
        if not tex.has_ram_image():
            raise RenderError("the offscreen buffer gave no image")
        data = np.frombuffer(bytes(tex.get_ram_image_as("RGB")), np.uint8)
        img = data.reshape(tex.get_y_size(), tex.get_x_size(), 3)
        return img[::-1].copy()

    def project(self, points) -> np.ndarray:
        """Pixel coordinates (x right, y down) of world points in this output; NaN behind
        the camera or off the film."""
        from panda3d.core import Point2, Point3
        out = np.full((len(points), 2), np.nan)
        for i, p in enumerate(np.asarray(points, float).reshape(-1, 3)):
            cam = self.camera.get_relative_point(self.render, Point3(*map(float, p)))
            p2 = Point2()
            if self.lens.project(cam, p2):
                out[i] = ((p2[0] + 1) / 2 * self.size[0], (1 - p2[1]) / 2 * self.size[1])
        return out

    def close(self) -> None:
        if self.output is not None:
            self.engine.remove_window(self.output)
            self.output = None


class PandaMirror:
    """A Panda3D node tree in step with ``scene``: one NodePath per scene node under
    ``root``. ``asset`` gives a GLB's bytes (or a path to it) by asset id."""

    def __init__(self, scene: Scene, root, asset: Callable[[str], bytes | Path | str], *,
                 hide=hidden_by_default, cache_dir: str | Path | None = None,
                 shell_opacity: float = SHELL_OPACITY, labels: bool = False):
        """``labels``: draw the nodes' text labels in the scene (billboards of a constant
        size on screen — the wall client); pictures draw theirs with Pillow instead."""
        from panda3d.core import NodePath
        self.scene, self.root, self.asset = scene, root, asset
        self.hide = hide
        self.shell_opacity = shell_opacity
        self.labels = labels
        self._labels: dict[int, NodePath] = {}
        self.nodes: dict[int, NodePath] = {}
        self._models: dict[str, NodePath] = {}
        self._mesh_np: dict[int, NodePath] = {}
        self._blink: dict[int, float] = {}
        self._cache = Path(cache_dir or tempfile.mkdtemp(prefix="minetwin-render-"))
        self.failed_assets: set[str] = set()
        self.sync()

    # ------------------------------------------------------------------ building

    def sync(self) -> None:
        """Build every node the scene has (the first time, or after a snapshot)."""
        for np_ in self.nodes.values():
            np_.remove_node()
        self.nodes.clear()
        self._labels.clear()
        self._mesh_np.clear()
        self._blink.clear()
        for nid in self._walk():
            self._add(self.scene.handle(nid))

    def _walk(self):
        stack = list(reversed(self.scene.children_of(None)))
        while stack:
            nid = stack.pop()
            yield nid
            stack.extend(reversed(self.scene.children_of(nid)))

    def _add(self, h: int) -> None:
        s = self.scene
        nid = s.id_of(h)
        parent = s.node(nid).parent
        ph = s.handle(parent) if parent else None
        pnp = self.nodes.get(ph, self.root) if ph is not None else self.root
        np_ = pnp.attach_new_node(nid)
        self.nodes[h] = np_
        self._transform(h)
        self._mesh(h)
        self._visual(h)

    def _transform(self, h: int) -> None:
        from panda3d.core import Quat
        s, np_ = self.scene, self.nodes[h]
        t, r, sc = s.translation(h), s.rotation(h), s.scale(h)
        np_.set_pos(*map(float, t))
        np_.set_quat(Quat(float(r[3]), float(r[0]), float(r[1]), float(r[2])))
        np_.set_scale(*(max(abs(float(v)), 1e-9) * (1 if v >= 0 else -1) for v in sc))

    def _model(self, asset_id: str):
        m = self._models.get(asset_id)
        if m is not None or asset_id in self.failed_assets:
            return m
        import gltf
        from panda3d.core import NodePath
        try:
            src = self.asset(asset_id)
            if isinstance(src, (bytes, bytearray)):
                path = self._cache / f"{asset_id}.glb"
                if not path.exists():
                    path.write_bytes(src)
            else:
                path = Path(src)
            node = gltf.load_model(str(path), gltf.GltfSettings(skip_axis_conversion=True))
        except Exception as exc:                      # a bad asset must not stop the picture
            log.warning("asset %s: %s: %s", asset_id, type(exc).__name__, exc)
            self.failed_assets.add(asset_id)
            return None
        m = NodePath(node)
        m.clear_shader()
        self._models[asset_id] = m
        return m

    def _mesh(self, h: int) -> None:
        old = self._mesh_np.pop(h, None)
        if old is not None:
            old.remove_node()
        ref = self.scene.node(h).mesh
        if ref is None:
            return
        model = self._model(ref.asset)
        if model is not None:
            self._mesh_np[h] = model.instance_to(self.nodes[h])

    def _visual(self, h: int) -> None:
        from panda3d.core import TransparencyAttrib
        s, np_ = self.scene, self.nodes[h]
        v = s.visual(h)
        hidden = not v.visible or self.hide(s.node(h).tags)
        if hidden:
            np_.hide()
        else:
            np_.show()
        c = v.color
        rgb = ((c >> 16) & 255) / 255, ((c >> 8) & 255) / 255, (c & 255) / 255
        if v.emissive:
            e = v.emissive
            rgb = tuple(min(1.0, a + b) for a, b in zip(rgb, (((e >> 16) & 255) / 255,
                                                               ((e >> 8) & 255) / 255,
                                                               (e & 255) / 255)))
        tags = s.node(h).tags
        opacity = float(v.opacity) * (self.shell_opacity if any(
            t.split(":")[0] in SHELL_TAGS for t in tags) else 1.0)
        np_.set_color_scale(*rgb, opacity)
        if opacity < 0.999:
            np_.set_transparency(TransparencyAttrib.M_alpha)
            np_.set_depth_write(False)
        else:
            np_.clear_transparency()
            np_.clear_depth_write()
        if v.blink > 0 and not hidden:
            self._blink[h] = float(v.blink)
        else:
            self._blink.pop(h, None)
        if self.labels:
            self._label(h, None if hidden else v.label, rgb)

    def _label(self, h: int, text: str | None, rgb) -> None:
        from panda3d.core import TextNode
        lab = self._labels.get(h)
        if not text:
            if lab is not None:
                lab.remove_node()
                del self._labels[h]
            return
        if lab is None:
            tn = TextNode("label")
            font = _panda_font()
            if font is not None:
                tn.set_font(font)
            tn.set_align(TextNode.A_center)
            tn.set_card_color(0, 0, 0, 0.6)
            tn.set_card_as_margin(0.2, 0.2, 0.1, 0.1)
            lab = self.nodes[h].attach_new_node(tn)
            lab.set_billboard_point_eye()
            lab.set_bin("fixed", 110)
            lab.set_depth_test(False)
            lab.set_depth_write(False)
            lab.set_light_off()
            lab.set_z(1.2)
            self._labels[h] = lab
        tn = lab.node()
        if tn.get_text() != text:
            tn.set_text(text)
        tn.set_text_color(*rgb, 1)

    def scale_labels(self, camera, size: float = 0.022) -> None:
        """Keep the labels the same size on screen (``size`` × the camera distance)."""
        for lab in self._labels.values():
            d = lab.get_distance(camera)
            lab.set_scale(max(d * size, 1e-3))

    # ------------------------------------------------------------------ updating

    def apply(self, cs: Changeset) -> None:
        """Bring the Panda3D tree in step with a changeset the scene has already applied."""
        if cs.kind == "snapshot":
            self.sync()
            return
        for h in cs.removed.tolist():
            self._labels.pop(int(h), None)
            np_ = self.nodes.pop(int(h), None)
            self._mesh_np.pop(int(h), None)
            self._blink.pop(int(h), None)
            if np_ is not None:
                np_.remove_node()
        added = set(int(h) for h in cs.added.tolist())
        for h in cs.added.tolist():               # parents are added before their children
            if int(h) not in self.nodes:
                self._add(int(h))
        for h in _handles(cs, ("t", "r", "s")) - added:
            if h in self.nodes:
                self._transform(h)
        for h in _handles(cs, ("parent",)):
            if h in self.nodes and h not in added:
                parent = self.scene.node(h).parent
                pnp = self.nodes.get(self.scene.handle(parent), self.root) if parent else self.root
                self.nodes[h].wrt_reparent_to(pnp)
                self._transform(h)
        for h in _handles(cs, ("mesh",)) - added:
            if h in self.nodes:
                self._mesh(h)
        for h in _handles(cs, ("color", "opacity", "visible", "emissive", "blink", "tags",
                               "label")) - added:
            if h in self.nodes:
                self._visual(h)

    def highlight(self, nid: str, on: bool = True) -> None:
        """Draw a node over everything (no depth test, last): the thing a picture is about
        is never hidden behind a support canopy or a rib."""
        np_ = self.nodes[self.scene.handle(nid)]
        if on:
            np_.set_bin("fixed", 100)
            np_.set_depth_test(False)
            np_.set_depth_write(False)
        else:
            np_.clear_bin()
            np_.clear_depth_test()
            self._visual(self.scene.handle(nid))

    def animate(self, t_s: float) -> None:
        """Blinking nodes on or off at time ``t_s`` (seconds)."""
        for h, hz in self._blink.items():
            np_ = self.nodes.get(h)
            if np_ is not None:
                if (t_s * hz) % 1.0 < 0.5:
                    np_.show()
                else:
                    np_.hide()

    def members(self, nid: str) -> list[str]:
        """The nodes a thing is drawn as: itself, or an area's roadways (an area has no
        mesh of its own: its ``roadways`` property names them)."""
        s = self.scene
        if s.node(nid).mesh is None:
            roads = s.property(nid, "roadways", None)
            if isinstance(roads, str) and roads:
                ids = [f"roadway/{r}" for r in roads.split("|") if f"roadway/{r}" in s]
                if ids:
                    return ids
        return [nid]

    def world_bounds(self, nid: str) -> tuple[np.ndarray, np.ndarray]:
        """(min, max) of a node's mesh bounds (an area's: its roadways'; or its position)
        in scene coordinates."""
        s = self.scene
        parts = self.members(nid)
        if parts != [nid]:
            b = [self.world_bounds(p) for p in parts]
            return np.min([lo for lo, _ in b], axis=0), np.max([hi for _, hi in b], axis=0)
        m = s.world_matrix(nid)
        ref = s.node(nid).mesh
        if ref is None or not any(ref.bounds):
            p = m[:3, 3]
            return p.copy(), p.copy()
        lo, hi = np.array(ref.bounds[:3]), np.array(ref.bounds[3:])
        corners = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                            for z in (lo[2], hi[2])])
        w = corners @ m.T
        return w[:, :3].min(axis=0), w[:, :3].max(axis=0)


def _handles(cs: Changeset, names) -> set[int]:
    """The nodes a changeset changes in any of the fields ``names``."""
    out: set[int] = set()
    for name in names:
        f = cs.fields.get(name)
        if f is not None:
            out.update(int(h) for h in f.handles.tolist())
    return out


def frame_node(mirror: PandaMirror, nid: str, fov: float = 50.0, margin_m: float = 25.0,
               azimuth_deg: float = 210.0, elevation_deg: float = 40.0) -> CameraSpec:
    """A camera looking at a node's centre from above and to one side, far enough back for
    its bounds plus ``margin_m`` (its neighbourhood) to fit the picture."""
    lo, hi = mirror.world_bounds(nid)
    centre = (lo + hi) / 2
    radius = max(float(np.linalg.norm(hi - lo)) / 2, 1.0) + margin_m
    dist = radius / math.sin(math.radians(fov) / 2)
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    eye = centre + dist * np.array([math.cos(el) * math.sin(az), math.cos(el) * math.cos(az),
                                    math.sin(el)])
    return CameraSpec(tuple(map(float, eye)), tuple(map(float, centre)), fov)


def overview(mirror: PandaMirror, fov: float = 50.0, tags=("roadway", "face"),
             aspect: float = 16 / 9, elevation_deg: float = 60.0) -> CameraSpec:
    """The whole mine (the bounds of its roadways and faces) from the south, 60° up, as
    close as the picture's ``aspect`` allows."""
    scene = mirror.scene
    lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
    for nid in scene:
        if any(t.split(":")[0] in tags for t in scene.node(nid).tags):
            a, b = mirror.world_bounds(nid)
            lo, hi = np.minimum(lo, a), np.maximum(hi, b)
    if not np.isfinite(lo).all():
        pts = np.asarray([scene.world_position(n) for n in scene] or [np.zeros(3)])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2
    el = math.radians(elevation_deg)
    half_w = max((hi[0] - lo[0]) / 2, 5.0)
    half_h = max((hi[1] - lo[1]) / 2 * math.sin(el) + (hi[2] - lo[2]) / 2 * math.cos(el), 5.0)
    t_v = math.tan(math.radians(fov) / 2)
    dist = 1.08 * max(half_w / (t_v * aspect), half_h / t_v) + (hi[1] - lo[1]) / 2 * math.cos(el)
    eye = centre + dist * np.array([0.0, -math.cos(el), math.sin(el)])
    return CameraSpec(tuple(map(float, eye)), tuple(map(float, centre)), fov)


#: CJK fonts, first found wins (Debian: fonts-noto-cjk; fonts-wqy-microhei).
CJK_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
             "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def cjk_font_path() -> str | None:
    return next((p for p in CJK_FONTS if Path(p).exists()), None)


_PANDA_FONT: list = []


def _panda_font():
    """Noto Sans CJK for Panda3D's text (its own font has no Chinese); None if absent."""
    if not _PANDA_FONT:
        from panda3d.core import DynamicTextFont
        path = cjk_font_path()
        font = DynamicTextFont(path) if path else None
        if font is not None and not font.is_valid():
            font = None
        _PANDA_FONT.append(font)
    return _PANDA_FONT[0]


def _font(size: int):
    from PIL import ImageFont
    path = cjk_font_path() or "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    return ImageFont.truetype(path, size) if Path(path).exists() else ImageFont.load_default()


def draw_labels(img: np.ndarray, labels: list[tuple[float, float, str, int]],
                banner: str | None = None, banner_color: int = 0xE74C3C):
    """A Pillow image of ``img`` with text labels (x, y, text, 0xRRGGBB) at pixel positions
    and an optional banner across the top."""
    from PIL import Image, ImageDraw
    im = Image.fromarray(img)
    d = ImageDraw.Draw(im)
    f = _font(max(12, im.height // 40))
    for x, y, text, color in labels:
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        rgb = ((color >> 16) & 255, (color >> 8) & 255, color & 255)
        box = d.textbbox((x + 6, y - 6), text, font=f)
        d.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(0, 0, 0))
        d.text((x + 6, y - 6), text, font=f, fill=rgb)
        d.ellipse((x - 3, y - 3, x + 3, y + 3), outline=rgb, width=2)
    if banner:
        fb = _font(max(16, im.height // 22))
        box = d.textbbox((0, 0), banner, font=fb)
        hgt = box[3] - box[1] + 16
        rgb = ((banner_color >> 16) & 255, (banner_color >> 8) & 255, banner_color & 255)
        d.rectangle((0, 0, im.width, hgt), fill=rgb)
        d.text((12, 8 - box[1]), banner, font=fb, fill=(255, 255, 255))
    return im


def _labelled(scene: Scene, nid: str) -> tuple[str, int] | None:
    """(text, colour) of a sensor's or person's label: its live label, else its name."""
    node = scene.node(nid)
    kinds = {t.split(":")[0] for t in node.tags}
    if not kinds & {"sensor", "person"}:
        return None
    v = scene.visual(nid)
    if not v.visible:
        return None
    text = node.name if not v.label else f"{nid.split('/', 1)[-1]} {v.label}" \
        if "sensor" in kinds else f"{node.name} {v.label}"
    return text, v.color


def node_picture(renderer: Renderer, mirror: PandaMirror, nid: str, banner: str | None = None,
                 margin_m: float = 25.0, max_labels: int = 12):
    """A picture framed on ``nid`` with the sensors and people near it labelled (nearest
    first) and an optional banner: a Pillow image."""
    scene = mirror.scene
    if nid not in scene:
        raise RenderError(f"no node {nid!r} in the scene")
    spec = frame_node(mirror, nid, margin_m=margin_m)
    renderer.look(spec)
    parts = mirror.members(nid)
    for p in parts:
        mirror.highlight(p)
    try:
        img = renderer.picture()
    finally:
        for p in parts:
            mirror.highlight(p, False)
    lo, hi = mirror.world_bounds(nid)
    centre = (lo + hi) / 2
    reach = float(np.linalg.norm(hi - lo)) / 2 + margin_m
    near = []
    for other in scene:
        lab = _labelled(scene, other)
        if lab is None:
            continue
        d = float(np.linalg.norm(scene.world_position(other) - centre))
        if d <= reach or other == nid:
            near.append((other != nid, d, other, lab))
    near.sort()
    near = near[:max_labels]
    xy = renderer.project([scene.world_position(n) for _, _, n, _ in near]) if near else []
    labels = [(x, y, text, color) for (x, y), (_, _, _, (text, color)) in zip(xy, near)]
    return draw_labels(img, labels[::-1], banner)        # the node's own label on top


def thumbnail(renderer: Renderer, glb: str | Path, fov: float = 35.0):
    """A picture of one GLB on its own (framed on its bounds, from the south-west, 30° up):
    the asset store's thumbnails. A Pillow image."""
    import gltf
    from panda3d.core import NodePath
    model = NodePath(gltf.load_model(str(glb), gltf.GltfSettings(skip_axis_conversion=True)))
    model.reparent_to(renderer.render)
    try:
        b = model.get_tight_bounds()
        if b is None:
            raise RenderError(f"{glb}: nothing to draw")
        lo, hi = np.array(b[0]), np.array(b[1])
        centre = (lo + hi) / 2
        radius = max(float(np.linalg.norm(hi - lo)) / 2, 1e-3)
        dist = radius / math.sin(math.radians(fov) / 2) * 1.05
        az, el = math.radians(225.0), math.radians(30.0)
        eye = centre + dist * np.array([math.cos(el) * math.sin(az), math.cos(el) * math.cos(az),
                                        math.sin(el)])
        renderer.lens.set_near_far(max(dist - radius * 2, dist / 1000), dist + radius * 2)
        renderer.look(CameraSpec(tuple(eye), tuple(centre), fov))
        img = renderer.picture()
    finally:
        model.remove_node()
        renderer.lens.set_near_far(1.0, 20000.0)
    from PIL import Image
    return Image.fromarray(img)
