import assert from "node:assert/strict";
import { test } from "node:test";
import { Interpolator } from "../src/interp.js";

test("a node glides from where it is drawn to its new position over one frame interval", () => {
  const it = new Interpolator();
  it.frame(0); it.jump("p", [0, 0, 0], 0);
  it.frame(100); it.target("p", [10, 0, 0], 100);
  assert.deepEqual(it.position("p", 100), [0, 0, 0]);
  assert.deepEqual(it.position("p", 150), [5, 0, 0]);
  assert.deepEqual(it.position("p", 200), [10, 0, 0]);
  assert.deepEqual(it.position("p", 900), [10, 0, 0]);   // holds at the target
  assert.equal(it.moving("p", 150), true);
  assert.equal(it.moving("p", 250), false);
});

test("a new target mid-glide starts from the drawn position, without a jump", () => {
  const it = new Interpolator();
  it.frame(0); it.jump("p", [0, 0, 0], 0);
  it.frame(100); it.target("p", [10, 0, 0], 100);
  it.target("p", [10, 10, 0], 150);                       // halfway along the first glide
  assert.deepEqual(it.position("p", 150), [5, 0, 0]);
  assert.deepEqual(it.position("p", 250), [10, 10, 0]);
});

test("long jumps (entering the mine, a replay seek) are not animated", () => {
  const it = new Interpolator({ teleport: 30 });
  it.frame(0); it.jump("p", [0, 0, 0], 0);
  it.target("p", [500, 0, 0], 100);
  assert.deepEqual(it.position("p", 100), [500, 0, 0]);
});

test("the interval follows the frame rate and stays within bounds", () => {
  const it = new Interpolator({ minInterval: 30, maxInterval: 2000 });
  for (let t = 0; t <= 5000; t += 500) it.frame(t);     // 2 Hz
  assert.ok(it.interval > 450 && it.interval <= 500, `interval ${it.interval}`);
  it.frame(100000);                                       // a long pause counts as maxInterval
  assert.ok(it.interval <= 2000);
});
