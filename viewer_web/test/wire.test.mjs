import assert from "node:assert/strict";
import { test } from "node:test";
import { encode } from "@msgpack/msgpack";
import { decodeVarints, WireDecoder, WireError } from "../src/wire.js";
import { Replica, ReplicaError } from "../src/replica.js";

test("varints decode as docs/wire.md says", () => {
  assert.deepEqual(decodeVarints(Uint8Array.from([0x05, 0x01, 0x01, 0xa5, 0x02])), [5, 1, 1, 293]);
  assert.throws(() => decodeVarints(Uint8Array.from([0x80])), WireError);
});

test("the example diff of docs/wire.md moves two people", () => {
  const xyz = new Float32Array([1, 2, 3, 4, 5, 6]);
  const frame = encode({ v: 1, k: "d", b: 41, r: 42, t: 1764374400000, p: 4,
    f: { t: [Uint8Array.from([0xb5, 0x09, 0x01]), new Uint8Array(xyz.buffer)] } });
  const f = new WireDecoder().decode(frame);
  assert.equal(f.kind, "diff");
  assert.deepEqual(f.fields.get("t"), { handles: [1205, 1206], values: [[1, 2, 3], [4, 5, 6]] });
});

test("bad frames raise WireError and keep nothing", () => {
  const d = new WireDecoder();
  assert.throws(() => d.decode(Uint8Array.from([0xc1])), WireError);
  assert.throws(() => d.decode(encode({ v: 2, k: "s", r: 1, t: 0 })), WireError);
  assert.throws(() => d.decode(encode({ v: 1, k: "s", r: 1, t: 0, zz: 1 })), WireError);
  assert.throws(() => d.decode(encode({ v: 1, k: "d", b: 0, r: 1, t: 0, f: { "p:nope": [Uint8Array.from([1]), []] } })), WireError);
  assert.throws(() => d.decode(encode({ v: 1, k: "d", b: 0, r: 1, t: 0, f: { opacity: [Uint8Array.from([1]), new Uint8Array(3)] } })), WireError);
});

test("a diff on another revision is refused, not applied", () => {
  const r = new Replica();
  r.apply(new WireDecoder().decode(encode({ v: 1, k: "s", b: null, r: 5, t: 0 })));
  assert.throws(() => r.apply(new WireDecoder().decode(encode({ v: 1, k: "d", b: 4, r: 6, t: 0 }))), ReplicaError);
  assert.equal(r.revision, 5);
});
