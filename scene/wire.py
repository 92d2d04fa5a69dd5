"""The wire form of snapshots and changesets: versioned, compact msgpack (docs/scene-wire.md).

Pure: bytes in, changesets out, and back; no I/O. Compactness comes from three choices:

* **handles, not ids** — ids travel once, when a node is added (a snapshot adds every node);
  handle lists are ascending, so they travel as LEB128 varints of their deltas (one byte per
  handle for a dense run);
* **columns, not records** — one field's values for all its nodes are one little-endian binary
  block (``<f4``, ``<f8``, ``<u4`` …), no per-value tags;
* **float32 transforms** — scene coordinates are relative to the mine's local origin, so
  float32 is exact to a millimetre within ~16 km. ``precision=8`` sends float64 instead.

A decoder is stateful only in what it must be: the property schema it has learned from the
snapshot and diffs so far (so it knows each property's kind), and the limits it enforces.
"""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np

from .changes import (CORE_FIELDS, PROPERTY_PREFIX, Changeset, FieldChange, MeshRef,
                      PropertyType, objarray)
from .errors import WireError

__all__ = ["WIRE_VERSION", "WireEncoder", "WireDecoder", "encode_varints", "decode_varints"]

WIRE_VERSION = 1

_TRANSFORM = {"t": 3, "r": 4, "s": 3}
_BINARY = {"color": "<u4", "emissive": "<u4", "opacity": "<f4", "blink": "<f4",
           "visible": "u1"}
_PROP_BINARY = {"float": "<f8", "int": "<i8", "bool": "u1"}


# --------------------------------------------------------------------- varints

def encode_varints(values: np.ndarray) -> bytes:
    """Unsigned LEB128 of each value (vectorised)."""
    v = np.asarray(values, dtype=np.uint64)
    if not len(v):
        return b""
    nbytes = np.ones(len(v), dtype=np.int64)
    rest = v >> np.uint64(7)
    while rest.any():
        nbytes += rest > 0
        rest >>= np.uint64(7)
    out = np.empty(int(nbytes.sum()), dtype=np.uint8)
    starts = np.concatenate(([0], np.cumsum(nbytes)[:-1]))
    for k in range(int(nbytes.max())):
        m = nbytes > k
        byte = ((v[m] >> np.uint64(7 * k)) & np.uint64(0x7F)).astype(np.uint8)
        byte |= np.where(nbytes[m] - 1 > k, 0x80, 0).astype(np.uint8)
        out[starts[m] + k] = byte
    return out.tobytes()


def decode_varints(data: bytes) -> np.ndarray:
    """Inverse of :func:`encode_varints`; raises WireError on truncated or oversized input."""
    b = np.frombuffer(data, dtype=np.uint8)
    if not len(b):
        return np.zeros(0, dtype=np.int64)
    if b[-1] & 0x80:
        raise WireError("truncated varint")
    ends = np.flatnonzero(b < 0x80)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    if lengths.max() > 9:
        raise WireError("varint longer than 63 bits")
    group = np.repeat(np.arange(len(ends)), lengths)
    shift = ((np.arange(len(b)) - starts[group]) * 7).astype(np.uint64)
    vals = (b & 0x7F).astype(np.uint64) << shift
    return np.add.reduceat(vals, starts).astype(np.int64)


def _encode_handles(h: np.ndarray) -> bytes:
    h = np.asarray(h, dtype=np.int64)
    if len(h) > 1 and not (np.diff(h) > 0).all():
        raise ValueError("handle lists on the wire are strictly ascending")
    return encode_varints(np.diff(h, prepend=0))


def _decode_handles(data: Any, what: str) -> np.ndarray:
    if not isinstance(data, bytes):
        raise WireError(f"{what}: expected a binary handle list")
    return np.cumsum(decode_varints(data))


# --------------------------------------------------------------------- encoder

