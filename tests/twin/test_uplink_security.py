"""SM4 and SM3 against the published test vectors (GB/T 32907-2016, GB/T 32905-2016), an
encrypted file decrypts to the original, keys only from the environment or a file, and the
manifest describes the set as written."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from twin.uplink_security import (SecurityError, load_key, manifest, sm3_hex, sm4_decrypt,
                                  sm4_encrypt)

KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def test_published_vectors():
    enc = Cipher(algorithms.SM4(KEY), modes.ECB()).encryptor()
    assert (enc.update(KEY) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3_hex(b"abcd" * 16) == \
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_an_encrypted_file_decrypts_to_the_original():
    data = "520522000001;黔西示范煤矿;2026-11-02 09:00:00~\n001A01;甲烷;总回风巷;0.08;%;0;2026-11-02 09:00:00~\n||".encode()
    blob = sm4_encrypt(data, KEY)
    assert blob != sm4_encrypt(data, KEY)             # a fresh IV each time
    assert len(blob) % 16 == 0 and data not in blob
    assert sm4_decrypt(blob, KEY) == data
    with pytest.raises(SecurityError):
        sm4_decrypt(blob, bytes(16))
    with pytest.raises(SecurityError, match="whole blocks"):
        sm4_decrypt(blob[:-3], KEY)


def test_keys_come_from_the_environment_or_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MINETWIN_SM4", KEY.hex())
    assert load_key("env:MINETWIN_SM4") == KEY
    (tmp_path / "k").write_text(KEY.hex() + "\n")
    assert load_key(f"file:{tmp_path / 'k'}") == KEY
    for bad, msg in (("env:NOPE_NOT_SET", "no NOPE_NOT_SET"), ("0123", "env:NAME or file:PATH"),
                     (f"file:{tmp_path / 'missing'}", "missing|No such")):
        with pytest.raises(SecurityError, match=msg):
            load_key(bad)
    (tmp_path / "short").write_text("abcd")
    with pytest.raises(SecurityError, match="32 hex digits"):
        load_key(f"file:{tmp_path / 'short'}")


def test_manifest_lists_sizes_and_digests():
    m = json.loads(manifest({"b.txt": b"abc", "a.txt": b""}, "sm3"))
    assert m["digest"] == "sm3" and [f["name"] for f in m["files"]] == ["a.txt", "b.txt"]
    assert m["files"][1] == {"name": "b.txt", "size": 3, "digest": sm3_hex(b"abc")}


def test_an_encrypted_set_with_its_manifest_from_the_command(demo_dir, tmp_path):
    from twin.uplink import split_records
    (tmp_path / "key").write_text(KEY.hex())
    r = subprocess.run([sys.executable, "-m", "twin.cli", "uplink", "export", "--mine",
                        str(demo_dir), "--out", str(tmp_path / "out"), "--once", "--seconds", "5",
                        "--encrypt-key", f"file:{tmp_path / 'key'}", "--manifest", "sm3"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    written = json.loads(r.stdout)["written"]
    assert len(written) == 8 and all(n.endswith(".sm4") for n in written[:-1])
    man = json.loads((tmp_path / "out" / written[-1]).read_bytes())
    assert [f["name"] for f in man["files"]] == sorted(written[:-1])
    for f in man["files"]:
        blob = (tmp_path / "out" / f["name"]).read_bytes()
        assert f["digest"] == sm3_hex(blob) and f["size"] == len(blob)
        assert split_records(sm4_decrypt(blob, KEY))[0][0] == "520522000001"
