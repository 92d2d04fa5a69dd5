"""Meshes from design data: a roadway swept along its centerline, and simple marker and
equipment shapes. Every mesh is written as a GLB (trimesh) in the frame it is given — the
scene's z-up frame, relative to its node — with a double-sided PBR material.

A design network is swept roadway by roadway into closed solids, and the solids are joined
by one boolean union (manifold3d): where roadways meet, each keeps only the part of its wall
outside the others, so a junction has an open mouth, no wall across it, no gap along the
seam and no coincident floors to flicker (z-fighting). The union keeps which roadway every
triangle came from, so each roadway stays its own mesh (and scene node). Every roadway mesh
carries UVs in metres — u along the roadway (chainage), v around the section from the left
floor corner — for tiling rock, shotcrete or mesh textures, and normals that are smooth
over arches but sharp at the corners.
"""

from __future__ import annotations

from collections.abc import Mapping

import manifold3d
import numpy as np
import trimesh
from trimesh.visual.material import PBRMaterial

from assets.scan_sections import project_on_polyline

__all__ = ["sweep_profile", "roadway_solid", "join_roadways", "design_sweep", "roadway_uv",
           "mesh_boolean",
           "glb_from_mesh", "box_glb", "marker_glb", "mesh_bounds", "SweepError"]

CREASE_DEG = 30.0       # sharper edges than this keep separate normals either side


class SweepError(ValueError):
    """A design roadway that cannot be swept into a solid (too short, bad profile)."""


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


def roadway_solid(centerline: np.ndarray, outline: np.ndarray) -> trimesh.Trimesh:
    """The swept roadway closed at both ends (a fan over the convex section): a watertight
    solid with outward normals, ready for booleans."""
    c = np.asarray(centerline, float)
    o = np.asarray(outline, float)
    if len(c) < 2 or np.linalg.norm(c[-1] - c[0]) < 1e-6:
        raise SweepError("a roadway centerline needs two distinct points")
    if len(o) < 3:
        raise SweepError("a section outline needs at least three points")
    tube = sweep_profile(c, o)
    k, last = len(o), (len(c) - 1) * len(o)
    j = np.arange(1, k - 1)
    start = np.c_[np.zeros_like(j), j, j + 1]
    end = np.c_[np.full_like(j, last), last + j + 1, last + j]
    solid = trimesh.Trimesh(tube.vertices, np.vstack([tube.faces, start, end]), process=False)
    if solid.volume < 0:
        solid.invert()
    return solid


def join_roadways(roadways: Mapping[str, tuple[np.ndarray, np.ndarray]]
                  ) -> dict[str, trimesh.Trimesh]:
    """Join a network: ``{id: (centerline, outline)}`` → ``{id: its share of the union's
    surface}``, in the centerlines' frame, with UVs (see :func:`roadway_uv`) and creased
    normals. The shares meet edge to edge along every junction: together they are one
    watertight surface. A roadway wholly inside others gets an empty mesh."""
    ids = list(roadways)
    solids, owner = [], {}
    for rid in ids:
        try:
            m = _manifold(roadway_solid(*roadways[rid]))
        except SweepError as exc:
            raise SweepError(f"roadway {rid}: {exc}") from None
        owner[m.original_id()] = rid
        solids.append(m)
    union = manifold3d.Manifold.batch_boolean(solids, manifold3d.OpType.Add)
    if union.status() != manifold3d.Error.NoError:
        raise SweepError(f"the roadway union failed ({union.status()})")
    out = union.to_mesh64()
    verts = np.asarray(out.vert_properties)[:, :3].astype(float)
    tris = np.asarray(out.tri_verts, np.int64)
    runs = np.asarray(out.run_index, np.int64) // 3
    parts: dict[str, list[np.ndarray]] = {rid: [] for rid in ids}
    for r, oid in enumerate(np.asarray(out.run_original_id)):
        parts[owner[int(oid)]].append(tris[runs[r]:runs[r + 1]])
    result = {}
    for rid in ids:
        faces = np.vstack(parts[rid]) if parts[rid] else np.zeros((0, 3), np.int64)
        part = trimesh.Trimesh(verts, faces, process=False)
        part.remove_unreferenced_vertices()
        result[rid] = _creased(roadway_uv(part, *roadways[rid])) if len(faces) else part
    return result


def _manifold(mesh: trimesh.Trimesh) -> "manifold3d.Manifold":
    m = manifold3d.Manifold(manifold3d.Mesh64(
        vert_properties=np.ascontiguousarray(mesh.vertices, np.float64),
        tri_verts=np.ascontiguousarray(mesh.faces, np.uint32))).as_original()
    if m.status() != manifold3d.Error.NoError:
        raise SweepError(f"the solid is not closed ({m.status()})")
    return m


def mesh_boolean(a: trimesh.Trimesh, b: trimesh.Trimesh, op: str = "intersect"
                 ) -> trimesh.Trimesh:
    """``a`` ∩ / ∪ / − ``b`` of two closed meshes (manifold3d): op "intersect", "union" or
    "difference"; the result is closed (possibly empty)."""
    kind = {"intersect": manifold3d.OpType.Intersect, "union": manifold3d.OpType.Add,
            "difference": manifold3d.OpType.Subtract}[op]
    out = manifold3d.Manifold.batch_boolean([_manifold(a), _manifold(b)], kind).to_mesh64()
    return trimesh.Trimesh(np.asarray(out.vert_properties)[:, :3].astype(float),
                           np.asarray(out.tri_verts, np.int64), process=False)


def design_sweep(centerline: np.ndarray, outline: np.ndarray) -> trimesh.Trimesh:
    """One roadway from design: the closed solid's surface with UVs and creased normals."""
    return join_roadways({"roadway": (centerline, outline)})["roadway"]


