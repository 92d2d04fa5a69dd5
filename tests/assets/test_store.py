"""The content-addressed asset store."""

import hashlib

import pytest

from assets import AssetNotFoundError, AssetStore


def test_put_is_content_addressed_and_idempotent(tmp_path):
    store = AssetStore(tmp_path)
    data = b"glTF fake bytes"
    a = store.put_glb(data, {"source": "scan-001.las", "units": "m"})
    assert a == hashlib.sha256(data).hexdigest()
    assert store.put_glb(data) == a
    assert store.get(a) == data
    assert store.path(a).name == f"{a}.glb"
    assert store.meta(a)["source"] == "scan-001.las" and store.meta(a)["size"] == len(data)
    assert list(store) == [a] and a in store
    assert not list(tmp_path.rglob(".tmp-*"))


def test_unknown_or_malformed_ids_are_not_found(tmp_path):
    store = AssetStore(tmp_path)
    with pytest.raises(AssetNotFoundError):
        store.get("0" * 64)
    with pytest.raises(AssetNotFoundError, match="not an asset id"):
        store.get("../../etc/passwd")
