"""The asset store: content-addressed files (sha256) with a JSON metadata record each.

Layout under the store's root (documented in docs/assets.md)::

    objects/ab/abcdef….glb    the bytes, named by their sha256
    meta/abcdef….json         metadata: media type, size, source, units, bounds, …

Writes go to a temporary name and are renamed into place, so a reader never sees half a file
and two processes writing the same asset agree. Assets are immutable: the same bytes always
have the same id, and the HTTP server can serve them with ``Cache-Control: immutable``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

__all__ = ["AssetStore", "AssetNotFoundError", "NotAStoreError"]

_SUFFIX = {"model/gltf-binary": ".glb"}


class AssetNotFoundError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "asset not found"


class NotAStoreError(ValueError):
    """A folder opened for reading is not an asset store (no ``objects/`` and ``meta/``)."""


class AssetStore:
    def __init__(self, root: str | Path, *, create: bool = True):
        """``create=False`` (readers: listing, showing) opens an existing store only and
        raises NotAStoreError for any other folder, creating nothing."""
        self.root = Path(root)
        if not create:
            if not ((self.root / "objects").is_dir() and (self.root / "meta").is_dir()):
                what = "does not exist" if not self.root.exists() else "is not an asset store"
                raise NotAStoreError(f"{self.root} {what} (a store has objects/ and meta/; "
                                     "`minetwin assets import` makes one)")
            return
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        (self.root / "meta").mkdir(parents=True, exist_ok=True)

    def put(self, data: bytes, *, media_type: str = "model/gltf-binary",
            meta: dict[str, Any] | None = None) -> str:
        """Store bytes; returns their asset id (sha256 hex). Storing again is a no-op for
        the bytes; the metadata record is written if it is missing."""
        asset_id = hashlib.sha256(data).hexdigest()
        path = self._object_path(asset_id, media_type)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, data)
        meta_path = self.root / "meta" / f"{asset_id}.json"
        if not meta_path.exists():
            record = {"id": asset_id, "media_type": media_type, "size": len(data),
                      **(meta or {})}
            _atomic_write(meta_path, json.dumps(record, ensure_ascii=False, indent=1,
                                                sort_keys=True).encode())
        return asset_id

    def put_glb(self, data: bytes, meta: dict[str, Any] | None = None) -> str:
        return self.put(data, media_type="model/gltf-binary", meta=meta)

    def meta(self, asset_id: str) -> dict[str, Any]:
        try:
            return json.loads((self.root / "meta" / f"{_check_id(asset_id)}.json").read_text())
        except FileNotFoundError:
            raise AssetNotFoundError(f"no asset {asset_id!r} in {self.root}") from None

    def path(self, asset_id: str) -> Path:
        return self._object_path(asset_id, self.meta(asset_id)["media_type"])

    def get(self, asset_id: str) -> bytes:
        return self.path(asset_id).read_bytes()

    def __contains__(self, asset_id: object) -> bool:
        return isinstance(asset_id, str) and \
            (self.root / "meta" / f"{asset_id}.json").exists()

    def __iter__(self) -> Iterator[str]:
        return (p.stem for p in sorted((self.root / "meta").glob("*.json")))

    def _object_path(self, asset_id: str, media_type: str) -> Path:
        _check_id(asset_id)
        return self.root / "objects" / asset_id[:2] / f"{asset_id}{_SUFFIX.get(media_type, '')}"


def _check_id(asset_id: str) -> str:
    if not (isinstance(asset_id, str) and len(asset_id) == 64
            and all(c in "0123456789abcdef" for c in asset_id)):
        raise AssetNotFoundError(f"{asset_id!r} is not an asset id (64 hex digits)")
    return asset_id


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
