"""Plain-text point clouds: XYZ, CSV, TXT — x y z [r g b | intensity] per line, separated by
spaces, tabs, commas or semicolons; a header line is skipped."""

from __future__ import annotations

import re

import numpy as np

from .base import AssetImportError, PointCloud, reader

_SEP = re.compile(r"[\s,;]+")


@reader(".xyz", ".csv", ".txt", ".pts")
def read_xyz(path):
    rows, bad = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = _SEP.split(line)
            try:
                vals = [float(v) for v in parts]
            except ValueError:
                if not rows and n <= 2:
                    continue                      # a header
                bad.append(n)
                continue
            if len(vals) < 3:
                bad.append(n)
                continue
            rows.append(vals)
    if not rows:
        raise AssetImportError(path, "no point lines (x y z …)")
    width = min(len(r) for r in rows)
    arr = np.array([r[:width] for r in rows])
    colors = arr[:, 3:6].clip(0, 255).astype(np.uint8) if width >= 6 else None
    intensity = arr[:, 3] if width in (4, 5) else None
    return PointCloud(arr[:, :3], path, colors, intensity,
                      {"format": path.suffix.lower()[1:], "bad_lines": bad[:20],
                       "bad_line_count": len(bad)})
