"""Cross-sections of the geological model along any polyline: every seam's floor and roof
with their 95 % bands, where the mapped faults cut it, as a table, a picture (PNG) and a
mesh (a vertical ribbon per seam, for the scene and the asset store)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from .exposure import Z95
from .surfaces import SeamModel

__all__ = ["section", "section_png", "section_mesh"]


def _resample(line: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``spacing`` metres along a plan polyline (its vertices kept), chainages."""
    p = np.asarray(line, float)[:, :2]
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    ch = np.r_[0.0, np.cumsum(seg)]
    s = np.unique(np.r_[np.arange(0.0, ch[-1], spacing), ch])
    return np.c_[np.interp(s, ch, p[:, 0]), np.interp(s, ch, p[:, 1])], s


def section(model: SeamModel, line, spacing: float = 5.0) -> dict:
    """``{"chainage_m", "x", "y", "seams": {seam: {floor, roof, floor_lo, floor_hi}},
    "faults": [{"fault", "seam", "chainage_m", "step_m"}]}`` — a fault listed where the
    floor of a seam crosses from one side of its plane to the other."""
    line = np.asarray(line, float)
    if line.ndim != 2 or len(line) < 2 or np.linalg.norm(np.diff(line[:, :2], axis=0),
                                                         axis=1).sum() <= 0:
        raise ValueError("a section needs a polyline of at least two distinct points")
    xy, s = _resample(line, spacing)
    x, y = xy[:, 0], xy[:, 1]
    out = {"chainage_m": s, "x": x, "y": y, "seams": {}, "faults": []}
    for seam in model.seams:
        floor, roof = model.floor(seam, x, y), model.roof(seam, x, y)
        sig = model.floor_sigma(seam, x, y)
        out["seams"][seam] = {"floor": floor, "roof": roof, "floor_lo": floor - Z95 * sig,
                              "floor_hi": floor + Z95 * sig}
        for f in model.faults:
            side = f.hanging_wall(x, y, model.restored_floor(seam, x, y))
            for i in np.flatnonzero(side[1:] != side[:-1]):
                out["faults"].append({"fault": f.name, "seam": seam,
                                      "chainage_m": round(float((s[i] + s[i + 1]) / 2), 2),
                                      "step_m": round(float(floor[i + 1] - floor[i]), 2)})
    return out


def section_png(sec: dict, path: str | Path, title: str = "") -> Path:
    """The section drawn: seams filled floor to roof, the floor's 95 % band, faults marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=110)
    s = sec["chainage_m"]
    for i, (seam, d) in enumerate(sec["seams"].items()):
        c = f"C{i}"
        ax.fill_between(s, d["floor_lo"], d["floor_hi"], color=c, alpha=0.15, lw=0)
        ax.fill_between(s, d["floor"], d["roof"], color=c, alpha=0.9, lw=0, label=seam)
    for f in sec["faults"]:
        ax.axvline(f["chainage_m"], color="red", lw=0.8, ls="--")
        ax.text(f["chainage_m"], ax.get_ylim()[1], f" {f['fault']}", color="red", va="top",
                fontsize=8)
    ax.set_xlabel("chainage along the section (m)")
    ax.set_ylabel("elevation (m)")
    ax.set_title(title or "cross-section: seams (floor to roof) and the floor's 95 % band")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def section_mesh(sec: dict) -> trimesh.Trimesh:
    """Each seam as a vertical ribbon from floor to roof along the section (double-sided in
    the viewer), all seams in one mesh."""
    x, y = sec["x"], sec["y"]
    n = len(x)
    verts, faces = [], []
    for d in sec["seams"].values():
        base = sum(len(v) for v in verts)
        verts.append(np.vstack([np.c_[x, y, d["floor"]],
                                np.c_[x, y, np.maximum(d["roof"], d["floor"] + 0.01)]]))
        i = np.arange(n - 1)
        faces.append(np.r_[np.c_[i, i + 1, i + 1 + n], np.c_[i, i + 1 + n, i + n]] + base)
    return trimesh.Trimesh(np.vstack(verts), np.vstack(faces), process=False)
