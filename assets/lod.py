"""Levels of detail and compression for the GLBs the viewer and the wall load.

* **LODs** by quadric decimation (fast-simplification): 100 % / 25 % / 5 % of the triangles
  by default; bounds are kept (the silhouette of a roadway does not shrink).
* **Compression** with ``gltfpack`` (npm, meshoptimizer's reference encoder):
  ``KHR_mesh_quantization`` + ``EXT_meshopt_compression``, which three.js's GLTFLoader reads
  with the MeshoptDecoder the viewer installs.
* **Quantization at mine scale.** n-bit positions over a mesh's extent E have a step of
  E / (2ⁿ − 1): 14 bits are 6 mm over 100 m but 30 cm over 5 km. ``position_bits`` picks the
  fewest bits (≥ 14, ≤ 16) that keep a wanted precision, and ``tile_for_precision`` cuts a
  mesh too long for 16 bits into pieces along its longest axis that each fit.
* **Textures** are resized (≤ 2048 px by default) and opaque ones re-encoded as JPEG
  (``shrink_textures``, Pillow) before packing.
* **Validation.** The Khronos validator does not decode compressed buffers, so
  ``validate_compressed`` checks the compressed file *and* its decoded copy (gltfpack reads
  its own output back into plain float buffers).
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import trimesh

__all__ = ["lod_chain", "shrink_textures", "position_bits", "quantization_step",
           "tile_for_precision", "compress_glb", "decompress_glb", "run_gltfpack",
           "validate_compressed", "gltfpack_available", "CompressionError"]

ROOT = Path(__file__).resolve().parent.parent
GLTFPACK = ROOT / "node_modules" / ".bin" / "gltfpack"


class CompressionError(RuntimeError):
    pass


def lod_chain(mesh: trimesh.Trimesh, ratios: tuple[float, ...] = (1.0, 0.25, 0.05)
              ) -> list[trimesh.Trimesh]:
    """One mesh per ratio of the original's triangles (1.0 = the mesh itself)."""
    import fast_simplification

    out = []
    for r in ratios:
        if r >= 1.0:
            out.append(mesh)
            continue
        v, f = fast_simplification.simplify(np.asarray(mesh.vertices, np.float32),
                                            np.asarray(mesh.faces, np.int32),
                                            target_reduction=1.0 - r)
        out.append(trimesh.Trimesh(np.asarray(v, np.float64), f, process=False))
    return out


def quantization_step(extent: float, bits: int) -> float:
    return extent / (2 ** bits - 1)


def position_bits(mesh: trimesh.Trimesh, precision: float) -> int | None:
    """The fewest position bits (14…16) whose step over the mesh's largest extent is within
    ``precision`` metres, or None when even 16 bits are too coarse (tile the mesh)."""
    extent = float(np.max(mesh.extents))
    need = math.ceil(math.log2(extent / precision + 1)) if extent > 0 else 1
    return max(14, need) if need <= 16 else None


def tile_for_precision(mesh: trimesh.Trimesh, precision: float) -> list[trimesh.Trimesh]:
    """Pieces of ``mesh`` (faces split by their centre along the longest axis) that each
    quantize to ``precision`` with at most 16 bits."""
    if position_bits(mesh, precision) is not None:
        return [mesh]
    axis = int(np.argmax(mesh.extents))
    lo, hi = mesh.bounds[0][axis], mesh.bounds[1][axis]
    # A piece may stick out by a face's size past its cut: leave room for that.
    max_len = precision * (2 ** 16 - 1) * 0.9
    n = max(2, math.ceil((hi - lo) / max_len))
    centre = mesh.triangles_center[:, axis]
    cuts = np.linspace(lo, hi, n + 1)
    pieces = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        sel = (centre >= a) & (centre <= b) if b == hi else (centre >= a) & (centre < b)
        if sel.any():
            piece = mesh.submesh([np.flatnonzero(sel)], append=True)
            pieces.extend(tile_for_precision(piece, precision))
    return pieces


def gltfpack_available() -> str | None:
    """None when gltfpack can run, else why not."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not GLTFPACK.exists():
        return f"{GLTFPACK} is missing (npm ci)"
    return None


def run_gltfpack(args: list[str], data: bytes) -> bytes:
    """gltfpack with ``args`` on a GLB's bytes; the output GLB's bytes."""
    why = gltfpack_available()
    if why:
        raise CompressionError(why)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp, "in.glb"), Path(tmp, "out.glb")
        src.write_bytes(data)
        run = subprocess.run([str(GLTFPACK), "-i", str(src), "-o", str(dst), *args],
                             capture_output=True, text=True, timeout=600)
        if run.returncode != 0 or not dst.exists():
            raise CompressionError(f"gltfpack failed: {run.stderr.strip() or run.stdout.strip()}")
        return dst.read_bytes()


def compress_glb(data: bytes, *, position_bits: int = 16, level: str = "-cc") -> bytes:
    """A GLB compressed with meshopt and quantized positions (``position_bits``), names and
    materials kept (the scene refers to them). Textures pass through as they are: shrink
    them first (``shrink_textures``; gltfpack's node build cannot re-encode images)."""
    return run_gltfpack([level, "-vp", str(position_bits), "-kn", "-km"], data)


def shrink_textures(obj, max_size: int = 2048, jpeg_quality: int = 85) -> int:
    """Resizes the textures of a trimesh mesh or scene in place to at most ``max_size``
    pixels a side; opaque ones are written as JPEG (core glTF), ones with alpha stay PNG.
    Returns how many images changed."""
    from PIL import Image

    geoms = obj.geometry.values() if isinstance(obj, trimesh.Scene) else [obj]
    changed = 0
    for g in geoms:
        mat = getattr(getattr(g, "visual", None), "material", None)
        for attr in ("image", "baseColorTexture", "emissiveTexture", "normalTexture",
                     "metallicRoughnessTexture", "occlusionTexture"):
            img = getattr(mat, attr, None)
            if img is None or not hasattr(img, "size"):
                continue
            alpha = img.mode in ("RGBA", "LA") or "transparency" in img.info
            new = img.copy()
            if max(new.size) > max_size:
                new.thumbnail((max_size, max_size), Image.Resampling.LANCZOS)
            if not alpha:
                new = new.convert("RGB")
                new.format = "JPEG"          # trimesh writes an image as JPEG when it is one
                new.info["quality"] = jpeg_quality
            if new.size != img.size or not alpha:
                setattr(mat, attr, new)
                changed += 1
    return changed


def decompress_glb(data: bytes) -> bytes:
    """Plain float buffers back from a compressed GLB (for validation and comparison)."""
    return run_gltfpack(["-noq"], data)


def validate_compressed(path: Path, validate) -> list:
    """Validator reports for a compressed GLB and for its decoded copy."""
    decoded = path.with_name(path.stem + ".decoded.glb")
    decoded.write_bytes(decompress_glb(path.read_bytes()))
    return validate([path, decoded])
