"""SM4, SM3 and SM2 against the published test vectors (GB/T 32907-2016, GB/T 32905-2016,
GM/T 0003.5-2012), an encrypted file decrypts to the original, keys only from the environment
or a file, the manifest describes the set as written and its SM2 signature verifies."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from uplink.security import (SecurityError, load_key, load_sm2_key, manifest, sm2_public,
                                  sm2_sign, sm2_verify, sm3_hex, sm4_decrypt, sm4_encrypt)

KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def test_published_vectors():
    enc = Cipher(algorithms.SM4(KEY), modes.ECB()).encryptor()
    assert (enc.update(KEY) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3_hex(b"abcd" * 16) == \
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


SM2_D = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"


def test_sm2_signature_matches_the_published_example():
    """GM/T 0003.5 example: the recommended curve, ID 1234567812345678, "message digest"."""
    pub = sm2_public(SM2_D)
    assert pub == ("09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
                   "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13")
    sig = sm2_sign(b"message digest", SM2_D,
                   k_hex="59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21")
    assert sig == ("f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3"
                   "b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa")
    fresh = sm2_sign(b"message digest", SM2_D)          # a random nonce: another signature
    assert fresh != sig and sm2_verify(b"message digest", fresh, pub)
    assert not sm2_verify(b"message digest!", fresh, pub)
    assert not sm2_verify(b"message digest", "00" * 64, pub)


def test_sm2_keys_come_from_the_environment_or_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MINETWIN_SM2", SM2_D.upper())
    assert load_sm2_key("env:MINETWIN_SM2") == SM2_D
    (tmp_path / "k").write_text("ab" * 16)
    with pytest.raises(SecurityError, match="64 hex digits"):
        load_sm2_key(f"file:{tmp_path / 'k'}")


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
    from uplink.files import split_records
    (tmp_path / "key").write_text(KEY.hex())
    r = subprocess.run([sys.executable, "-m", "minetwin.cli", "uplink", "export", "--mine",
                        str(demo_dir), "--out", str(tmp_path / "out"), "--once", "--seconds", "5",
                        "--encrypt-key", f"file:{tmp_path / 'key'}", "--manifest", "sm3",
                        "--sign-key", "env:MINETWIN_SM2"],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "MINETWIN_SM2": SM2_D})
    assert r.returncode == 0, r.stderr
    written = json.loads(r.stdout)["written"]
    assert len(written) == 11 and all(n.endswith(".sm4") for n in written[:-2])
    assert written[-1] == written[-2] + ".sig"
    body = (tmp_path / "out" / written[-2]).read_bytes()
    sig = (tmp_path / "out" / written[-1]).read_text()
    assert sm2_verify(body, sig, sm2_public(SM2_D))
    assert not sm2_verify(body.replace(b'"sm3"', b'"sha256"'), sig, sm2_public(SM2_D))
    man = json.loads(body)
    assert [f["name"] for f in man["files"]] == sorted(written[:-2])
    for f in man["files"]:
        blob = (tmp_path / "out" / f["name"]).read_bytes()
        assert f["digest"] == sm3_hex(blob) and f["size"] == len(blob)
        assert split_records(sm4_decrypt(blob, KEY))[0][0] == "520522000001"
