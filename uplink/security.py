"""National cryptography for the uplink (`cryptography`): SM4 file encryption and an SM3 (or
SHA-256) manifest of what a set contains. Keys come from a file or the environment — never
from the repository or the configuration file itself. docs/uplink.md "Security".

Files are encrypted after our ingest has checked them in the clear: ``IV (16 bytes) ‖
SM4-CBC(PKCS#7-padded file)``, a fresh random IV per file. SM2 signatures (provinces that
require national cryptography) come from `gmssl`: SM3-with-SM2 over the manifest, the
default user ID 1234567812345678, the signature as 128 hex digits r‖s; the nonce from
``secrets``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["SecurityError", "load_key", "sm3_hex", "digest_hex", "sm4_encrypt",
           "sm4_decrypt", "manifest", "read_secret", "load_sm2_key", "sm2_public", "sm2_sign",
           "sm2_verify"]


class SecurityError(ValueError):
    """A missing or malformed key, or data that does not decrypt; says which."""


def read_secret(spec: str) -> bytes:
    """The bytes ``env:NAME`` or ``file:PATH`` names."""
    kind, _, where = spec.partition(":")
    if kind == "env":
        raw = os.environ.get(where)
        if raw is None:
            raise SecurityError(f"key {spec!r}: the environment has no {where}")
        raw = raw.encode()
    elif kind == "file":
        try:
            raw = Path(where).read_bytes()
        except OSError as exc:
            raise SecurityError(f"key {spec!r}: {exc.strerror or exc}") from None
    else:
        raise SecurityError(f"key {spec!r}: say env:NAME or file:PATH")
    return raw


def load_key(spec: str) -> bytes:
    """A 128-bit SM4 key from ``env:NAME`` or ``file:PATH`` (32 hex digits, or 16 raw bytes)."""
    raw = read_secret(spec)
    text = raw.strip()
    if len(text) == 32:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    if len(raw) == 16:
        return raw
    raise SecurityError(f"key {spec!r}: an SM4 key is 32 hex digits or 16 bytes")


def sm3_hex(data: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def digest_hex(data: bytes, algorithm: str = "sm3") -> str:
    if algorithm == "sm3":
        return sm3_hex(data)
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest()
    raise SecurityError(f"digest {algorithm!r}: sm3 or sha256")


def sm4_encrypt(data: bytes, key: bytes, iv: bytes | None = None) -> bytes:
    iv = os.urandom(16) if iv is None else iv
    padder = padding.PKCS7(128).padder()
    enc = Cipher(algorithms.SM4(key), modes.CBC(iv)).encryptor()
    return iv + enc.update(padder.update(data) + padder.finalize()) + enc.finalize()


def sm4_decrypt(blob: bytes, key: bytes) -> bytes:
    if len(blob) < 32 or len(blob) % 16:
        raise SecurityError("not an SM4-CBC file: its length is not IV + whole blocks")
    dec = Cipher(algorithms.SM4(key), modes.CBC(blob[:16])).decryptor()
    padded = dec.update(blob[16:]) + dec.finalize()
    try:
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise SecurityError("does not decrypt with this key (bad padding)") from None


def manifest(files: dict[str, bytes], algorithm: str = "sm3") -> bytes:
    """A JSON manifest: each file's name, size and digest (of the bytes as sent)."""
    return json.dumps({"digest": algorithm, "files": [
        {"name": n, "size": len(d), "digest": digest_hex(d, algorithm)}
        for n, d in sorted(files.items())]}, ensure_ascii=False, indent=1).encode("utf-8")


def load_sm2_key(spec: str) -> str:
    """An SM2 private key (64 hex digits) from ``env:NAME`` or ``file:PATH``."""
    text = read_secret(spec).strip().decode("ascii", "replace").lower()
    try:
        d = int(text, 16)
    except ValueError:
        d = 0
    if len(text) != 64 or not 0 < d < _SM2_N:
        raise SecurityError(f"key {spec!r}: an SM2 private key is 64 hex digits in [1, n-1]")
    return text


_SM2_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)


def sm2_public(private_hex: str) -> str:
    """The public key x‖y (128 hex digits) of a private key."""
    from gmssl import sm2
    return sm2.CryptSM2(private_key=private_hex, public_key="")._kg(
        int(private_hex, 16), sm2.default_ecc_table["g"])


def sm2_sign(data: bytes, private_hex: str, k_hex: str | None = None) -> str:
    """SM3-with-SM2 signature r‖s (hex) of ``data``; ``k_hex`` only for test vectors."""
    from gmssl import sm2
    c = sm2.CryptSM2(private_key=private_hex, public_key=sm2_public(private_hex))
    while True:
        k = k_hex or f"{secrets.randbelow(_SM2_N - 1) + 1:064x}"
        sig = c.sign_with_sm3(data, k)
        if sig is not None:
            return sig
        if k_hex:
            raise SecurityError("this nonce gives no signature")


def sm2_verify(data: bytes, signature_hex: str, public_hex: str) -> bool:
    from gmssl import sm2
    try:
        return bool(sm2.CryptSM2(private_key="", public_key=public_hex).verify_with_sm3(
            signature_hex, data))
    except (ValueError, TypeError):
        return False
