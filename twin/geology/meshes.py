"""The geological model in the scene: closed seam volumes (floor to roof on a grid over the
model's extent, side walls closing them), mapped fault planes, and the uncertainty shell
ahead of each face and heading (floor − 95 % band to roof + 95 % band over the next 100 m).
All in the mine's local grid (z = elevation); stored as GLBs (a new asset whenever the model
changes) under ``group/geology`` with tags the viewer lists as layers.

A fault's step is drawn as the grid resolves it (a steep ramp one cell wide).
"""

from __future__ import annotations

import numpy as np
import trimesh

from .surfaces import SeamModel

__all__ = ["extent_grid", "grid_volume", "seam_volume", "model_extent", "fault_surface", "ahead_shell",
           "floor_contours",
           "GeologyScene", "SEAM_STEP_M"]

SEAM_STEP_M = 60.0          # the scene's seam grid: light enough for software-rendered viewers
SEAM_COLORS = (0x2B2B2B, 0x3D3426, 0x4A3B2A, 0x33302B)
FAULT_COLOR = (200, 60, 40)
SHELL_COLOR = (255, 190, 40)
SHELL_MOVE_M = 1.0
STRATUM_COLOR = (120, 110, 95)
CONTOUR_COLOR = (230, 230, 200)
HAZARD_COLORS = {"outburst": 0xE03A3A, "gas": 0xF08C28, "water": 0x7B68EE, "stress": 0xA050D0,
                 "fire": 0xFF5CA8, "goaf": 0x6B5B4B}          # a working's shell is redrawn once it has advanced this far