class WireEncoder:
    """Changeset → bytes. ``precision`` is 4 (float32 transforms, default) or 8."""

    def __init__(self, precision: int = 4):
        if precision not in (4, 8):
            raise ValueError("precision is 4 (float32) or 8 (float64)")
        self.precision = precision
        self._packer = msgpack.Packer(use_bin_type=True)

    def encode(self, cs: Changeset) -> bytes:
        frame: dict[str, Any] = {
            "v": WIRE_VERSION, "k": "s" if cs.kind == "snapshot" else "d",
            "b": cs.base, "r": cs.revision, "t": cs.time_ms, "p": self.precision,
        }
        if cs.schema:
            frame["sc"] = [[name, pt.kind, pt.unit] for name, pt in cs.schema]
        if len(cs.added):
            frame["a"] = [_encode_handles(cs.added), list(cs.added_ids)]
        if len(cs.removed):
            frame["x"] = _encode_handles(cs.removed)
        if cs.fields:
            frame["f"] = {name: [_encode_handles(fc.handles), self._values(name, fc.values)]
                          for name, fc in cs.fields.items()}
        if cs.unset:
            frame["u"] = {name: _encode_handles(h) for name, h in cs.unset.items()}
        return self._packer.pack(frame)

    def _values(self, name: str, values: np.ndarray) -> Any:
        if name in _TRANSFORM:
            return np.ascontiguousarray(values, dtype=f"<f{self.precision}").tobytes()
        if name in _BINARY:
            return np.ascontiguousarray(values, dtype=_BINARY[name]).tobytes()
        if name == "parent":
            return encode_varints(values)
        if name == "kids":
            return [encode_varints(np.asarray(k, dtype=np.int64)) for k in values.tolist()]
        if name == "tags":
            return [sorted(t) for t in values.tolist()]
        if name == "mesh":
            return [None if m is None else [m.asset, list(m.lods), list(m.bounds)]
                    for m in values.tolist()]
        if name in ("name", "label") or values.dtype == object:
            return values.tolist()
        if values.dtype == np.float64:
            return values.astype("<f8").tobytes()
        if values.dtype == np.int64:
            return values.astype("<i8").tobytes()
        if values.dtype == np.bool_:
            return values.astype("u1").tobytes()
        raise ValueError(f"field {name!r}: no wire form for dtype {values.dtype}")


# --------------------------------------------------------------------- decoder

