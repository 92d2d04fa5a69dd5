"""From a mesh to store entries: georeference, LOD chain, optional compression, validation,
and one metadata record per level that says where it came from and how it was made.

The full-detail GLB is the asset; its coarser levels are assets of their own, listed in its
metadata (``lods``) in the order the scene's ``MeshRef.lods`` expects.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import trimesh

from .lod import compress_glb, lod_chain, position_bits, shrink_textures, validate_compressed
from .store import AssetStore
from .sweep import glb_from_mesh, mesh_bounds
from .validation import validate_files

__all__ = ["store_mesh", "InvalidGlbError"]


class InvalidGlbError(ValueError):
    """A GLB the pipeline wrote did not pass the Khronos validator (nothing was stored)."""


def store_mesh(store: AssetStore, mesh: trimesh.Trimesh, meta: dict, *,
               lods: tuple[float, ...] = (1.0, 0.25, 0.05), compress: bool = False,
               precision: float = 0.005, validate: bool = True, max_texture: int = 2048,
               vertex_colors: np.ndarray | None = None,
               normals: bool = False) -> tuple[str, list[str]]:
    """Stores ``mesh`` (already in the mine grid or a node's frame) with its LODs; returns
    (full-detail id, [coarser ids]). Every GLB is validated (compressed ones also decoded
    and validated); a failure raises InvalidGlbError and stores nothing. ``normals``: the
    full level keeps the mesh's own vertex normals (and UVs), e.g. a design sweep's creases."""
    chain = lod_chain(mesh, lods)
    blobs = []
    bits = position_bits(mesh, precision) or 16
    for level, m in zip(lods, chain):
        if vertex_colors is not None and level >= 1.0:
            m = m.copy()
            m.visual = trimesh.visual.ColorVisuals(m, vertex_colors=vertex_colors)
            data = m.export(file_type="glb")
        elif level >= 1.0 and getattr(m.visual, "kind", None) == "texture":
            m = m.copy()                      # the full level keeps its textures, shrunk
            shrink_textures(m, max_texture)
            data = m.export(file_type="glb")
        else:
            data = glb_from_mesh(m, normals=normals and level >= 1.0)
        if compress:
            data = compress_glb(data, position_bits=bits)
        blobs.append((level, m, data))
    if validate:
        with tempfile.TemporaryDirectory() as tmp:
            for i, (_, _, data) in enumerate(blobs):
                path = Path(tmp, f"lod{i}.glb")
                path.write_bytes(data)
                reports = validate_compressed(path, validate_files) if compress \
                    else validate_files([path])
                for r in reports:
                    if r.errors:
                        raise InvalidGlbError(f"LOD {i}: {r.errors} validator errors: "
                                                  f"{r.messages[:3]}")
    common = {"units": "m", "bounds": list(mesh_bounds(mesh)),
              "triangles_per_lod": [int(len(m.faces)) for _, m, _ in blobs],
              "compression": ({"codec": "EXT_meshopt_compression + KHR_mesh_quantization",
                               "encoder": "gltfpack", "position_bits": bits,
                               "position_step_m": float(np.max(mesh.extents)) / (2 ** bits - 1)}
                              if compress else None), **meta}
    lod_ids = [store.put_glb(data, {**common, "lod": level})
               for level, _, data in blobs[1:]]
    top = store.put_glb(blobs[0][2], {**common, "lod": blobs[0][0], "lods": lod_ids})
    return top, lod_ids
