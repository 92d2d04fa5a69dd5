"""The native wall client: one tile of a wall group's shared view, rendered by Panda3D from a
replica the Python streaming client keeps in step (docs/rendering.md).

The tile follows its group's camera (set by an operator's browser, by hand or by a tour —
the server relays it) through an off-axis frustum, so tiles on several display PCs compose
one picture; active alarms of level 2 and up show as a banner across the tile; with
``--risk`` the roadways take their area's risk colour (风险四色图: the area nodes'
``risk_level``, docs/risk.md) with a legend in the corner; the client reconnects by itself
(and resumes from its revision). ``--offscreen --frames N --screenshot``
renders into a buffer instead of a window (for tests and headless checks) and prints a JSON
summary.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from streaming import StreamClient
from render.renderer import CameraSpec, PandaMirror, RenderError, Renderer

__all__ = ["run_wall", "WallTile"]

log = logging.getLogger("minetwin.wall")

BANNER_COLORS = {3: (0.80, 0.12, 0.12, 0.92), 2: (0.90, 0.45, 0.05, 0.92)}
#: The risk map's four colours (blue 低风险 … red 重大风险), as the browser viewer's.
RISK_RGB = ((0x2F, 0x80, 0xED), (0xF2, 0xC9, 0x4C), (0xF2, 0x99, 0x4A), (0xEB, 0x57, 0x57))
RISK_WORDS = ("低风险", "一般风险", "较大风险", "重大风险")
#: Seconds between repaints of the roadways in their risk colours (a visual change of a
#: roadway — its own colour — would otherwise keep the colour it was given).
RISK_REPAINT_S = 2.0


class WallTile:
    """The renderer, its mirror of the client's replica, the banner overlay."""

    def __init__(self, client: StreamClient, base_url: str, group: str, grid, tile, size,
                 *, window: bool, fullscreen: bool = False, software: bool | None = None,
                 risk: bool = False):
        self.client, self.group, self.grid, self.tile = client, group, grid, tile
        self.risk = risk
        self.area_roads: dict[str, list[str]] | None = None    # from /api/plan, once
        self.risk_levels: dict[str, int] = {}
        self._risk_at = 0.0
        self.base_url = base_url
        self.renderer = Renderer(size, window=window, fullscreen=fullscreen, software=software,
                                 title=f"MineTwin wall {group} {tile[0]},{tile[1]}")
        self.mirror: PandaMirror | None = None
        self.camera: CameraSpec | None = None
        self.banner_text = ""
        self._overlay()
        self._assets: dict[str, bytes] = {}

    def _asset(self, asset_id: str) -> bytes:
        """A GLB from the server's asset endpoint (cached for the session)."""
        import urllib.request
        data = self._assets.get(asset_id)
        if data is None:
            with urllib.request.urlopen(f"{self.base_url}/assets/{asset_id}", timeout=30) as r:
                data = self._assets[asset_id] = r.read()
        return data

    def _overlay(self) -> None:
        from panda3d.core import Camera, CardMaker, NodePath, OrthographicLens, TextNode

        from render.renderer import _panda_font
        r = self.renderer
        self.overlay = NodePath("overlay")
        self.overlay.set_depth_test(False)
        self.overlay.set_depth_write(False)
        lens = OrthographicLens()
        lens.set_film_size(2, 2)
        lens.set_near_far(-10, 10)
        cam = self.overlay.attach_new_node(Camera("overlay", lens))
        dr = r.output.make_display_region()
        dr.set_sort(10)
        dr.set_camera(cam)
        cm = CardMaker("banner")
        cm.set_frame(-1, 1, 0.80, 1)
        self.card = self.overlay.attach_new_node(cm.generate())
        self.card.set_y(1)
        self.card.set_transparency(True)
        self.text = TextNode("banner")
        font = _panda_font()
        if font is not None:
            self.text.set_font(font)
        self.text.set_text_color(1, 1, 1, 1)
        tnp = self.overlay.attach_new_node(self.text)
        aspect = r.size[0] / r.size[1]
        tnp.set_scale(0.09 / aspect, 1, 0.09)
        tnp.set_pos(-0.97, 0.5, 0.865)
        self.card.hide()
        if self.risk:
            self._legend()

    def _legend(self) -> None:
        """The four colours and their names in the tile's lower left corner."""
        from panda3d.core import CardMaker, TextNode

        from render.renderer import _panda_font
        aspect = self.renderer.size[0] / self.renderer.size[1]
        font = _panda_font()
        for i, (rgb, word) in enumerate(zip(RISK_RGB, RISK_WORDS)):
            y = -0.95 + 0.09 * (3 - i)
            cm = CardMaker(f"risk-{i}")
            cm.set_frame(-0.97, -0.97 + 0.05 / aspect, y, y + 0.05)
            card = self.overlay.attach_new_node(cm.generate())
            card.set_y(1)
            card.set_color(*(c / 255 for c in rgb), 1)
            tn = TextNode(f"risk-{i}")
            if font is not None:
                tn.set_font(font)
            tn.set_text(word)
            tn.set_text_color(1, 1, 1, 1)
            tn.set_card_color(0, 0, 0, 0.55)
            tn.set_card_as_margin(0.1, 0.1, 0.05, 0.05)
            tnp = self.overlay.attach_new_node(tn)
            tnp.set_scale(0.05 / aspect, 1, 0.05)
            tnp.set_pos(-0.97 + 0.07 / aspect, 0.5, y + 0.01)

    def _paint_risk(self) -> None:
        """Each roadway in its area's risk colour (the area nodes' ``risk_level``)."""
        if self.mirror is None:
            return
        if self.area_roads is None:
            try:
                import urllib.request
                with urllib.request.urlopen(f"{self.base_url}/api/plan", timeout=10) as r:
                    plan = json.loads(r.read())
            except (OSError, ValueError) as exc:
                log.warning("wall: no plan for the risk colours: %s", exc)
                return
            self.area_roads = {a["code"]: [f"roadway/{rid}" for rid in a.get("roadways", [])]
                               for a in plan.get("areas", [])}
        scene = self.client.replica.scene
        levels = {code: int(scene.property(f"area/{code}", "risk_level") or 0)
                  if f"area/{code}" in scene else 0 for code in self.area_roads}
        now = time.monotonic()
        if levels == self.risk_levels and now - self._risk_at < RISK_REPAINT_S:
            return
        self.risk_levels, self._risk_at = levels, now
        for code, roads in self.area_roads.items():
            r, g, b = (c / 255 for c in RISK_RGB[min(3, max(0, levels[code]))])
            for nid in roads:
                if nid in scene:
                    np_ = self.mirror.nodes.get(scene.handle(nid))
                    if np_ is not None:
                        np_.set_color_scale(r, g, b, 1)

    def on_change(self, cs) -> None:
        if self.mirror is None or cs.kind == "snapshot":
            if self.mirror is not None:
                self.mirror.root.remove_node()
            root = self.renderer.render.attach_new_node("scene")
            self.mirror = PandaMirror(self.client.replica.scene, root, self._asset, labels=True)
        else:
            self.mirror.apply(cs)

    def update(self) -> None:
        cam = self.client.cameras.get(self.group)
        if cam is not None:
            spec = CameraSpec(tuple(cam.position), tuple(cam.target), cam.fov)
            if spec != self.camera:
                self.camera = spec
                self.renderer.look(spec, self.grid, self.tile)
        elif self.camera is None and self.mirror is not None:
            from render.renderer import overview
            w, h = self.renderer.size
            self.camera = overview(self.mirror, aspect=w * self.grid[0] / (h * self.grid[1]))
            self.renderer.look(self.camera, self.grid, self.tile)
        if self.mirror is not None:
            self.mirror.animate(time.monotonic())
            self.mirror.scale_labels(self.renderer.camera)
            if self.risk:
                self._paint_risk()
        active = [a for a in self.client.alarms.values()
                  if a.get("cleared_ms") is None and a.get("level", 0) >= 2]
        text = ""
        if active:
            a = max(active, key=lambda a: (a["level"], a["raised_ms"]))
            more = f"  (+{len(active) - 1})" if len(active) > 1 else ""
            # the alarm in words, as the server wrote it (safety.wording): place and what
            what = (a.get("text") or {}).get("zh") or f"{a['rule'].rsplit('/', 1)[-1]} {a['value']:g}"
            text = f"{a['level']}级  {a.get('place') or a['node']}  {what}{more}"
            self.card.set_color(*BANNER_COLORS[min(3, a["level"])])
        if text != self.banner_text:
            self.banner_text = text
            self.text.set_text(text)
            if text:
                self.card.show()
            else:
                self.card.hide()


