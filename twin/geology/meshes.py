"""Closed seam volumes for the scene: the floor and roof surfaces sampled on a grid over the
model's extent, joined by side walls into one watertight mesh per seam (vertices in the
mine's local grid, z = elevation), so the viewer's seam layers, their transparency slider
and the section plane have something to show.

A fault's step is drawn as the grid resolves it (a steep ramp one cell wide); fault surfaces
and per-block meshes come with the rest of the geology issue.
"""

from __future__ import annotations

import numpy as np
import trimesh

from .surfaces import SeamModel

__all__ = ["seam_volume", "model_extent"]


def model_extent(points_xy: np.ndarray, margin: float = 100.0) -> tuple[float, float, float, float]:
    lo, hi = points_xy.min(axis=0) - margin, points_xy.max(axis=0) + margin
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def seam_volume(model: SeamModel, seam: str, extent: tuple[float, float, float, float],
                step: float = 25.0) -> trimesh.Trimesh:
    """The seam between its floor and roof over ``extent`` (xmin, ymin, xmax, ymax), closed."""
    x0, y0, x1, y1 = extent
    xs = np.linspace(x0, x1, max(2, int(round((x1 - x0) / step)) + 1))
    ys = np.linspace(y0, y1, max(2, int(round((y1 - y0) / step)) + 1))
    gx, gy = np.meshgrid(xs, ys)                      # (ny, nx)
    floor = model.floor(seam, gx, gy)
    roof = np.maximum(model.roof(seam, gx, gy), floor + 0.01)   # a sliver, never inverted
    ny, nx = gx.shape
    n = nx * ny
    verts = np.vstack([np.c_[gx.ravel(), gy.ravel(), floor.ravel()],
                       np.c_[gx.ravel(), gy.ravel(), roof.ravel()]])
    idx = np.arange(n).reshape(ny, nx)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, 1:].ravel(), idx[1:, :-1].ravel()
    top = np.r_[np.c_[a, b, c], np.c_[a, c, d]] + n            # roof faces up
    bottom = np.r_[np.c_[a, c, b], np.c_[a, d, c]]             # floor faces down
    ring = np.r_[idx[0, :], idx[1:, -1], idx[-1, -2::-1], idx[-2:0:-1, 0]]   # boundary, CCW
    r0, r1 = ring, np.roll(ring, -1)
    sides = np.r_[np.c_[r0, r1, r1 + n], np.c_[r0, r1 + n, r0 + n]]
    mesh = trimesh.Trimesh(verts, np.vstack([top, bottom, sides]), process=False)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


SEAM_COLORS = (0x2B2B2B, 0x3D3426, 0x4A3B2A, 0x33302B)


def add_geology_to_scene(scene, store, mine_dir, origin) -> list[str]:
    """Seam volumes of the mine's geology folder as scene nodes ``geology/seam-<name>``
    under ``group/geology`` (tags ``geology``, ``seam``, ``seam:<name>``), with their
    thickness and held-out accuracy as properties. No geology folder: nothing."""
    from pathlib import Path

    from assets.sweep import glb_from_mesh, mesh_bounds
    from scene import MeshRef

    from .boreholes import load_boreholes
    from .surfaces import build_seam_model

    folder = Path(mine_dir) / "geology"
    if not (folder / "collars.csv").exists():
        return []
    holes = load_boreholes(folder, origin)
    model = build_seam_model(holes)
    if not model.seams:
        return []
    xy = np.vstack([holes.picks(s)["floor"][:, :2] for s in model.seams])
    extent = model_extent(xy)
    report = model.report()
    if "group/geology" not in scene:
        scene.add("group/geology", name="地质", tags=["group", "group:geology"])
    ids = []
    for i, seam in enumerate(model.seams):
        vol = seam_volume(model, seam, extent)
        color = SEAM_COLORS[i % len(SEAM_COLORS)]
        rgb = ((color >> 16) & 255, (color >> 8) & 255, color & 255)
        asset = store.put_glb(glb_from_mesh(vol, rgb, f"seam-{seam}"), {
            "kind": "seam volume", "seam": seam, "units": "m", "bounds": list(mesh_bounds(vol)),
            "source": [str(folder)], "processing": {"grid_step_m": 25.0,
                                                    "method": "thin-plate RBF, faults restored"}})
        nid = f"geology/seam-{seam}"
        r = report["seams"][seam]
        scene.add(nid, "group/geology", name=f"{seam}煤层", tags=["geology", "seam", f"seam:{seam}"],
                  mesh=MeshRef(asset, (), tuple(mesh_bounds(vol))),
                  properties={"seam": seam, "floor_rmse_m": (r["floor_rmse_m"], "m"),
                              "thickness_rmse_m": (r["thickness_rmse_m"], "m"),
                              "boreholes": r["boreholes"]})
        ids.append(nid)
    return ids
