// The streaming protocol, version 1 (docs/protocol.md), in the browser: connect, auth,
// subscribe (resuming from the last revision within the same server session), apply frames
// to the replica, keep alarms, run commands, and reconnect by itself with backoff.
import { decode, encode } from "@msgpack/msgpack";
import { Replica, ReplicaError } from "./replica.js";
import { WireDecoder } from "./wire.js";

export const SUBPROTOCOL = "minetwin.v1";

export class Connection extends EventTarget {
  /** url: ws(s)://host:port/; token; options.subscribe: {tags, box} for a view. */
  constructor(url, token, { subscribe = {}, WebSocketImpl = globalThis.WebSocket } = {}) {
    super();
    this.url = url;
    this.token = token;
    this.view = subscribe;
    this.WebSocketImpl = WebSocketImpl;
    this.replica = new Replica();
    this.decoder = new WireDecoder();
    this.alarms = new Map();         // id → latest record
    this.state = "connecting";       // connecting | live | reconnecting | denied | closed
    this.role = null;
    this.session = null;
    this.replay = null;              // the replay this client is in, or null
    this.lastFrameAt = null;         // performance.now() of the last applied frame
    this.snapshots = 0;              // snapshots applied (a resumed reconnection adds none)
    this.pending = new Map();
    this.nextId = 1;
    this.backoff = 500;
    this.ws = null;
    this.stopped = false;
    this.follow = new Set();         // wall groups followed (re-sent after a reconnect)
  }

  start() { this.stopped = false; this.open(); return this; }

  stop() {
    this.stopped = true;
    this.setState("closed");
    this.ws?.close(1000);
  }

  setState(state, detail = {}) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...detail } }));
  }

  open() {
    const ws = new this.WebSocketImpl(this.url, SUBPROTOCOL);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") return;
      let msg;
      try { msg = decode(new Uint8Array(ev.data)); } catch (e) { console.warn("bad message", e); return; }
      this.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      for (const [, p] of this.pending) p.resolve({ ok: false, message: "connection closed", data: {} });
      this.pending.clear();
      if (this.stopped) return;
      if (ev.code === 4001) { this.setState("denied"); return; }
      this.setState("reconnecting", { code: ev.code });
      const wait = this.backoff;
      this.backoff = Math.min(10000, this.backoff * 2);
      setTimeout(() => { if (!this.stopped) this.open(); }, wait);
    };
  }

  send(obj) {
    if (this.ws?.readyState === 1) this.ws.send(encode(obj));
  }

  onMessage(m) {
    switch (m.t) {
      case "hello": {
        // A replay does not survive a reconnection; its replica is not the live scene's.
        const same = m.session === this.session && this.replica.revision !== null && !this.replay;
        this.replay = null;
        this.session = m.session;
        this.resumeFrom = same ? this.replica.revision : null;
        this.send({ t: "auth", token: this.token });
        break;
      }
      case "auth_ok": {
        this.role = m.role;
        const sub = { t: "subscribe", resume_from: this.view.tags || this.view.box ? null : this.resumeFrom };
        if (this.view.tags) sub.tags = this.view.tags;
        if (this.view.box) sub.box = this.view.box;
        this.send(sub);
        for (const g of this.follow) this.command("camera_follow", { group: g });
        this.dispatchEvent(new CustomEvent("auth", { detail: { role: m.role } }));
        break;
      }
      // Right after a snapshot the server sends the alarms standing now: they go in the list
      // without drawing the eye (only alarms that rise later do).
      case "snapshot": this.standing = true; this.onFrame(m.data); break;
      case "diff": this.standing = false; this.onFrame(m.data); break;
      case "alarm": {
        const a = m.alarm;
        // new: an alarm not seen before, or one raised again after it had cleared (the same
        // record, counted: docs/alarms.md) — not the alarms standing at a (re)subscribe
        const prev = this.alarms.get(a.id);
        const isNew = !this.standing && (!prev || (prev.cleared_ms != null && a.cleared_ms == null));
        this.alarms.set(a.id, a);
        this.dispatchEvent(new CustomEvent("alarm", { detail: { alarm: a, isNew } }));
        break;
      }
      case "result": {
        const p = this.pending.get(m.id);
        if (p) { this.pending.delete(m.id); p.resolve({ ok: m.ok, message: m.message, data: m.data ?? {} }); }
        break;
      }
      case "danger": this.dispatchEvent(new CustomEvent("danger", { detail: m.danger })); break;
      case "camera": this.dispatchEvent(new CustomEvent("camera", { detail: m })); break;
      case "replay":
        // (a late "ended" of a replay this client has already left must not end the current one)
        if (m.ended && this.replay && this.replay.id !== m.id) break;
        this.replay = m.ended ? null : { ...m };
        this.dispatchEvent(new CustomEvent("replay", { detail: m }));
        break;
      default: break;
    }
  }

  onFrame(bytes) {
    let frame, changes;
    try {
      frame = this.decoder.decode(bytes);
      changes = this.replica.apply(frame);
    } catch (e) {
      // A frame that does not fit (ReplicaError) or does not decode: start over from a
      // snapshot rather than show a wrong scene.
      console.warn("frame refused, resubscribing:", e.message);
      this.replica.revision = null;
      this.session = null;
      this.ws?.close(4000);
      return;
    }
    this.lastFrameAt = performance.now();
    if (frame.kind === "snapshot") this.snapshots++;
    this.backoff = 500;
    if (this.state !== "live") this.setState("live");
    this.dispatchEvent(new CustomEvent("frame", { detail: { frame, changes } }));
  }

  /** Sends a command; resolves with {ok, message, data}. */
  command(name, args = {}) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      if (this.ws?.readyState !== 1) { resolve({ ok: false, message: "not connected", data: {} }); return; }
      this.pending.set(id, { resolve });
      this.send({ t: "command", id, name, args });
    });
  }

  followCamera(group) { this.follow.add(group); return this.command("camera_follow", { group }); }

  /** Now on the data clock (docs/viewer.md "One clock"): the time of the scene last shown —
   * the simulator's in a drill, the replay's in a replay — moved on by the wall time since
   * (× the replay's speed; not at all while it is paused). Ages, charts and alarm times are
   * read against it, never against this PC's clock. */
  dataNow() {
    const t = this.replica.time;
    if (t == null || this.lastFrameAt == null) return Date.now();
    if (this.replay && !this.replay.playing) return t;
    const speed = this.replay ? this.replay.speed : 1;
    return t + Math.max(0, performance.now() - this.lastFrameAt) * speed;
  }
}

export { ReplicaError };