def model_extent(points_xy: np.ndarray, margin: float = 100.0) -> tuple[float, float, float, float]:
    lo, hi = points_xy.min(axis=0) - margin, points_xy.max(axis=0) + margin
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def extent_grid(extent, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Plan grid points (gx, gy), (rows, cols), about ``step`` metres apart over ``extent``
    (xmin, ymin, xmax, ymax), its edges included."""
    x0, y0, x1, y1 = extent
    xs = np.linspace(x0, x1, max(2, int(round((x1 - x0) / step)) + 1))
    ys = np.linspace(y0, y1, max(2, int(round((y1 - y0) / step)) + 1))
    return np.meshgrid(xs, ys)


def grid_volume(gx: np.ndarray, gy: np.ndarray, lower: np.ndarray,
                upper: np.ndarray) -> trimesh.Trimesh:
    """The closed volume between two surfaces sampled on one structured (rows, cols) grid of
    plan points ``gx``, ``gy`` (any quadrilateral grid: a rectangle, a strip ahead of a
    face); ``upper`` is kept at least 1 cm above ``lower`` so it never turns inside out."""
    upper = np.maximum(upper, lower + 0.01)
    ny, nx = gx.shape
    n = nx * ny
    verts = np.vstack([np.c_[gx.ravel(), gy.ravel(), lower.ravel()],
                       np.c_[gx.ravel(), gy.ravel(), upper.ravel()]])
    idx = np.arange(n).reshape(ny, nx)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, 1:].ravel(), idx[1:, :-1].ravel()
    top = np.r_[np.c_[a, b, c], np.c_[a, c, d]] + n
    bottom = np.r_[np.c_[a, c, b], np.c_[a, d, c]]
    ring = np.r_[idx[0, :], idx[1:, -1], idx[-1, -2::-1], idx[-2:0:-1, 0]]   # the boundary
    r0, r1 = ring, np.roll(ring, -1)
    sides = np.r_[np.c_[r0, r1, r1 + n], np.c_[r0, r1 + n, r0 + n]]
    mesh = trimesh.Trimesh(verts, np.vstack([top, bottom, sides]), process=False)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def seam_volume(model: SeamModel, seam: str, extent: tuple[float, float, float, float],
                step: float = 25.0) -> trimesh.Trimesh:
    """The seam between its floor and roof over ``extent`` (xmin, ymin, xmax, ymax), closed."""
    gx, gy = extent_grid(extent, step)
    floor = model.floor(seam, gx, gy)
    return grid_volume(gx, gy, floor, model.roof(seam, gx, gy))


def fault_surface(fault, model: SeamModel, extent: tuple[float, float, float, float],
                  margin: float = 20.0, thickness: float = 0.5,
                  step: float = 25.0) -> trimesh.Trimesh | None:
    """A mapped fault where it matters: a thin closed slab (``thickness`` m) in its plane,
    along its trace across the extent, from ``margin`` below the lowest seam floor to
    ``margin`` above the highest seam roof where the plane cuts them; None when the trace
    misses the extent."""
    s_ = np.radians(fault.strike_deg)
    strike = np.array([np.sin(s_), np.cos(s_), 0.0])
    right = np.array([strike[1], -strike[0], 0.0])               # dip direction in plan
    d = np.radians(fault.dip_deg)
    down = right * np.cos(d) - np.array([0, 0, 1.0]) * np.sin(d)  # down the dip, unit
    normal = np.cross(strike, down)
    normal /= np.linalg.norm(normal)
    p = np.asarray(fault.point, float)
    x0, y0, x1, y1 = extent
    half = float(np.hypot(x1 - x0, y1 - y0))
    u = np.arange(-half, half + step, step)

    def on_plane(z):                       # the plane's points at elevations z along u
        t = (p[2] - z) / np.sin(d)
        return p + u[:, None] * strike + t[:, None] * down

    def level(pick):                       # the plane where it meets a seam surface
        z = np.full(len(u), p[2])
        for _ in range(8):
            q = on_plane(z)
            z = pick(q[:, 0], q[:, 1])
        return on_plane(z)
    m = model
    bottom = level(lambda x, y: np.min([np.minimum(m.floor(k, x, y), m.restored_floor(k, x, y))
                                        for k in m.seams], axis=0) - margin)
    top = level(lambda x, y: np.max([np.maximum(m.roof(k, x, y),
                                                m.restored_floor(k, x, y) + m.thickness(k, x, y))
                                     for k in m.seams], axis=0) + margin)
    inside = ((np.minimum(bottom[:, 0], top[:, 0]) >= x0) & (np.maximum(bottom[:, 0], top[:, 0]) <= x1)
              & (np.minimum(bottom[:, 1], top[:, 1]) >= y0) & (np.maximum(bottom[:, 1], top[:, 1]) <= y1))
    if inside.sum() < 2:
        return None
    keep = np.flatnonzero(inside)
    keep = np.arange(keep[0], keep[-1] + 1)               # one stretch along the trace
    b, t = bottom[keep], top[keep]
    h = normal * thickness / 2
    ring = np.stack([b - h, b + h, t + h, t - h], axis=1)  # (n, 4, 3): a section per column
    n = len(ring)
    verts = ring.reshape(-1, 3)
    i = np.arange(n - 1)[:, None] * 4
    j = np.arange(4)[None, :]
    a0, a1 = i + j, i + (j + 1) % 4
    faces = np.concatenate([np.stack([a0, a1, a1 + 4], -1).reshape(-1, 3),
                            np.stack([a0, a1 + 4, a0 + 4], -1).reshape(-1, 3),
                            [[0, 2, 1], [0, 3, 2]],
                            [[4 * (n - 1), 4 * (n - 1) + 1, 4 * (n - 1) + 2],
                             [4 * (n - 1), 4 * (n - 1) + 2, 4 * (n - 1) + 3]]])
    slab = trimesh.Trimesh(verts, faces, process=False)
    trimesh.repair.fix_winding(slab)
    if slab.volume < 0:
        slab.invert()
    return slab


#: Contour intervals (m) to choose from, and at most how many lines a seam's map gets:
#: a 560 m relief at 10 m drew 57 lines per seam — with three seams on, a striped wash.
CONTOUR_INTERVALS = (5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0)
MAX_CONTOURS = 15


def contour_interval(relief_m: float, max_lines: int = MAX_CONTOURS) -> float:
    """The finest round interval that draws at most ``max_lines`` contours over a relief."""
    return next((i for i in CONTOUR_INTERVALS if relief_m / i <= max_lines),
                CONTOUR_INTERVALS[-1])


def floor_contours(model: SeamModel, seam: str, extent, interval: float | None = None,
                   step: float = 25.0, width: float | None = None, lift: float = 0.3):
    """The seam floor's contour lines every ``interval`` metres (default: the finest round
    interval giving at most MAX_CONTOURS lines; contourpy on a ``step`` grid), each drawn as
    a flat strip ``width`` m wide (default a tenth of the interval, at least 2 m: a solid line
    at overview distances) lying ``lift`` m above the floor, as one mesh; and the levels
    drawn. Faults show as crowded contours across the step."""
    import contourpy
    gx, gy = extent_grid(extent, step)
    z = model.floor(seam, gx, gy)
    if interval is None:
        interval = contour_interval(float(z.max() - z.min()))
    if width is None:
        width = max(2.0, interval / 10)
    gen = contourpy.contour_generator(gx, gy, z, line_type="Separate")
    levels = np.arange(np.ceil(z.min() / interval) * interval, z.max(), interval)
    verts, faces, drawn = [], [], []
    for level in levels:
        lines = [ln for ln in gen.lines(level) if len(ln) >= 2]
        if lines:
            drawn.append(float(level))
        for ln in lines:
            d = np.gradient(ln, axis=0)
            n = np.c_[-d[:, 1], d[:, 0]]
            n /= np.maximum(np.linalg.norm(n, axis=1), 1e-9)[:, None]
            zz = np.full(len(ln), level + lift)
            left = np.c_[ln + n * width / 2, zz]
            right = np.c_[ln - n * width / 2, zz]
            base = sum(len(v) for v in verts)
            k = np.arange(len(ln) - 1)
            verts.append(np.vstack([left, right]))
            m = len(ln)
            faces.append(np.r_[np.c_[k, k + m, k + 1], np.c_[k + 1, k + m, k + m + 1]] + base)
    if not verts:
        return None, []
    return trimesh.Trimesh(np.vstack(verts), np.vstack(faces), process=False), drawn


def ahead_shell(ahead: dict) -> trimesh.Trimesh:
    """The uncertainty shell of a prediction ahead (GeologyModel.ahead): from the floor's
    lower 95 % bound to the roof's upper one (floor_hi + thickness_hi)."""
    return grid_volume(ahead["x"], ahead["y"], ahead["floor_lo"],
                       ahead["floor_hi"] + ahead["thickness_hi"])


