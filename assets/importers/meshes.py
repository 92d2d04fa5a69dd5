"""Triangle meshes through trimesh: glTF/GLB, OBJ (+ MTL and textures beside it), PLY, STL.
A PLY without faces is a point cloud."""

from __future__ import annotations

import numpy as np
import trimesh

from .base import AssetImportError, MeshData, PointCloud, reader


@reader(".glb", ".gltf", ".obj", ".stl", ".ply")
def read_mesh(path):
    loaded = trimesh.load(path, process=False)
    if isinstance(loaded, trimesh.PointCloud):
        return PointCloud(np.asarray(loaded.vertices), path,
                          colors=_colors(loaded), meta={"format": path.suffix.lower()[1:]})
    geoms = loaded.geometry.values() if isinstance(loaded, trimesh.Scene) else [loaded]
    faces = sum(len(getattr(g, "faces", ())) for g in geoms)
    if faces == 0:
        pts = [np.asarray(g.vertices) for g in geoms if len(getattr(g, "vertices", ()))]
        if pts:
            return PointCloud(np.vstack(pts), path, meta={"format": path.suffix.lower()[1:]})
        raise AssetImportError(path, "no triangles and no points")
    return MeshData(loaded, path, {"format": path.suffix.lower()[1:], "triangles": int(faces)})


def _colors(pc):
    c = getattr(pc, "colors", None)
    return None if c is None or not len(c) else np.asarray(c)[:, :3].astype(np.uint8)
