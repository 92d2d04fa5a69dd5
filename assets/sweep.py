"""Meshes from design data: a roadway swept along its centerline, and simple marker and
equipment shapes. Every mesh is written as a GLB (trimesh) in the frame it is given — the
scene's z-up frame, relative to its node — with a double-sided PBR material.

The full design sweep (junctions joined without gaps, UVs, LODs) and the parametric equipment
library belong to the asset-pipeline issue; this is the first, honest version of both.
"""

from __future__ import annotations

import numpy as np
import trimesh
from trimesh.visual.material import PBRMaterial

__all__ = ["sweep_profile", "glb_from_mesh", "box_glb", "marker_glb", "mesh_bounds"]


def sweep_profile(centerline: np.ndarray, outline: np.ndarray) -> trimesh.Trimesh:
    """Sweep a closed cross-section ``outline`` ((k, 2): u across, v up from the floor
    centre) along ``centerline`` ((n, 3), z up). At bends the section is mitred (scaled
    along the bisector) so the walls keep their width; ends are left open."""
    c = np.asarray(centerline, float)
    o = np.asarray(outline, float)
    n, k = len(c), len(o)
    seg = np.diff(c, axis=0)
    seg /= np.linalg.norm(seg, axis=1)[:, None]
    tangents = np.empty_like(c)
    tangents[0], tangents[-1] = seg[0], seg[-1]
    if n > 2:
        t = seg[:-1] + seg[1:]
        tangents[1:-1] = t / np.maximum(np.linalg.norm(t, axis=1), 1e-12)[:, None]
    # Horizontal "right" vector of the roadway (z up); the section stays upright.
    right = np.cross(tangents, [0.0, 0.0, 1.0])
    norm = np.linalg.norm(right, axis=1)
    right[norm < 1e-9] = [1.0, 0.0, 0.0]          # a vertical shaft: any horizontal axis
    right /= np.maximum(np.linalg.norm(right, axis=1), 1e-12)[:, None]
    miter = np.ones(n)
    if n > 2:
        h_in = seg[:-1, :2] / np.maximum(np.linalg.norm(seg[:-1, :2], axis=1), 1e-12)[:, None]
        h_out = seg[1:, :2] / np.maximum(np.linalg.norm(seg[1:, :2], axis=1), 1e-12)[:, None]
        cos_half = np.sqrt(np.clip((1 + np.einsum("ij,ij->i", h_in, h_out)) / 2, 0.05, 1))
        miter[1:-1] = 1.0 / cos_half
    up = np.array([0.0, 0.0, 1.0])
    verts = (c[:, None, :] + (o[None, :, 0] * miter[:, None])[..., None] * right[:, None, :]
             + o[None, :, 1, None] * up)
    verts = verts.reshape(-1, 3)
    i = np.arange(n - 1)[:, None]
    j = np.arange(k)[None, :]
    a = i * k + j
    b = i * k + (j + 1) % k
    faces = np.concatenate([
        np.stack([a, b + k, b], axis=-1).reshape(-1, 3),
        np.stack([a, a + k, b + k], axis=-1).reshape(-1, 3)])
    return trimesh.Trimesh(vertices=verts, faces=faces, process=False)


def glb_from_mesh(mesh: trimesh.Trimesh, color: tuple[int, int, int] = (180, 180, 180),
                  name: str = "mesh") -> bytes:
    material = PBRMaterial(name=name, baseColorFactor=[c / 255 for c in color] + [1.0],
                           metallicFactor=0.0, roughnessFactor=0.9, doubleSided=True)
    m = mesh.copy()
    m.visual = trimesh.visual.TextureVisuals(material=material)
    scene = trimesh.Scene()
    scene.add_geometry(m, geom_name=name, node_name=name)
    return scene.export(file_type="glb")


def box_glb(extents: tuple[float, float, float], color: tuple[int, int, int],
            name: str, base_at_zero: bool = True) -> bytes:
    """A box standing on its node's origin (``base_at_zero``) or centred on it."""
    box = trimesh.creation.box(extents=extents)
    if base_at_zero:
        box.apply_translation((0, 0, extents[2] / 2))
    return glb_from_mesh(box, color, name)


def marker_glb(radius: float, color: tuple[int, int, int], name: str) -> bytes:
    return glb_from_mesh(trimesh.creation.icosphere(subdivisions=2, radius=radius), color, name)


def mesh_bounds(mesh: trimesh.Trimesh) -> tuple[float, ...]:
    lo, hi = mesh.bounds
    return tuple(float(v) for v in lo) + tuple(float(v) for v in hi)
