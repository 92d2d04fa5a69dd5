// Smooth motion between the positions the server sends once per tick. Pure (times are
// passed in), so node's test runner checks it.
//
// Each moving node glides from where it is drawn now to its newest position over one tick
// interval (measured from the frames' arrival, so a 10 Hz or a 2 Hz twin both look smooth).
// A jump longer than `teleport` metres (a person entering the mine at a reader, a replay
// seek) is not animated.

export class Interpolator {
  constructor({ teleport = 30, minInterval = 30, maxInterval = 2000 } = {}) {
    this.teleport = teleport;
    this.minInterval = minInterval;
    this.maxInterval = maxInterval;
    this.interval = 100;        // ms between frames, a running estimate
    this.lastFrame = null;
    this.tracks = new Map();    // key → {from, to, t0}
  }

  /** Call once per received frame (before target()) so the interval estimate follows. */
  frame(now) {
    if (this.lastFrame !== null) {
      const dt = Math.min(this.maxInterval, Math.max(this.minInterval, now - this.lastFrame));
      this.interval = this.interval * 0.8 + dt * 0.2;
    }
    this.lastFrame = now;
  }

  /** A new position for `key` arrived at `now`. */
  target(key, pos, now) {
    const tr = this.tracks.get(key);
    if (!tr) { this.tracks.set(key, { from: pos.slice(), to: pos.slice(), t0: now }); return; }
    const cur = this.position(key, now);
    const d = Math.hypot(pos[0] - cur[0], pos[1] - cur[1], pos[2] - cur[2]);
    tr.from = d > this.teleport ? pos.slice() : cur;
    tr.to = pos.slice();
    tr.t0 = now;
  }

  /** Sets a position without animation (snapshots, seeks). */
  jump(key, pos, now) { this.tracks.set(key, { from: pos.slice(), to: pos.slice(), t0: now }); }

  forget(key) { this.tracks.delete(key); }
  clear() { this.tracks.clear(); this.lastFrame = null; }

  /** Whether `key` is still gliding at `now`. */
  moving(key, now) {
    const tr = this.tracks.get(key);
    return !!tr && now - tr.t0 < this.interval && tr.from.some((v, i) => v !== tr.to[i]);
  }

  position(key, now) {
    const tr = this.tracks.get(key);
    if (!tr) return null;
    const a = Math.min(1, Math.max(0, (now - tr.t0) / this.interval));
    return [0, 1, 2].map((i) => tr.from[i] + (tr.to[i] - tr.from[i]) * a);
  }
}
