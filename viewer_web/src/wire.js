// The scene's wire form, version 1 (docs/wire.md): bytes → a decoded frame. Pure: no DOM,
// no three.js, so it runs in node's test runner on the same golden frames as the Python
// decoder (tests/viewer/test_viewer_logic.py).
import { decode } from "@msgpack/msgpack";

export const WIRE_VERSION = 1;
const TRANSFORM = { t: 3, r: 4, s: 3 };
const BINARY = { color: "u32", emissive: "u32", opacity: "f32", blink: "f32", visible: "u8" };
const PROP_BINARY = { float: "f64", int: "i64", bool: "u8" };
const KEYS = new Set(["v", "k", "b", "r", "t", "p", "sc", "a", "x", "f", "u"]);

export class WireError extends Error {}

/** Unsigned LEB128 varints → an array of numbers. */
export function decodeVarints(bytes) {
  const out = [];
  let value = 0, shift = 0, open = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    open = (b & 0x80) !== 0;
    if (!open) { out.push(value); value = 0; shift = 0; }
    else if (shift > 56) throw new WireError("varint longer than 63 bits");
  }
  if (open) throw new WireError("truncated varint");
  return out;
}

function handles(bin, what) {
  if (!(bin instanceof Uint8Array)) throw new WireError(`${what}: expected a binary handle list`);
  const d = decodeVarints(bin);
  for (let i = 1; i < d.length; i++) d[i] += d[i - 1];
  return d;
}

function numbers(bin, kind, count, what) {
  if (!(bin instanceof Uint8Array)) throw new WireError(`${what}: expected binary values`);
  const size = { f32: 4, f64: 8, u32: 4, u8: 1, i64: 8 }[kind];
  if (bin.length !== size * count) {
    throw new WireError(`${what}: ${bin.length} bytes for ${count} values`);
  }
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    const o = i * size;
    switch (kind) {
      case "f32": out[i] = view.getFloat32(o, true); break;
      case "f64": out[i] = view.getFloat64(o, true); break;
      case "u32": out[i] = view.getUint32(o, true); break;
      case "u8": out[i] = view.getUint8(o); break;
      case "i64": out[i] = Number(view.getBigInt64(o, true)); break;
    }
  }
  return out;
}

/** Groups a flat array into per-node tuples of `width`. */
function tuples(flat, width) {
  const out = [];
  for (let i = 0; i < flat.length; i += width) out.push(flat.slice(i, i + width));
  return out;
}

function list(vals, n, what) {
  if (!Array.isArray(vals) || vals.length !== n) {
    throw new WireError(`${what}: expected a list of ${n} values`);
  }
  return vals;
}

/**
 * A stateful decoder: it keeps the property schema learned from the frames so far (a
 * snapshot resets it), as the Python WireDecoder does.
 */
export class WireDecoder {
  constructor() { this.schema = new Map(); }

  /** bytes → {kind, base, revision, time, schema, added, removed, fields, unset}. */
  decode(bytes) {
    let f;
    try { f = decode(bytes); } catch (e) { throw new WireError(`not a msgpack frame: ${e.message}`); }
    if (f === null || typeof f !== "object" || Array.isArray(f)) throw new WireError("a frame is a map");
    if (f.v !== WIRE_VERSION) throw new WireError(`unsupported wire version ${f.v}`);
    const kind = { s: "snapshot", d: "diff" }[f.k];
    if (!kind) throw new WireError(`unknown frame kind ${f.k}`);
    for (const key of Object.keys(f)) if (!KEYS.has(key)) throw new WireError(`unknown frame key ${key}`);
    const precision = f.p ?? 4;
    if (precision !== 4 && precision !== 8) throw new WireError(`unknown precision ${precision}`);
    if (kind === "snapshot") this.schema = new Map();
    const schema = [];
    for (const [name, k, unit] of f.sc ?? []) {
      const old = this.schema.get(name);
      if (old && (old.kind !== k || old.unit !== unit)) throw new WireError(`property ${name} redefined`);
      this.schema.set(name, { kind: k, unit: unit ?? null });
      schema.push([name, { kind: k, unit: unit ?? null }]);
    }
    let added = [], ids = [];
    if (f.a) {
      added = handles(f.a[0], "added");
      ids = f.a[1];
      if (!Array.isArray(ids) || ids.length !== added.length) throw new WireError("added: ids do not match handles");
    }
    const removed = f.x ? handles(f.x, "removed") : [];
    const fields = new Map();
    for (const [name, [hb, vals]] of Object.entries(f.f ?? {})) {
      const h = handles(hb, name);
      fields.set(name, { handles: h, values: this.values(name, vals, h.length, precision) });
    }
    const unset = new Map();
    for (const [name, hb] of Object.entries(f.u ?? {})) {
      this.property(name);
      unset.set(name, handles(hb, name));
    }
    return { kind, base: f.b ?? null, revision: f.r, time: f.t, schema, added, ids, removed, fields, unset };
  }

  property(name) {
    const pt = name.startsWith("p:") ? this.schema.get(name.slice(2)) : undefined;
    if (!pt) throw new WireError(`unknown field ${name}`);
    return pt;
  }

  values(name, vals, n, precision) {
    if (name in TRANSFORM) {
      return tuples(numbers(vals, precision === 8 ? "f64" : "f32", n * TRANSFORM[name], name), TRANSFORM[name]);
    }
    if (name in BINARY) {
      const out = numbers(vals, BINARY[name], n, name);
      return name === "visible" ? out.map(Boolean) : out;
    }
    switch (name) {
      case "parent": {
        const p = decodeVarints(vals);
        if (p.length !== n) throw new WireError(`parent: ${p.length} values for ${n} handles`);
        return p;
      }
      case "kids": return list(vals, n, name).map((k) => decodeVarints(k));
      case "tags": return list(vals, n, name);
      case "mesh":
        return list(vals, n, name).map((m) => (m === null ? null : { asset: m[0], lods: m[1], bounds: m[2] }));
      case "name": case "label": return list(vals, n, name);
    }
    const pt = this.property(name);
    if (pt.kind === "str") return list(vals, n, name);
    const out = numbers(vals, PROP_BINARY[pt.kind], n, name);
    return pt.kind === "bool" ? out.map(Boolean) : out;
  }
}
