"""E57 point clouds (pye57): every scan of the file, in the file's frame (each scan's pose
applied)."""

from __future__ import annotations

import numpy as np

from .base import AssetImportError, PointCloud, reader


@reader(".e57")
def read_e57(path):
    import pye57

    f = pye57.E57(str(path))
    pts, colors = [], []
    for i in range(f.scan_count):
        d = f.read_scan(i, ignore_missing_fields=True, colors=True)
        pts.append(np.c_[d["cartesianX"], d["cartesianY"], d["cartesianZ"]])
        if "colorRed" in d:
            colors.append(np.c_[d["colorRed"], d["colorGreen"], d["colorBlue"]].astype(np.uint8))
    if not pts:
        raise AssetImportError(path, "no scans in the file")
    return PointCloud(np.vstack(pts), path, np.vstack(colors) if len(colors) == len(pts) else None,
                      meta={"format": "e57", "scans": f.scan_count})
