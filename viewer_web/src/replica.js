// A replica of the scene, kept by applying decoded wire frames (docs/wire.md "Applying a
// frame"). Pure. apply() reports what changed so the 3D view touches only those nodes.

export const DEFAULTS = Object.freeze({
  t: [0, 0, 0], r: [0, 0, 0, 1], s: [1, 1, 1], name: "", tags: [], mesh: null,
  color: 0xffffff, opacity: 1, visible: true, emissive: 0, blink: 0, label: null,
});

export class ReplicaError extends Error {}

function newNode(handle, id) {
  return { handle, id, parent: 0, kids: [], props: new Map(), ...structuredClone(DEFAULTS) };
}

export class Replica {
  constructor() { this.reset(); }

  reset() {
    this.nodes = new Map();      // handle → node
    this.byId = new Map();       // id → handle
    this.rootKids = [];
    this.schema = new Map();
    this.revision = null;
    this.time = null;
  }

  node(idOrHandle) {
    const h = typeof idOrHandle === "number" ? idOrHandle : this.byId.get(idOrHandle);
    return h === undefined ? undefined : this.nodes.get(h);
  }

  kidsOf(handle) { return handle === 0 ? this.rootKids : this.nodes.get(handle)?.kids ?? []; }

  /** Applies a frame; returns {reset, added, removed, changed: Map(handle → Set(field))}. */
  apply(frame) {
    const out = { reset: false, added: new Set(), removed: new Set(), changed: new Map() };
    if (frame.kind === "snapshot") {
      this.reset();
      out.reset = true;
    } else if (frame.base !== this.revision) {
      throw new ReplicaError(`diff on revision ${frame.base}, replica at ${this.revision}`);
    }
    for (const [name, pt] of frame.schema) this.schema.set(name, pt);
    for (const h of frame.removed) {
      const n = this.nodes.get(h);
      if (!n) continue;
      this.nodes.delete(h);
      this.byId.delete(n.id);
      out.removed.add(h);
      out.added.delete(h);
    }
    frame.added.forEach((h, i) => {
      const n = newNode(h, frame.ids[i]);
      this.nodes.set(h, n);
      this.byId.set(n.id, h);
      out.added.add(h);
    });
    const touch = (h, field) => {
      if (out.added.has(h)) return;
      let s = out.changed.get(h);
      if (!s) out.changed.set(h, (s = new Set()));
      s.add(field);
    };
    const kids = frame.fields.get("kids");
    if (kids) {
      kids.handles.forEach((h, i) => {
        const list = kids.values[i];
        if (h === 0) this.rootKids = list;
        else {
          const n = this.nodes.get(h);
          if (!n) throw new ReplicaError(`kids of unknown node ${h}`);
          n.kids = list;
          touch(h, "kids");
        }
        for (const k of list) {
          const child = this.nodes.get(k);
          if (!child) throw new ReplicaError(`unknown child ${k}`);
          if (child.parent !== h) { child.parent = h; touch(k, "parent"); }
        }
      });
    }
    for (const [name, { handles, values }] of frame.fields) {
      if (name === "kids") continue;
      const prop = name.startsWith("p:") ? name.slice(2) : null;
      handles.forEach((h, i) => {
        const n = this.nodes.get(h);
        if (!n) throw new ReplicaError(`${name} of unknown node ${h}`);
        if (prop) n.props.set(prop, values[i]);
        else if (name === "parent") {
          if (n.parent !== values[i]) throw new ReplicaError(`parent of ${n.id} disagrees with kids`);
        } else n[name] = values[i];
        touch(h, name);
      });
    }
    for (const [name, handles] of frame.unset) {
      for (const h of handles) { this.nodes.get(h)?.props.delete(name.slice(2)); touch(h, name); }
    }
    // Nodes of a removed subtree that were not listed (they always are) would dangle: drop
    // children lists' references to removed handles so the tree stays whole.
    if (out.removed.size) this.rootKids = this.rootKids.filter((k) => !out.removed.has(k));
    this.revision = frame.revision;
    this.time = frame.time;
    return out;
  }

  /** Nodes from the root down, parents before children. */
  *walk(handle = 0) {
    for (const k of this.kidsOf(handle)) {
      const n = this.nodes.get(k);
      if (!n) continue;
      yield n;
      yield* this.walk(k);
    }
  }

  /** Plain state for comparison with the Python replica (ids instead of handles). */
  toJSON() {
    const idOf = (h) => (h === 0 ? null : this.nodes.get(h).id);
    const nodes = {};
    for (const n of this.nodes.values()) {
      const o = { parent: idOf(n.parent), kids: n.kids.map(idOf) };
      for (const k of Object.keys(DEFAULTS)) o[k] = n[k];
      o.tags = [...n.tags].sort();
      o.props = Object.fromEntries([...n.props].sort(([a], [b]) => (a < b ? -1 : 1)));
      nodes[n.id] = o;
    }
    return { revision: this.revision, roots: this.rootKids.map(idOf), nodes };
  }
}
