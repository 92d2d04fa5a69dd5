"""What importers return, their error, and the registry they add themselves to."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

REGISTRY: dict[str, Callable] = {}


def reader(*suffixes: str):
    def register(fn):
        for s in suffixes:
            REGISTRY[s] = fn
        return fn
    return register


class AssetImportError(ValueError):
    def __init__(self, path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}")


@dataclass
class MeshData:
    """A triangle mesh (trimesh.Trimesh or a trimesh.Scene with materials and textures)."""
    mesh: object
    source: Path
    meta: dict = field(default_factory=dict)


@dataclass
class PointCloud:
    points: np.ndarray                  # (n, 3) float64
    source: Path
    colors: np.ndarray | None = None    # (n, 3) uint8
    intensity: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        pts = np.asarray(self.points, np.float64)
        if pts.ndim != 2 or pts.shape[1] != 3:
            raise AssetImportError(self.source, f"points are not (n, 3): {pts.shape}")
        if not len(pts):
            raise AssetImportError(self.source, "no points")
        if not np.isfinite(pts).all():
            raise AssetImportError(self.source, "NaN or infinite coordinates")
        self.points = pts
