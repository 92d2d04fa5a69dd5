// Applies the wire frames in a folder (000.bin, 001.bin, …) to a fresh replica, in order,
// and prints the replica's state after each as one JSON line. tests/viewer/test_viewer_logic.py
// compares those states with the Python replica's on the same frames.
import { readdirSync, readFileSync } from "node:fs";
import { Replica } from "../src/replica.js";
import { WireDecoder } from "../src/wire.js";

const dir = process.argv[2];
const decoder = new WireDecoder();
const replica = new Replica();
for (const name of readdirSync(dir).filter((f) => f.endsWith(".bin")).sort()) {
  const frame = decoder.decode(readFileSync(`${dir}/${name}`));
  replica.apply(frame);
  process.stdout.write(`${JSON.stringify(replica.toJSON())}\n`);
}
