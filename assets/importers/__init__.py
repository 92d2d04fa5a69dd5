"""Importers: one module per file format, and a registry by suffix.

``import_file(path)`` returns a :class:`MeshData` (triangles, from glTF/GLB, OBJ + MTL, PLY,
STL) or a :class:`PointCloud` (LAS/LAZ, PLY without faces, PCD, XYZ/CSV/TXT, E57). A broken
or unsupported file raises :class:`AssetImportError` naming the file and the reason.
"""

from __future__ import annotations

from pathlib import Path

from .base import AssetImportError, MeshData, PointCloud
from . import las, meshes, pcd, e57, xyz  # noqa: F401  (they register themselves)
from .base import REGISTRY

__all__ = ["import_file", "AssetImportError", "MeshData", "PointCloud", "formats"]


def formats() -> dict[str, str]:
    """Suffix → what reads it."""
    return {suffix: reader.__module__.rsplit(".", 1)[-1] for suffix, reader in REGISTRY.items()}


def import_file(path: str | Path) -> MeshData | PointCloud:
    p = Path(path)
    reader = REGISTRY.get(p.suffix.lower())
    if reader is None:
        raise AssetImportError(p, f"unsupported format {p.suffix or '(no suffix)'!r}; "
                                  f"supported: {', '.join(sorted(REGISTRY))}")
    if not p.is_file():
        raise AssetImportError(p, "no such file")
    try:
        return reader(p)
    except AssetImportError:
        raise
    except Exception as exc:  # each library fails in its own way: one clear error
        raise AssetImportError(p, f"cannot be read: {type(exc).__name__}: {exc}") from None