def _alarms(base: str) -> list[dict]:
    import urllib.request
    with urllib.request.urlopen(f"{base}/api/alarms", timeout=10) as r:
        return json.loads(r.read())["alarms"]


def run_wall(server: str, group: str, grid, tile, *, token: str = "minetwin-viewer",
             size=(1920, 1080), fullscreen: bool = False, offscreen: bool = False,
             frames: int | None = None, screenshot: str | None = None,
             software: bool = False, fps: float = 30.0, risk: bool = False) -> int:
    """Run one wall tile until closed (or ``frames`` frames). Exit status 0, 2 bad input."""
    cols, rows = grid
    if not (cols >= 1 and rows >= 1 and 0 <= tile[0] < cols and 0 <= tile[1] < rows):
        print(f"error: tile {tile} is outside a {cols}x{rows} grid")
        return 2
    base = server.replace("ws://", "http://").replace("wss://", "https://").rstrip("/")
    client = StreamClient(server, token)
    try:
        wall = WallTile(client, base, group, grid, tile, size, window=not offscreen,
                        fullscreen=fullscreen, software=True if software else None, risk=risk)
    except RenderError as exc:
        print(f"error: {exc}")
        return 2
    client.on_change = wall.on_change
    summary = {"frames": 0}

    async def follow(stop: asyncio.Event) -> None:
        """Follow the group on every (re)connection."""
        while not stop.is_set():
            await client.connected.wait()
            try:
                r = await client.command("camera_follow", group=group)
                log.info("wall %s: %s", group, r.message)
                alarms = await asyncio.get_running_loop().run_in_executor(None, _alarms, base)
                for a in alarms:                   # those raised before we connected
                    client.alarms.setdefault(a["id"], a)
            except (RuntimeError, asyncio.TimeoutError, OSError, ValueError) as exc:
                log.warning("wall %s: %s", group, exc)
            while client.connected.is_set() and not stop.is_set():
                await asyncio.sleep(0.2)

    async def main() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(client.run(stop)), asyncio.create_task(follow(stop))]
        period = 1.0 / fps
        t0 = time.perf_counter()
        try:
            while not stop.is_set():
                wall.update()
                wall.renderer.frame()
                if wall.mirror is not None:              # frames of the mine, not of waiting
                    summary["frames"] += 1
                if frames is not None and summary["frames"] >= frames:
                    break
                if not offscreen and not wall.renderer.output.is_valid():
                    break                                 # the window was closed
                await asyncio.sleep(period)
        finally:
            summary["seconds"] = round(time.perf_counter() - t0, 2)
            if screenshot:
                from render.renderer import draw_labels
                draw_labels(wall.renderer.picture(), []).save(screenshot)
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    summary.update({"revision": client.revision, "renderer": wall.renderer.driver,
                    "camera": None if wall.camera is None else {
                        "position": list(wall.camera.position),
                        "target": list(wall.camera.target), "fov": wall.camera.fov},
                    "banner": wall.banner_text,
                    "risk": {k: ("blue", "yellow", "orange", "red")[v]
                             for k, v in wall.risk_levels.items()} if risk else None})
    print(json.dumps(summary, ensure_ascii=False))
    return 0