def _glb(store, mesh, color, name, meta):
    from assets import glb_from_mesh, mesh_bounds
    from scene import MeshRef
    bounds = tuple(mesh_bounds(mesh))
    asset = store.put_glb(glb_from_mesh(mesh, color, name),
                          {"units": "m", "bounds": list(bounds), **meta})
    return MeshRef(asset, (), bounds)


def _thickness(t: np.ndarray) -> dict:
    return {"thickness_mean_m": (round(float(t.mean()), 1), "m"),
            "thickness_min_m": (round(float(t.min()), 1), "m")}


def _rgb(color: int) -> tuple[int, int, int]:
    return ((color >> 16) & 255, (color >> 8) & 255, color & 255)


class GeologyScene:
    """Puts a GeologyModel into a scene and keeps it there: ``add`` makes the nodes, ``edits``
    computes what changed after an update (new meshes, new properties) without touching the
    scene — so a worker thread can do the work and the tick only applies the result."""

    def __init__(self, geo, mine, store, step: float = SEAM_STEP_M, ahead_m: float = 100.0,
                 hazards=None, hazard_step: float = 25.0):
        self.geo, self.mine, self.store, self.step = geo, mine, store, step
        self.ahead_m = ahead_m
        self.hazards, self.hazard_step = hazards, hazard_step
        self.advance: dict[str, float] = {}     # "face:<id>" / "heading:<id>" → metres
        self._drawn_at: dict[str, float] = {}   # shell key → the advance it was drawn at
        self.zones: dict[tuple, object] = {}    # (kind, seam, name) → hazard_zones.Zone
        self.zone_grid = None                   # their cells' edges (xs, ys)
        holes = geo.holes
        xy = np.vstack([holes.picks(s)["floor"][:, :2] for s in geo.model.seams])
        self.extent = model_extent(xy)

    # ---------------------------------------------------------------- what to draw

    def seam_node(self, seam: str) -> tuple[str, object, dict]:
        m = self.geo.model
        vol = seam_volume(m, seam, self.extent, self.step)
        i = m.seams.index(seam)
        ref = _glb(self.store, vol, _rgb(SEAM_COLORS[i % len(SEAM_COLORS)]), f"seam-{seam}", {
            "kind": "seam volume", "seam": seam,
            "processing": {"grid_step_m": self.step, "exposure_points": int(
                (self.geo.exposed.seam == seam).sum()),
                "method": "thin-plate RBF, faults restored; exposure correction"}})
        r = m.report()["seams"][seam]
        return f"geology/seam-{seam}", ref, {
            "seam": seam, "floor_rmse_m": (r["floor_rmse_m"], "m"),
            "thickness_rmse_m": (r["thickness_rmse_m"], "m"), "boreholes": r["boreholes"],
            "exposure_points": int((self.geo.exposed.seam == seam).sum())}

    def contour_nodes(self, seams=None) -> list[tuple[str, object, dict, dict]]:
        out = []
        for seam in self.geo.model.seams:
            if seams is not None and seam not in seams:
                continue
            mesh, levels = floor_contours(self.geo.model, seam, self.extent)
            if mesh is None:
                continue
            nid = f"geology/contours-{seam}"
            interval = float(np.diff(levels).min()) if len(levels) > 1 else 0.0
            ref = _glb(self.store, mesh, CONTOUR_COLOR, nid.replace("/", "-"),
                       {"kind": "seam floor contours", "seam": seam, "interval_m": interval})
            out.append((nid, ref, {"seam": seam, "interval_m": (interval, "m"),
                                   "lowest_m": (min(levels), "m"), "highest_m": (max(levels), "m")},
                        {"parent": "group/geology", "name": f"{seam}底板等高线",
                         "tags": ["geology", "contour", f"contour:{seam}"]}))
        return out

    def strata_nodes(self, seams=None) -> list[tuple[str, object, dict, dict]]:
        """The rock between consecutive seams (interburden), and the aquiclude between the
        lowest seam and each aquifer's top (``water.csv``) — closed volumes like the seams'."""
        m = self.geo.model
        gx, gy = extent_grid(self.extent, self.step)
        pairs = [(lo, hi, f"{lo}-{hi}", f"{lo}–{hi}煤层间岩层") for lo, hi in zip(m.seams, m.seams[1:])]
        out = []
        for lo, hi, key, name in pairs:
            if seams is not None and lo not in seams and hi not in seams:
                continue
            lower, upper = m.roof(lo, gx, gy), m.floor(hi, gx, gy)
            out.append((f"geology/stratum-{key}", grid_volume(gx, gy, lower, upper),
                        {"between": f"{lo} {hi}", **_thickness(upper - lower)}, name, key))
        if self.hazards is not None and m.seams:
            from .surfaces import fit_tps
            bottom = m.seams[0]
            for aq, a in self.hazards.aquifers.items():
                if len(a["xy"]) < 3 or (seams is not None and bottom not in seams):
                    continue
                top = fit_tps(a["xy"], a["top_z"])(gx, gy)
                floor = m.floor(bottom, gx, gy)
                out.append((f"geology/stratum-aquiclude-{aq}", grid_volume(gx, gy, top, floor),
                            {"between": f"{aq} {bottom}", "aquifer": aq,
                             **_thickness(floor - top)},
                            f"{bottom}底板隔水层({aq}顶)", f"aquiclude-{aq}"))
        nodes = []
        for nid, vol, props, name, key in out:
            ref = _glb(self.store, vol, STRATUM_COLOR, nid.replace("/", "-"),
                       {"kind": "stratum volume", "grid_step_m": self.step})
            nodes.append((nid, ref, props,
                          {"parent": "group/geology", "name": name,
                           "tags": ["geology", "stratum", f"stratum:{key}"]}))
        return nodes

    def workings(self):
        """(id, seam, line points, direction, name, advance) for each face and heading."""
        from .exposure import face_points
        out = []
        m = self.geo.model
        for f in self.mine.longwalls.values():
            if f.seam not in m.seams:
                continue
            adv = self.advance.get(f"face:{f.id}", f.advanced_m)
            a, b = f.face_line(adv)
            out.append((f"face-{f.id}", f.seam, face_points(a, b),
                        np.r_[f.advance_direction], f.name, adv))
        for h in self.mine.headings.values():
            r = self.mine.roadways[h.roadway]
            adv = min(self.advance.get(f"heading:{h.id}", h.advanced_m), r.length_m - 1.0)
            p = r.point_at(adv)
            ahead = r.point_at(min(adv + 1.0, r.length_m))
            d = ahead[:2] - p[:2]
            if np.linalg.norm(d) < 1e-9:
                continue
            d = d / np.linalg.norm(d)
            seam = min(m.seams, key=lambda s: abs(float(m.floor(s, p[0], p[1])) - p[2]))
            half = r.profile.width_m / 2
            across = np.array([-d[1], d[0]])
            line = p[:2] + np.linspace(-half, half, 3)[:, None] * across
            out.append((f"heading-{h.id}", seam, line, d, h.name, adv))
        return out

    def shell_nodes(self, seams=None) -> list[tuple[str, object, dict]]:
        """Shells of every working (``seams`` None), or of those in an updated seam or moved
        at least SHELL_MOVE_M since drawn."""
        out = []
        for key, seam, line, d, name, adv in self.workings():
            if seams is not None and seam not in seams and \
                    abs(adv - self._drawn_at.get(key, -1e9)) < SHELL_MOVE_M:
                continue
            self._drawn_at[key] = adv
            ah = self.geo.ahead(seam, line, d, self.ahead_m)
            ref = _glb(self.store, ahead_shell(ah), SHELL_COLOR, f"ahead-{key}", {
                "kind": "prediction ahead", "seam": seam, "ahead_m": self.ahead_m})
            near, far = ah["summary"][0], ah["summary"][-1]
            out.append((f"geology/ahead-{key}", ref, {
                "seam": seam, "working": name, "ahead_m": (self.ahead_m, "m"),
                "floor_z_here_m": (near["floor_z"], "m"), "floor_z_ahead_m": (far["floor_z"], "m"),
                "floor_band95_ahead_m": (far["floor_band95_m"], "m"),
                "thickness_ahead_m": (far["thickness_m"], "m"),
                "thickness_band95_ahead_m": (far["thickness_band95_m"], "m")}))
        return out

    def fault_nodes(self) -> list[tuple[str, object, dict]]:
        m = self.geo.model
        out = []
        for f in m.faults:
            slab = fault_surface(f, m, self.extent)
            if slab is None:
                continue
            ref = _glb(self.store, slab, FAULT_COLOR, f"fault-{f.name}", {
                "kind": "fault surface", "fault": f.name})
            out.append((f"geology/fault-{f.name}", ref, {
                "fault": f.name, "strike_deg": (f.strike_deg, "°"), "dip_deg": (f.dip_deg, "°"),
                "throw_m": (f.throw_m, "m")}))
        return out

    def hazard_nodes(self, seams=None) -> list[tuple[str, object, dict, dict]]:
        """(id, mesh, properties, how to add it) of every hazard zone (of ``seams``)."""
        from twin.geology.hazard_zones import (hazard_zones, zone_footprint_mesh,
                                               zone_outline_mesh)
        if self.hazards is None:
            return []
        zones, (xs, ys) = hazard_zones(self.geo, self.hazards, self.extent, self.hazard_step,
                                       seams)
        # kept for the forecasts ahead of the workings (one new dict: readers on other
        # threads see the old one or the new one, never half of it)
        kept = {k: z for k, z in self.zones.items() if seams is not None and k[1] not in seams}
        kept.update({(z.kind, z.seam, z.name): z for z in zones})
        self.zones, self.zone_grid = kept, (xs, ys)
        out = []
        for z in zones:
            # Drawn as its smooth outline on the seam (a band and a low fence), the inside
            # clear; its area as a thin fill beneath, a child the viewer shows on demand
            # (tag ``hazard-fill``): volumes of grid cells hid the mine under stair-stepped slabs.
            outline = zone_outline_mesh(z, xs, ys)
            fill = zone_footprint_mesh(z, xs, ys)
            if outline is None or fill is None:
                continue
            nid = f"hazard/{z.kind}-{z.seam}" if z.kind != "fire" else f"hazard/fire-{z.name}"
            color = _rgb(HAZARD_COLORS[z.kind])
            meta = {"kind": "hazard zone outline", "hazard": z.kind, "seam": z.seam}
            ref = _glb(self.store, outline, color, nid.replace("/", "-"), meta)
            out.append((nid, ref, z.props, {"parent": "group/hazards", "name": z.name,
                                             "opacity": 0.7,
                                             "tags": ["hazard", f"hazard:{z.kind}"]}))
            ref = _glb(self.store, fill, color, nid.replace("/", "-") + "-fill",
                       {**meta, "kind": "hazard zone area"})
            out.append((f"{nid}/fill", ref, {}, {
                "parent": nid, "name": f"{z.name}（范围）", "opacity": 0.25,
                "tags": ["hazard-fill", f"hazard:{z.kind}"]}))
        return out

    # ---------------------------------------------------------------- the scene

    def add(self, scene) -> list[str]:
        if "group/geology" not in scene:
            scene.add("group/geology", name="地质", tags=["group", "group:geology"])
        ids = []
        for seam in self.geo.model.seams:
            nid, ref, props = self.seam_node(seam)
            scene.add(nid, "group/geology", name=f"{seam}煤层",
                      tags=["geology", "seam", f"seam:{seam}"], mesh=ref, properties=props)
            ids.append(nid)
        for nid, ref, props, how in self.strata_nodes() + self.contour_nodes():
            scene.add(nid, how["parent"], name=how["name"], tags=how["tags"], mesh=ref,
                      properties=props)
            if "opacity" in how:
                scene.set_visual(nid, opacity=how["opacity"])
            ids.append(nid)
        for nid, ref, props in self.fault_nodes():
            scene.add(nid, "group/geology", name=f"断层 {props['fault']}",
                      tags=["geology", "fault"], mesh=ref, properties=props)
            ids.append(nid)
        for nid, ref, props in self.shell_nodes():
            scene.add(nid, "group/geology", name=f"{props['working']} 前方{self.ahead_m:g}m预测",
                      tags=["geology", "prediction"], mesh=ref, properties=props)
            ids.append(nid)
        if self.hazards is not None and "group/hazards" not in scene:
            scene.add("group/hazards", name="灾害区域", tags=["group", "group:hazard"])
        for nid, ref, props, how in self.hazard_nodes():
            scene.add(nid, how["parent"], name=how["name"], tags=how["tags"], mesh=ref,
                      properties=props)
            if "opacity" in how:
                scene.set_visual(nid, opacity=how["opacity"])
            ids.append(nid)
        return ids

    def edits(self, seams) -> list[tuple[str, object, dict]]:
        """New meshes and properties for the seams an update touched, and the shells that
        changed (in those seams, or moved with their working)."""
        out = [self.seam_node(s) for s in seams if s in self.geo.model.seams]
        out += self.hazard_nodes(set(seams)) if seams else []
        out += (self.strata_nodes(set(seams)) + self.contour_nodes(set(seams))) if seams else []
        return out + self.shell_nodes(set(seams))

    def fire_event_node(self, place: str, time_ms: int, number: int):
        """A fire zone where a fire event happens (``roadway:<id>@<chainage>``): 40 m of the
        roadway around it, floor to 2 m above its roof."""
        kind, _, rest = place.partition(":")
        rid, _, ch = rest.partition("@")
        r = self.mine.roadways.get(rid) if kind == "roadway" else None
        if r is None:
            return None
        at = float(ch or 0.0)
        a = r.point_at(max(at - 20.0, 0.0))
        b = r.point_at(min(at + 20.0, r.length_m))
        along = b - a
        length = float(np.linalg.norm(along))
        if length < 1e-6:
            return None
        box = trimesh.creation.box(extents=(length, r.profile.width_m + 2.0,
                                            r.profile.height_m + 2.0))
        yaw = float(np.arctan2(along[1], along[0]))
        pitch = float(np.arctan2(along[2], np.linalg.norm(along[:2])))
        box.apply_transform(trimesh.transformations.euler_matrix(0.0, -pitch, yaw, "sxyz"))
        box.apply_translation((a + b) / 2 + [0, 0, r.profile.height_m / 2])
        nid = f"hazard/fire-event-{number}"
        ref = _glb(self.store, box, _rgb(HAZARD_COLORS["fire"]), nid.replace("/", "-"),
                   {"kind": "hazard zone", "hazard": "fire", "place": place})
        return (nid, ref, {"place": place, "since_ms": int(time_ms), "reason": "fire event"},
                {"parent": "group/hazards", "name": f"火区 {r.name} {at:g} m",
                 "tags": ["hazard", "hazard:fire"]})


def apply_edits(scene, edits) -> int:
    """Put worker results into the scene: (id, mesh, properties[, how to add it]) — a node
    not there yet is added when the edit says how (parent, name, tags), else skipped."""
    n = 0
    for nid, ref, props, *how in edits:
        if nid not in scene:
            if not how or how[0] is None or how[0]["parent"] not in scene:
                continue
            h = how[0]
            scene.add(nid, h["parent"], name=h["name"], tags=h["tags"])
            if "opacity" in h:
                scene.set_visual(nid, opacity=h["opacity"])
        scene.set_mesh(nid, ref)
        for k, v in props.items():
            if isinstance(v, tuple):
                scene.set_property(nid, k, v[0], unit=v[1])
            else:
                scene.set_property(nid, k, v)
        n += 1
    return n
