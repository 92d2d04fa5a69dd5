// Repeated small things drawn with instancing (issue #19.2): every node showing the same
// asset — a sensor marker, a reader's box, one part of a powered support — is one instance
// of one THREE.InstancedMesh per part of that asset, so 132 readers are one draw call, not
// 132. Each instance carries its node's placement (the node's group in the scene graph, so
// the parent chain, interpolation and vertical exaggeration apply as to any mesh) and its
// colour (instanceColor times the asset's own, as a mesh's material is tinted).
//
// An instance has no opacity, glow or blink of its own, so a node that is see-through,
// glowing or blinking — a sensor in alarm — is drawn as its own mesh while it is (view3d.js
// decides, `plain`) and comes back into its batch when it is plain again. Hidden nodes
// (their layer off, an ancestor hidden) are left out of the batch; picking maps the hit
// instance back to its node.
import * as THREE from "three";

/** Room for this many instances when a batch is made (it doubles when full). */
const FIRST_CAPACITY = 16;

const FITS = new WeakMap();

/** Whether an asset can be instanced: plain meshes, each with one material (no skinning or
 * morphing, no multi-material primitives). */
export function instanceable(template) {
  let ok = FITS.get(template);
  if (ok === undefined) {
    ok = true;
    template.traverse((o) => {
      if (o.isSkinnedMesh || o.isInstancedMesh || o.isPoints || o.isLine) ok = false;
      else if (o.isMesh && (Array.isArray(o.material) || o.morphTargetInfluences?.length)) ok = false;
    });
    FITS.set(template, ok);
  }
  return ok;
}

function shown(group) {
  for (let o = group; o; o = o.parent) if (!o.visible) return false;
  return true;
}

class Batch {
  constructor(asset, template, parent) {
    this.asset = asset;
    this.parent = parent;
    this.members = new Set();     // views (view3d's {handle, group, …}) drawn by this batch
    this.handles = [];            // instance index → node handle, as last drawn
    this.parts = [];              // [{local: Matrix4 within the asset, geometry, material, mesh}]
    template.updateMatrixWorld(true);
    const root = new THREE.Matrix4().copy(template.matrixWorld).invert();
    template.traverse((o) => {
      if (!o.isMesh) return;
      const material = o.material.clone();
      this.parts.push({ local: root.clone().multiply(o.matrixWorld), geometry: o.geometry, material, mesh: null });
    });
    this.capacity = 0;
    this.grow(FIRST_CAPACITY);
  }

  grow(capacity) {
    this.capacity = capacity;
    for (const part of this.parts) {
      if (part.mesh) { part.mesh.removeFromParent(); part.mesh.dispose(); }
      const mesh = new THREE.InstancedMesh(part.geometry, part.material, capacity);
      mesh.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
      mesh.setColorAt(0, new THREE.Color(0xffffff));   // makes instanceColor
      mesh.instanceColor.setUsage(THREE.DynamicDrawUsage);
      mesh.count = 0;
      mesh.frustumCulled = false;   // instances move; the batch spans the mine anyway
      mesh.userData.batch = this;
      part.mesh = mesh;
      this.parent.add(mesh);
    }
  }

  /** Writes every shown member's placement and colour into the instance buffers. */
  update(replica) {
    const members = [];
    for (const v of this.members) if (shown(v.group)) members.push(v);
    if (members.length > this.capacity) {
      let c = this.capacity;
      while (c < members.length) c *= 2;
      this.grow(c);
    }
    const m = new THREE.Matrix4();
    const color = new THREE.Color();
    this.handles = members.map((v) => v.handle);
    for (const part of this.parts) {
      const mesh = part.mesh;
      members.forEach((v, i) => {
        mesh.setMatrixAt(i, m.multiplyMatrices(v.group.matrixWorld, part.local));
        mesh.setColorAt(i, color.setHex(replica.nodes.get(v.handle)?.color ?? 0xffffff));
      });
      mesh.count = members.length;
      mesh.instanceMatrix.needsUpdate = true;
      mesh.instanceColor.needsUpdate = true;
      mesh.boundingSphere = null;   // recomputed from the instances when a ray needs it
      mesh.boundingBox = null;
    }
  }

  dispose() {
    for (const part of this.parts) { part.mesh.removeFromParent(); part.mesh.dispose(); part.material.dispose(); }
  }
}

export class InstanceBatches {
  /** `parent`: where the batches' meshes hang (the three.js scene: instances are in world space). */
  constructor(parent) {
    this.parent = parent;
    this.batches = new Map();     // asset id → Batch
    this.of = new Map();          // node handle → Batch
  }

  /** Draws view `v` (node handle v.handle, group v.group) as an instance of `asset`. */
  add(v, asset, template) {
    const had = this.of.get(v.handle);
    if (had?.asset === asset) return;
    if (had) this.drop(v);
    let b = this.batches.get(asset);
    if (!b) { b = new Batch(asset, template, this.parent); this.batches.set(asset, b); }
    b.members.add(v);
    this.of.set(v.handle, b);
  }

  /** View `v` is no longer drawn by a batch (removed, its own mesh, another asset). */
  drop(v) {
    const b = this.of.get(v.handle);
    if (!b) return;
    b.members.delete(v);
    this.of.delete(v.handle);
  }

  has(v) { return this.of.has(v.handle); }

  clear() {
    for (const b of this.batches.values()) b.dispose();
    this.batches.clear();
    this.of.clear();
  }

  /** Before a render, after the scene's world matrices are up to date. */
  update(replica) {
    for (const b of this.batches.values()) b.update(replica);
  }

  /** The instanced meshes, for the ray caster. */
  meshes() { return [...this.batches.values()].flatMap((b) => b.parts.map((p) => p.mesh)); }

  /** The node handle a ray hit on an instanced mesh stands for, or undefined. */
  handleOf(hit) {
    const b = hit.object.userData.batch;
    return b && hit.instanceId !== undefined ? b.handles[hit.instanceId] : undefined;
  }

  /** Instances drawn and their draw calls (one per part of each asset shown). */
  stats() {
    let instances = 0, calls = 0;
    for (const b of this.batches.values()) {
      instances += b.handles.length;
      if (b.handles.length) calls += b.parts.length;
    }
    return { instances, calls, batches: this.batches.size };
  }
}