class WireDecoder:
    """bytes → Changeset, validating everything (a bad frame raises WireError, never
    anything else). Keeps the property schema learned from the frames it decoded."""

    def __init__(self, max_frame_bytes: int = 64 * 1024 * 1024):
        self.max_frame_bytes = max_frame_bytes
        self.schema: dict[str, PropertyType] = {}

    def decode(self, data: bytes) -> Changeset:
        if len(data) > self.max_frame_bytes:
            raise WireError(f"frame of {len(data)} bytes exceeds the limit of "
                            f"{self.max_frame_bytes}")
        try:
            frame = msgpack.unpackb(data, raw=False, strict_map_key=True)
        except Exception as exc:  # msgpack raises several unrelated types
            raise WireError(f"not a msgpack frame: {exc}") from None
        try:
            return self._frame(frame)
        except WireError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise WireError(f"malformed frame: {type(exc).__name__}: {exc}") from None

    def _frame(self, f: Any) -> Changeset:
        if not isinstance(f, dict):
            raise WireError("a frame is a map")
        if f.get("v") != WIRE_VERSION:
            raise WireError(f"unsupported wire version {f.get('v')!r} (this decoder speaks "
                            f"{WIRE_VERSION})")
        kind = {"s": "snapshot", "d": "diff"}.get(f.get("k"))
        if kind is None:
            raise WireError(f"unknown frame kind {f.get('k')!r}")
        precision = f.get("p", 4)
        if precision not in (4, 8):
            raise WireError(f"unknown transform precision {precision!r}")
        unknown = set(f) - {"v", "k", "b", "r", "t", "p", "sc", "a", "x", "f", "u"}
        if unknown:
            raise WireError(f"unknown frame keys {sorted(unknown)}")
        schema = []
        if kind == "snapshot":
            self.schema = {}
        for name, k, unit in f.get("sc", []):
            pt = PropertyType(k, unit)
            if self.schema.get(name, pt) != pt:
                raise WireError(f"property {name!r} redefined")
            self.schema[name] = pt
            schema.append((name, pt))
        added, ids = np.zeros(0, dtype=np.int64), ()
        if "a" in f:
            added = _decode_handles(f["a"][0], "added")
            ids = tuple(f["a"][1])
            if len(ids) != len(added) or not all(isinstance(i, str) and i for i in ids):
                raise WireError("added: ids do not match handles")
        removed = _decode_handles(f["x"], "removed") if "x" in f else np.zeros(0, np.int64)
        fields = {}
        for name, (hb, vals) in f.get("f", {}).items():
            h = _decode_handles(hb, name)
            values = self._values(name, vals, len(h), precision)
            fields[name] = FieldChange(h, values)
        unset = {}
        for name, hb in f.get("u", {}).items():
            self._check_property(name)
            unset[name] = _decode_handles(hb, name)
        return Changeset(kind=kind, base=f.get("b"), revision=_int(f["r"], "revision"),
                         time_ms=_int(f["t"], "time"), schema=tuple(schema), added=added,
                         added_ids=ids, removed=removed, fields=fields, unset=unset)

    def _check_property(self, name: str) -> PropertyType:
        if not name.startswith(PROPERTY_PREFIX) or name[len(PROPERTY_PREFIX):] not in self.schema:
            raise WireError(f"unknown field {name!r}")
        return self.schema[name[len(PROPERTY_PREFIX):]]

    def _values(self, name: str, vals: Any, n: int, precision: int) -> np.ndarray:
        if name in _TRANSFORM:
            return _binary(vals, f"<f{precision}", n, name, _TRANSFORM[name]).astype(np.float64)
        if name in _BINARY:
            arr = _binary(vals, _BINARY[name], n, name)
            return arr.astype(CORE_FIELDS[name].dtype)
        if name == "parent":
            if not isinstance(vals, bytes):
                raise WireError("parent: expected a binary handle list")
            parents = decode_varints(vals)
            if len(parents) != n:
                raise WireError(f"parent: {len(parents)} values for {n} handles")
            return parents
        if name in CORE_FIELDS:
            if not isinstance(vals, list) or len(vals) != n:
                raise WireError(f"{name}: expected a list of {n} values")
            if name == "kids":
                return objarray(tuple(decode_varints(k).tolist()) for k in vals)
            if name == "tags":
                # Most nodes share a handful of tag sets: build and check each once.
                seen: dict[tuple[str, ...], frozenset[str]] = {}
                out = []
                for t in vals:
                    key = tuple(t) if isinstance(t, list) else t
                    tags = seen.get(key) if isinstance(key, tuple) else None
                    if tags is None:
                        tags = seen[tuple(_strs(t, name))] = frozenset(t)
                    out.append(tags)
                return objarray(out)
            if name == "mesh":
                return objarray(None if m is None else MeshRef(m[0], tuple(m[1]), tuple(m[2]))
                                for m in vals)
            for v in vals:
                if not (isinstance(v, str) or (name == "label" and v is None)):
                    raise WireError(f"{name}: expected text values")
            return objarray(vals)
        pt = self._check_property(name)
        if pt.kind == "str":
            if not isinstance(vals, list) or len(vals) != n or \
                    not all(isinstance(v, str) for v in vals):
                raise WireError(f"{name}: expected a list of {n} strings")
            return objarray(vals)
        arr = _binary(vals, _PROP_BINARY[pt.kind], n, name)
        return arr.astype({"float": np.float64, "int": np.int64, "bool": np.bool_}[pt.kind])


def _binary(vals: Any, dtype: str, n: int, name: str, width: int = 0) -> np.ndarray:
    if not isinstance(vals, bytes):
        raise WireError(f"{name}: expected a binary block")
    count = n * (width or 1)
    size = np.dtype(dtype).itemsize
    if len(vals) != count * size:
        raise WireError(f"{name}: {len(vals)} bytes of values for {n} handles "
                        f"(expected {count * size})")
    arr = np.frombuffer(vals, dtype=dtype)
    return arr.reshape(n, width) if width else arr


def _strs(t: Any, name: str) -> list[str]:
    if not isinstance(t, list) or not all(isinstance(x, str) and x for x in t):
        raise WireError(f"{name}: expected lists of strings")
    return t


def _int(v: Any, what: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise WireError(f"{what}: expected an integer")
    return v
