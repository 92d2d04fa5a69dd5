"""PCD point clouds (open3d)."""

from __future__ import annotations

import numpy as np

from .base import AssetImportError, PointCloud, reader


@reader(".pcd")
def read_pcd(path):
    import open3d as o3d

    pc = o3d.io.read_point_cloud(str(path), format="pcd")
    pts = np.asarray(pc.points)
    if not len(pts):
        raise AssetImportError(path, "no points (not a PCD file, or an empty one)")
    colors = (np.asarray(pc.colors) * 255).round().astype(np.uint8) if pc.has_colors() else None
    return PointCloud(pts, path, colors, meta={"format": "pcd"})
