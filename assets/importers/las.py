"""LAS and LAZ point clouds (laspy, with lazrs for LAZ). Scaled coordinates; RGB and
intensity when present."""

from __future__ import annotations

import numpy as np

from .base import PointCloud, reader


@reader(".las", ".laz")
def read_las(path):
    import laspy

    las = laspy.read(path)
    pts = np.c_[las.x, las.y, las.z].astype(np.float64)
    dims = set(las.point_format.dimension_names)
    colors = None
    if {"red", "green", "blue"} <= dims:
        rgb = np.c_[las.red, las.green, las.blue]
        colors = (rgb >> 8 if rgb.max() > 255 else rgb).astype(np.uint8)
    intensity = np.asarray(las.intensity) if "intensity" in dims else None
    crs = None
    try:
        crs = las.header.parse_crs()
    except Exception:  # a header without (or with an unreadable) CRS record
        pass
    return PointCloud(pts, path, colors, intensity,
                      {"format": path.suffix.lower()[1:], "las_version": str(las.header.version),
                       "crs": crs.to_string() if crs is not None else None})