def roadway_uv(mesh: trimesh.Trimesh, centerline: np.ndarray,
               outline: np.ndarray) -> trimesh.Trimesh:
    """UVs in metres: u = chainage of the nearest centerline point, v = distance around the
    section outline from its first point (the left floor corner) to the nearest outline
    point. Triangles across the wrap-around get their own copies of the vertices there, so
    no texture smears across the seam."""
    c = np.asarray(centerline, float)
    o = np.asarray(outline, float)
    p = mesh.vertices
    near, ch = project_on_polyline(p, c)
    seg = np.clip(np.searchsorted(np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(c, axis=0),
                                                                      axis=1))], ch) - 1,
                  0, len(c) - 2)
    t = c[seg + 1] - c[seg]
    right = np.cross(t, [0.0, 0.0, 1.0])
    n = np.linalg.norm(right, axis=1)
    right = np.where(n[:, None] > 1e-9, right / np.maximum(n, 1e-12)[:, None], [1.0, 0, 0])
    d = p - near
    local = np.c_[np.einsum("ij,ij->i", d, right), d[:, 2]]
    a, b = o, np.roll(o, -1, axis=0)
    ab = b - a
    edge = np.linalg.norm(ab, axis=1)
    start = np.r_[0.0, np.cumsum(edge)][:-1]
    perimeter = float(edge.sum())
    best = np.full(len(p), np.inf)
    v = np.zeros(len(p))
    for e in range(len(o)):
        s = np.clip(((local - a[e]) @ ab[e]) / max(edge[e] ** 2, 1e-12), 0, 1)
        dist = np.linalg.norm(local - (a[e] + s[:, None] * ab[e]), axis=1)
        m = dist < best
        best[m], v[m] = dist[m], start[e] + s[m] * edge[e]
    uv = np.c_[ch, v]
    faces = mesh.faces.copy()
    fv = v[faces]
    wraps = fv.max(axis=1) - fv.min(axis=1) > perimeter / 2
    verts = mesh.vertices
    if wraps.any():
        low = wraps[:, None] & (fv < perimeter / 2)
        old = np.unique(faces[low])
        new = np.arange(len(verts), len(verts) + len(old))
        remap = dict(zip(old.tolist(), new.tolist()))
        faces[low] = [remap[i] for i in faces[low].tolist()]
        verts = np.vstack([verts, verts[old]])
        uv = np.vstack([uv, uv[old] + [0.0, perimeter]])
    out = trimesh.Trimesh(verts, faces, process=False)
    out.visual = trimesh.visual.TextureVisuals(uv=uv)
    return out


def _creased(mesh: trimesh.Trimesh, angle_deg: float = CREASE_DEG) -> trimesh.Trimesh:
    """Split vertices along edges sharper than ``angle_deg`` so the exported normals are
    smooth over curved walls and sharp at corners; UVs travel with the vertices."""
    faces, uv = mesh.faces, mesh.visual.uv
    fn = mesh.face_normals
    corner_v = faces.reshape(-1)
    corner_f = np.repeat(np.arange(len(faces)), 3)
    # Pair every corner with every face around the same vertex (few per vertex).
    order = np.argsort(corner_v, kind="stable")
    sv = corner_v[order]
    bounds = np.r_[0, np.flatnonzero(np.diff(sv)) + 1, len(sv)]
    counts = np.diff(bounds)
    reps = np.repeat(counts, counts)
    first = np.repeat(bounds[:-1], counts ** 2)
    within = np.arange(len(first)) - np.repeat(np.cumsum(counts ** 2) - counts ** 2, counts ** 2)
    ci = order[first + within // np.repeat(reps, reps)]
    gi = order[first + within % np.repeat(reps, reps)]
    fi, gf = corner_f[ci], corner_f[gi]
    ok = np.einsum("ij,ij->i", fn[fi], fn[gf]) >= np.cos(np.radians(angle_deg))
    # Angle-weighted: independent of how the quads happen to be split into triangles.
    weight = mesh.face_angles.reshape(-1)
    normals = np.zeros((len(corner_v), 3))
    np.add.at(normals, ci[ok], fn[gf[ok]] * weight[gi[ok], None])
    normals /= np.maximum(np.linalg.norm(normals, axis=1), 1e-12)[:, None]
    # One output vertex per distinct (vertex, normal) pair.
    key = np.c_[corner_v, np.round(normals * 1e4)]
    _, first_of, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    out = trimesh.Trimesh(mesh.vertices[corner_v[first_of]], inverse.reshape(-1, 3),
                          vertex_normals=normals[first_of], process=False)
    out.visual = trimesh.visual.TextureVisuals(uv=uv[corner_v[first_of]])
    return out


def glb_from_mesh(mesh: trimesh.Trimesh, color: tuple[int, int, int] = (180, 180, 180),
                  name: str = "mesh", normals: bool = False) -> bytes:
    """A GLB of ``mesh`` with one double-sided PBR material; its UVs when it has them, and
    its vertex normals with ``normals`` (meshes from :func:`join_roadways` carry creased ones;
    without, viewers shade faces flat)."""
    material = PBRMaterial(name=name, baseColorFactor=[c / 255 for c in color] + [1.0],
                           metallicFactor=0.0, roughnessFactor=0.9, doubleSided=True)
    m = mesh.copy()
    uv = getattr(mesh.visual, "uv", None)
    m.visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    scene = trimesh.Scene()
    scene.add_geometry(m, geom_name=name, node_name=name)
    return scene.export(file_type="glb", include_normals=normals)


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
