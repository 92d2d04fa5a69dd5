// The 3D view: a three.js mirror of the replica. Only what a frame changed is touched;
// moving people and equipment glide between ticks; it renders only when something changed.
//
// Axes: the scene is z-up (x east, y north); three.js is y-up. As scene/_axes.py says, the
// rotation happens once, on `world`, the group holding the scene; everything inside is in
// scene metres. Vertical exaggeration scales `world` along the scene's z.
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { DRACOLoader } from "three/addons/loaders/DRACOLoader.js";
import { MeshoptDecoder } from "three/addons/libs/meshopt_decoder.module.js";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { FlyControls } from "three/addons/controls/FlyControls.js";
import { CSS2DObject, CSS2DRenderer } from "three/addons/renderers/CSS2DRenderer.js";
import { InstanceBatches, instanceable } from "./instances.js";
import { Interpolator } from "./interp.js";
import { NAMES_M, OVERVIEW_M, PeopleLayer } from "./people.js";
import { PlanLines, WorkingLabels } from "./plan3d.js";

/** Colours that say a sensor is not normal (live_bindings SENSOR_COLORS: warning, alarm, fault, off). */
const NOT_NORMAL = new Set([0xf39c12, 0xe74c3c, 0x95a5a6, 0x7f8c8d]);

/** Tags whose nodes move every tick and are interpolated. */
const MOVERS = ["person", "equipment", "face"];
/** Geology layers: the opacity slider and the section plane act on them. */
export const GEOLOGY = ["seam", "contour", "stratum", "fault", "prediction", "geology", "hazard"];
const CLOSED = new Set(["seam", "stratum", "fault", "prediction"]);

/** True when WebGL runs on the CPU (SwiftShader, llvmpipe …): no GPU to fill the screen. */
function softwareRenderer(gl) {
  try {
    const ext = gl.getExtension("WEBGL_debug_renderer_info");
    const name = ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    return /swiftshader|llvmpipe|software|softpipe/i.test(String(name));
  } catch (e) { return false; }
}
const BACKGROUND = 0x0d1117;
/** Layers drawn as see-through shells around the things inside them. */
const SHELLS = ["roadway", "area", "face", ...GEOLOGY];

export function hex(c) { return `#${c.toString(16).padStart(6, "0")}`; }

export class View3D extends EventTarget {
  constructor(container, { assetUrl = (id) => `assets/${id}`, antialias = true } = {}) {
    super();
    this.container = container;
    this.assetUrl = assetUrl;
    this.renderer = new THREE.WebGLRenderer({ antialias, preserveDrawingBuffer: true });
    this.software = softwareRenderer(this.renderer.getContext());
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.localClippingEnabled = true;
    container.appendChild(this.renderer.domElement);
    this.labels = new CSS2DRenderer();
    this.labels.domElement.className = "labels";
    container.appendChild(this.labels.domElement);

    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color(BACKGROUND);
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x334455, 2.2));
    const sun = new THREE.DirectionalLight(0xffffff, 1.5);
    sun.position.set(1, 3, 2);
    this.scene.add(sun);
    this.world = new THREE.Group();
    this.world.rotation.x = -Math.PI / 2;     // scene z-up → three y-up (scene/_axes.py)
    this.scene.add(this.world);
    this.people = new PeopleLayer(this);      // everyone underground: one Points draw call
    this.planLines = new PlanLines(this);     // roadways as lines of a few pixels (GET /api/plan)
    this.workings = new WorkingLabels(this);  // each face and heading: name, advance, headcount
    this.batches = new InstanceBatches(this.scene);  // sensors, readers, supports' parts: instanced

    this.camera = new THREE.PerspectiveCamera(50, 1, 0.5, 60000);
    this.orbit = new OrbitControls(this.camera, this.renderer.domElement);
    this.orbit.addEventListener("change", () => { this.dirty = true; this.emitCamera(); });
    this.fly = null;
    this.mode = "orbit";

    const draco = new DRACOLoader().setDecoderPath("draco/");
    this.loader = new GLTFLoader().setMeshoptDecoder(MeshoptDecoder).setDRACOLoader(draco);
    this.templates = new Map();      // asset id → Promise<Object3D>
    this.views = new Map();          // handle → {group, mesh, label, handle}
    this.interp = new Interpolator();
    this.hiddenLayers = new Set();
    this.showLabels = true;
    this.maxFps = 0;                 // 0: as many pictures as the machine draws (?fps=N caps it)
    this.lastRenderAt = -Infinity;
    this.geologyOpacity = 0.35;      // seams and strata see-through by default: the mine inside shows
    this.roadwayOpacity = 0.6;       // see-through roadway shells: the "transparent mine"
    this.exaggeration = 1;
    this.clip = { axis: null, at: 0 };
    this.clipPlane = new THREE.Plane();
    this.wall = null;                 // {cols, rows, x, y}
    this.measuring = null;            // null or [points]
    this.dirty = true;
    this.frames = 0;
    this.renders = 0;
    this.renderMs = 0;                // time spent in render calls (benchmarks)
    this.firstRenderAt = null;
    this.replica = null;
    this.pickTargets = [];
    this.lastTick = performance.now();

    this.resize();
    new ResizeObserver(() => this.resize()).observe(container);
    this.installPicking();
    const loop = () => { this.tick(); this.raf = requestAnimationFrame(loop); };
    loop();
  }

  // ------------------------------------------------------------------ replica → objects

  /** Applies a replica change report (Replica.apply's result). */
  update(replica, changes, now = performance.now()) {
    this.replica = replica;
    this.interp.frame(now);
    if (changes.reset) {
      for (const v of this.views.values()) v.group.removeFromParent();
      this.views.clear();
      this.batches.clear();
      this.interp.clear();
      for (const n of replica.walk()) this.create(n, now);
      if (!this.homed) { this.home(); this.homed = true; }
    } else {
      for (const h of changes.removed) this.remove(h);
      for (const h of changes.added) if (!this.views.has(h)) this.create(replica.nodes.get(h), now);
      for (const [h, fields] of changes.changed) this.change(replica.nodes.get(h), fields, now);
    }
    this.dirty = true;
  }

  create(n, now) {
    if (!n) return;
    if (n.parent && !this.views.has(n.parent)) this.create(this.replica.nodes.get(n.parent), now);
    const group = new THREE.Group();
    group.userData.handle = n.handle;
    const v = { handle: n.handle, group, mesh: null, label: null, materials: [], asset: null, template: null };
    this.views.set(n.handle, v);
    (n.parent ? this.views.get(n.parent)?.group : this.world)?.add(group);
    this.place(v, n, now, true);
    this.setMesh(v, n);
    this.setLabel(v, n);
    this.visual(v, n);
  }

  /** A person's label is their name (shown close up); everyone else's is the node's label. */
  labelText(n) { return n.tags.includes("person") ? n.name || null : n.label; }

  remove(h) {
    const v = this.views.get(h);
    if (!v) return;
    v.group.removeFromParent();
    v.label?.element.remove();
    this.batches.drop(v);
    this.views.delete(h);
    this.interp.forget(h);
  }

  change(n, fields, now) {
    const v = this.views.get(n?.handle);
    if (!v) return;
    if (fields.has("name") && n.tags.includes("person")) this.setLabel(v, n);
    if (fields.has("parent")) {
      (n.parent ? this.views.get(n.parent)?.group : this.world)?.add(v.group);
    }
    if (fields.has("t") || fields.has("r") || fields.has("s")) this.place(v, n, now, false);
    if (fields.has("mesh")) this.setMesh(v, n);
    if (fields.has("label")) this.setLabel(v, n);
    for (const f of ["color", "opacity", "visible", "emissive", "blink", "tags", "label"]) {
      if (fields.has(f)) { this.visual(v, n); break; }
    }
  }

  isMover(n) { return n.tags.some((t) => MOVERS.includes(t)); }

  place(v, n, now, first) {
    if (this.isMover(n)) {
      if (first) this.interp.jump(n.handle, n.t, now);
      else this.interp.target(n.handle, n.t, now);
      const p = this.interp.position(n.handle, now);
      v.group.position.set(p[0], p[1], p[2]);
    } else v.group.position.set(n.t[0], n.t[1], n.t[2]);
    v.group.quaternion.set(n.r[0], n.r[1], n.r[2], n.r[3]);
    v.group.scale.set(n.s[0], n.s[1], n.s[2]);
  }

  template(asset) {
    let p = this.templates.get(asset);
    if (!p) {
      p = this.loader.loadAsync(this.assetUrl(asset)).then((gltf) => gltf.scene);
      p.catch((e) => console.warn(`asset ${asset}:`, e.message ?? e));
      this.templates.set(asset, p);
    }
    return p;
  }

  setMesh(v, n) {
    // People are drawn as screen-space markers (people.js), not as meshes.
    const asset = n.tags.includes("person") ? null : n.mesh?.asset ?? null;
    if (asset === v.asset) return;
    v.asset = asset;
    v.template = null;
    this.batches.drop(v);
    this.dropMesh(v);
    if (!asset) return;
    this.pending = (this.pending ?? 0) + 1;
    this.template(asset).then((tpl) => {
      if (v.asset !== asset || !this.views.has(v.handle)) return;
      v.template = tpl;
      const node = this.replica?.nodes.get(v.handle);
      if (node) this.visual(v, node);
      this.dirty = true;
    }).catch(() => {}).finally(() => {
      this.pending -= 1;
      if (this.pending === 0) this.dispatchEvent(new Event("loaded"));
    });
  }

  /** Drawn as an instance of its asset's batch (instances.js): a small repeated thing — not
   * a see-through shell, geology or a hazard zone — in its plain state (opaque, no glow, not
   * blinking). Anything else, or a sensor while in alarm, is its own mesh. */
  instanced(n) {
    return n.opacity >= 1 && n.emissive === 0 && !(n.blink > 0)
      && !n.tags.some((t) => SHELLS.includes(t.split(":")[0]));
  }

  dropMesh(v) {
    if (!v.mesh) return;
    v.mesh.removeFromParent();
    v.mesh = null;
    v.materials = [];
    this.refreshPickTargets();
  }

  /** The node's own copy of its asset, with materials of its own to tint, fade and blink. */
  ownMesh(v, tags) {
    const obj = v.template.clone(true);
    // Geology meshes are closed volumes: their outside is all there is to see, so one side
    // in one pass (a see-through double-sided material costs three.js two passes, and each
    // seam would cover the screen twice over — heavy on software-rendered GPUs).
    // (a zone's fill is a surface seen from above: one side too)
    const closed = tags.some((t) => CLOSED.has(t) || t === "hazard-fill");
    // what lies draped on a seam (its floor contours, a hazard zone's outline) is drawn in
    // front of the surface it lies on: never the dashed stripes of two surfaces fighting
    const draped = tags.includes("contour") || (tags.includes("hazard") && !tags.includes("hazard-fill"));
    obj.traverse((o) => {
      if (!o.isMesh) return;
      o.material = o.material.clone();    // each node tints its own
      if (closed) { o.material.side = THREE.FrontSide; o.material.forceSinglePass = true; }
      if (draped) Object.assign(o.material, { polygonOffset: true, polygonOffsetFactor: -2, polygonOffsetUnits: -8 });
      o.material.userData.base = { color: o.material.color.clone(), opacity: o.material.opacity };
      o.userData.handle = v.handle;
      v.materials.push(o.material);
    });
    v.mesh = obj;
    v.group.add(obj);
    this.refreshPickTargets();
  }

  /** Instance or own mesh, as the node's state asks (called whenever its visuals change). */
  dress(v, n) {
    if (!v.template) return;
    if (this.instanced(n) && instanceable(v.template)) {
      this.dropMesh(v);
      this.batches.add(v, v.asset, v.template);
    } else {
      this.batches.drop(v);
      if (!v.mesh) this.ownMesh(v, n.tags);
    }
  }

  setLabel(v, n) {
    const text = this.labelText(n);
    if (!text) {
      if (v.label) { v.label.removeFromParent(); v.label.element.remove(); v.label = null; }
      return;
    }
    if (!v.label) {
      const el = document.createElement("div");
      el.className = n.tags.includes("person") ? "label name" : "label";
      v.label = new CSS2DObject(el);
      const top = n.tags.includes("person") ? 0.6 : n.mesh?.bounds ? n.mesh.bounds[5] : 0;
      v.label.position.set(0, 0, top + 0.6);
      // a name beside its marker, not on it
      if (n.tags.includes("person")) v.label.center.set(-0.12, 0.5);
      v.group.add(v.label);
    }
    if (v.label.element.textContent !== text) { v.label.element.textContent = text; v.labelW = null; }
  }

  /** How much a label matters: 0 normal … 3 in alarm (alarms win the space on screen). */
  labelPriority(n) {
    if (n.tags.includes("person")) return this.people.alarmed(n) ? 3 : 0;
    if (n.blink > 0 || (n.props.get("alarm_level") ?? 0) > 0 || n.props.get("power_off") === true) return 3;
    if (NOT_NORMAL.has(n.color) || (n.props.get("data_state") ?? "ok") !== "ok") return 2;
    return 1;
  }

  /** Labels never overlap: the most important placed first (alarms, then warnings, then the
   * nearest), any label that would cover one already placed is hidden. At overview scale
   * only what is not normal is labelled, and each area's headcount; names only close up. */
  /** Overview or close up, set before the labels render (area headcounts show at overview). */
  setScaleMode() {
    const far = this.camera.position.distanceTo(this.orbit.target);
    this.overview = far > OVERVIEW_M;
    this.people.setScale(this.overview);
    // the near plane follows the distance (a thousandth of it): the depth buffer's precision
    // where the picture is (1 m at 3 km with a fixed 0.5 m near plane — the seams' floor
    // contours, 0.3 m above it, fought it in stripes; 0.2 m now)
    const near = Math.min(Math.max(far / 1000, 0.1), 20);
    if (Math.abs(near - this.camera.near) > 0.1 * this.camera.near) {
      this.camera.near = near;
      this.camera.updateProjectionMatrix();
    }
  }

  declutter() {
    const overview = this.overview;
    const cam = this.camera.position;
    const r = this.renderer.domElement.getBoundingClientRect();
    const p = new THREE.Vector3();
    const items = [];
    const consider = (obj, priority, key) => {
      const el = obj.element;
      if (!obj.visible) { el.style.display = "none"; return; }
      if (el.style.display === "none") return;
      obj.getWorldPosition(p);
      const dist = p.distanceTo(cam);
      p.project(this.camera);
      items.push({ obj, el, priority, dist, key, x: (p.x + 1) / 2 * r.width, y: (1 - p.y) / 2 * r.height });
    };
    for (const v of this.views.values()) {
      if (!v.label) continue;
      const n = this.replica?.nodes.get(v.handle);
      if (!n) continue;
      const pr = this.labelPriority(n);
      if (n.tags.includes("person")) {
        // a name close up (or an alarmed person's at any distance)
        v.label.getWorldPosition(p);
        if (pr < 3 && (overview || p.distanceTo(cam) > NAMES_M)) { v.label.element.style.display = "none"; continue; }
      } else if (overview && pr < 2) { v.label.element.style.display = "none"; continue; }
      consider(v.label, pr, v);
    }
    for (const obj of this.workings.labels.values()) if (obj.visible) consider(obj, 2.8, obj);
    for (const obj of this.people.counts.values()) if (obj.visible) consider(obj, 2.5, obj);
    for (const obj of this.planLines.names) if (obj.visible) consider(obj, 1.5, obj);
    for (const obj of this.aheadMarks ?? []) if (obj.visible) consider(obj, 2.6, obj);   // ui/risk.js
    items.sort((a, b) => b.priority - a.priority || a.dist - b.dist);
    // parts of the picture covered by an inset (the 2D plan) take no labels
    const placed = (this.occluders ?? []).map((f) => f()).filter(Boolean).map((o) => [o.x, o.y, o.x + o.w, o.y + o.h]);
    for (const it of items) {
      const k = it.key;
      if (k.labelW == null || k.labelText !== it.el.textContent) {
        k.labelW = it.el.offsetWidth; k.labelH = it.el.offsetHeight; k.labelText = it.el.textContent;
      }
      const c = it.obj.center;                     // the label's anchor (CSS2DObject.center)
      const box = [it.x - k.labelW * c.x - 1, it.y - k.labelH * c.y - 1,
        it.x + k.labelW * (1 - c.x) + 1, it.y + k.labelH * (1 - c.y) + 1];
      const free = placed.every((b) => box[2] <= b[0] || box[0] >= b[2] || box[3] <= b[1] || box[1] >= b[3]);
      if (free) placed.push(box);
      else it.el.style.display = "none";
    }
    this.labelsShown = placed.length - (this.occluders?.length ?? 0);
  }

  layerHidden(n) { return n.tags.some((t) => this.hiddenLayers.has(t)); }
  isGeology(n) { return n.tags.some((t) => GEOLOGY.includes(t.split(":")[0])); }

  visual(v, n) {
    this.dress(v, n);
    const shown = n.visible && !this.layerHidden(n);
    v.group.visible = shown;
    if (v.label) {
      v.label.visible = shown && this.showLabels;
      v.label.element.style.color = n.color === 0xffffff ? "" : hex(n.color);
      v.label.element.classList.toggle("blink", n.blink > 0);
    }
    const geo = this.isGeology(n);
    // seams, strata and the uncertainty shells ahead of the faces follow the geology slider
    const strata = geo && n.tags.some((t) => t.startsWith("seam") || t.startsWith("stratum") || t === "prediction");
    const opacity = n.opacity * (strata ? this.geologyOpacity : 1) * (n.tags.includes("roadway") ? this.roadwayOpacity : 1);
    const tint = new THREE.Color(n.color);
    for (const m of v.materials) {
      const base = m.userData.base;
      m.color.copy(base.color).multiply(tint);
      m.opacity = base.opacity * opacity;
      m.transparent = m.opacity < 1;
      m.depthWrite = m.opacity >= 1;
      if (m.emissive) m.emissive.setHex(n.emissive);
      m.clippingPlanes = geo && this.clip.axis ? [this.clipPlane] : null;
    }
    v.blink = n.blink;
    v.emissive = n.emissive;
    v.blinkColor = n.color === 0xffffff ? 0xff3030 : n.color;
    v.blinkOn = null;
    this.dirty = true;
  }

  refreshVisuals() {
    if (!this.replica) return;
    for (const v of this.views.values()) {
      const n = this.replica.nodes.get(v.handle);
      if (n) this.visual(v, n);
    }
  }

  // ------------------------------------------------------------------ layers and geology

  setLayer(tag, visible) {
    if (visible) this.hiddenLayers.delete(tag); else this.hiddenLayers.add(tag);
    this.refreshVisuals();
  }

  /** Exactly these layers hidden (a wall tile takes its driving view's). */
  setHiddenLayers(tags) {
    const next = new Set(tags);
    if (next.size === this.hiddenLayers.size && [...next].every((t) => this.hiddenLayers.has(t))) return;
    this.hiddenLayers = next;
    this.refreshVisuals();
  }

  /** The mine in plan (GET /api/plan): roadway lines and names over the meshes. */
  setPlan(plan) { this.planLines.set(plan); this.dirty = true; }

  setLabels(on) { this.showLabels = on; this.refreshVisuals(); }
  setGeologyOpacity(a) { this.geologyOpacity = a; this.refreshVisuals(); }
  setRoadwayOpacity(a) { this.roadwayOpacity = a; this.refreshVisuals(); }

  setExaggeration(k) {
    this.exaggeration = k;
    this.world.scale.set(1, 1, k);
    this.world.updateMatrixWorld(true);
    this.updateClipPlane();
    this.dirty = true;
  }

  /** A section plane through the geology: axis "x" | "y" | "z" | null, at a scene coordinate. */
  setClip(axis, at) {
    this.clip = { axis, at };
    this.updateClipPlane();
    this.refreshVisuals();
  }

  updateClipPlane() {
    const { axis, at } = this.clip;
    if (!axis) return;
    const normal = { x: [-1, 0, 0], y: [0, -1, 0], z: [0, 0, -1] }[axis];
    const point = { x: [at, 0, 0], y: [0, at, 0], z: [0, 0, at] }[axis];
    this.world.updateMatrixWorld(true);
    this.clipPlane.setFromNormalAndCoplanarPoint(new THREE.Vector3(...normal), new THREE.Vector3(...point))
      .applyMatrix4(this.world.matrixWorld);
  }

  // ------------------------------------------------------------------ coordinates and camera

  toThree(p) { return this.world.localToWorld(new THREE.Vector3(p[0], p[1], p[2])); }
  toScene(v) { const s = this.world.worldToLocal(v.clone()); return [s.x, s.y, s.z]; }

  /** The node's position in scene metres (its mesh centre when it has bounds). */
  nodePosition(id) {
    const n = this.replica?.node(id);
    const v = n && this.views.get(n.handle);
    if (!v) return null;
    const local = n.mesh?.bounds
      ? new THREE.Vector3((n.mesh.bounds[0] + n.mesh.bounds[3]) / 2, (n.mesh.bounds[1] + n.mesh.bounds[4]) / 2,
        (n.mesh.bounds[2] + n.mesh.bounds[5]) / 2)
      : new THREE.Vector3();
    v.group.updateWorldMatrix(true, false);
    return this.toScene(v.group.localToWorld(local));
  }

  /** Where a node shows on the canvas, in CSS pixels relative to the page (for tests too). */
  screenPosition(id) {
    const p = this.nodePosition(id);
    if (!p) return null;
    const v = this.toThree(p).project(this.camera);
    const r = this.renderer.domElement.getBoundingClientRect();
    return { x: r.left + (v.x + 1) / 2 * r.width, y: r.top + (1 - v.y) / 2 * r.height, inView: Math.abs(v.z) < 1 };
  }

  cameraState() {
    return { position: this.toScene(this.camera.position), target: this.toScene(this.orbit.target), fov: this.camera.fov };
  }

  setCamera({ position, target, fov }) {
    this.camera.position.copy(this.toThree(position));
    this.orbit.target.copy(this.toThree(target));
    if (fov) { this.camera.fov = fov; this.camera.updateProjectionMatrix(); }
    this.camera.lookAt(this.orbit.target);
    this.orbit.update();
    this.dirty = true;
  }

  emitCamera() { this.dispatchEvent(new Event("camera")); }

  /** The plan extent of the roadways (scene metres): their meshes' corners, not their centres. */
  mineBox() {
    const box = new THREE.Box3();
    const p = new THREE.Vector3();
    for (const n of this.replica?.nodes.values() ?? []) {
      if (!n.tags.includes("roadway")) continue;
      const v = this.views.get(n.handle);
      const b = n.mesh?.bounds;
      if (!v) continue;
      v.group.updateWorldMatrix(true, false);
      const corners = b ? [[b[0], b[1], b[2]], [b[3], b[4], b[5]], [b[0], b[4], b[2]], [b[3], b[1], b[5]]] : [[0, 0, 0]];
      for (const c of corners) {
        p.set(...c).applyMatrix4(v.group.matrixWorld);
        box.expandByPoint(new THREE.Vector3(...this.toScene(p)));
      }
    }
    if (box.isEmpty()) box.set(new THREE.Vector3(-500, -500, -500), new THREE.Vector3(500, 500, 0));
    return box;
  }

  /** Frames the whole mine: nearly in plan (55° down, from the south), filling the part of
   * the picture the side panels leave free (`insets`: {left, right} CSS pixels they cover;
   * set before the first resize, or call resize()). */
  home() {
    const box = this.mineBox();
    const c = box.getCenter(new THREE.Vector3());
    const size = box.getSize(new THREE.Vector3());
    const fov = 50, tan = Math.tan((fov / 2) * Math.PI / 180);
    const W = Math.max(1, this.container.clientWidth);
    const { left = 0, right = 0 } = this.wall ? {} : this.insets ?? {};
    const free = Math.max(0.3, (W - left - right) / W);
    const aspect = Math.max(this.camera.aspect, 0.5);
    const fit = Math.max(size.x / (aspect * free), size.y * 0.85, 100);
    const d = 1.05 * fit / (2 * tan);
    // the camera looks at the mine's centre; the picture's centre is the free area's (resize):
    // a wall driven by this camera shows the mine in its own middle
    const elev = 55 * Math.PI / 180;
    this.setCamera({ position: [c.x, c.y - d * Math.cos(elev), c.z + d * Math.sin(elev)], target: [c.x, c.y, c.z], fov });
  }

  /** Moves the camera to look at a node from `distance` metres. */
  focus(id, distance = 25) {
    const p = this.nodePosition(id);
    if (!p) return false;
    const b = this.replica?.node(id)?.mesh?.bounds;
    if (b) distance = Math.max(distance, 0.9 * Math.hypot(b[3] - b[0], b[4] - b[1], b[5] - b[2]));
    const dir = this.camera.position.clone().sub(this.orbit.target).normalize();
    if (!Number.isFinite(dir.x) || dir.lengthSq() === 0) dir.set(0, 1, 1).normalize();
    // a longwall face is seen from the solid coal ahead of it, across the face, 35° down:
    // the shearer in front of the supports, the goaf behind them (not a plan view of the
    // canopies with the goaf over half the picture)
    if (this.replica?.node(id)?.tags.includes("face:longwall")) {
      const goaf = this.nodePosition(`hazard/goaf-${id.slice("face/".length)}`);
      if (goaf) {
        const ahead = this.toThree(p).sub(this.toThree(goaf));
        ahead.y = 0;
        if (ahead.lengthSq() > 1e-6) {
          ahead.normalize();
          const el = 35 * Math.PI / 180;
          dir.set(ahead.x * Math.cos(el), Math.sin(el), ahead.z * Math.cos(el));
        }
      }
    }
    // From above, 25–50° down (three's y is up): never from under the seam, inside the goaf
    // or the rock, and never a plan view that hides what stands on the floor (the shearer
    // under the face, people in a roadway).
    const horizontal = Math.hypot(dir.x, dir.z) || 1;
    const up = Math.min(Math.max(dir.y, 0.42), 0.77);
    const k = Math.sqrt(1 - up * up) / horizontal;
    if (horizontal < 1e-6) dir.set(0, up, Math.sqrt(1 - up * up)); else dir.set(dir.x * k, up, dir.z * k);
    const target = this.toThree(p);
    this.camera.position.copy(target.clone().add(dir.multiplyScalar(distance)));
    this.orbit.target.copy(target);
    this.camera.lookAt(target);
    this.orbit.update();
    this.dirty = true;
    this.emitCamera();
    return true;
  }

  setMode(mode) {
    if (mode === this.mode) return;
    this.mode = mode;
    if (mode === "fly") {
      this.orbit.enabled = false;
      this.fly = new FlyControls(this.camera, this.renderer.domElement);
      this.fly.movementSpeed = 40;
      this.fly.rollSpeed = 0.6;
      this.fly.dragToLook = true;
    } else {
      this.fly?.dispose();
      this.fly = null;
      const ahead = new THREE.Vector3(0, 0, -1).applyQuaternion(this.camera.quaternion).multiplyScalar(50);
      this.orbit.target.copy(this.camera.position).add(ahead);
      this.orbit.enabled = !this.wall;
      this.orbit.update();
    }
  }

  /** Wall mode: this canvas is tile (x, y) of a cols × rows grid of equal screens. */
  setWall(wall) {
    this.wall = wall;
    this.orbit.enabled = !wall;
    this.resize();
  }

  resize() {
    const w = Math.max(1, this.container.clientWidth), h = Math.max(1, this.container.clientHeight);
    this.renderer.setSize(w, h, false);
    this.renderer.domElement.style.width = "100%";
    this.renderer.domElement.style.height = "100%";
    this.labels.setSize(w, h);
    this.camera.aspect = w / h;
    const { left = 0, right = 0 } = this.insets ?? {};
    if (this.wall) {
      const { cols, rows, x, y } = this.wall;
      this.camera.aspect = w / h;
      this.camera.setViewOffset(w * cols, h * rows, w * x, h * y, w, h);
    } else if (left !== right) {
      // the side panels cover the canvas's edges: what the camera looks at is drawn in the
      // middle of the part they leave free, (left − right) / 2 px right of the canvas centre
      this.camera.setViewOffset(w, h, (right - left) / 2, 0, w, h);
    } else this.camera.clearViewOffset();
    this.camera.updateProjectionMatrix();
    this.dirty = true;
  }

  // ------------------------------------------------------------------ picking and measuring

  refreshPickTargets() {
    this.pickTargets = [];
    for (const v of this.views.values()) if (v.mesh) this.pickTargets.push(v.mesh);
  }

  installPicking() {
    const el = this.renderer.domElement;
    let down = null;
    el.addEventListener("pointerdown", (e) => { down = [e.clientX, e.clientY]; });
    el.addEventListener("pointerup", (e) => {
      if (!down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 4) return;
      const hit = this.pick(e.clientX, e.clientY);
      if (this.measuring) {
        if (!hit) return;
        this.measuring.push(hit.point);
        this.dispatchEvent(new CustomEvent("measure", { detail: { points: this.measuring.slice() } }));
        if (this.measuring.length === 2) this.measuring = null;
        return;
      }
      this.dispatchEvent(new CustomEvent("pick", { detail: hit }));
    });
  }

  /** The node under a page position: {id, handle, point (scene metres)} or null. */
  pick(clientX, clientY) {
    const r = this.renderer.domElement.getBoundingClientRect();
    const ndc = new THREE.Vector2((clientX - r.left) / r.width * 2 - 1, -((clientY - r.top) / r.height) * 2 + 1);
    const ray = new THREE.Raycaster();
    ray.setFromCamera(ndc, this.camera);
    this.scene.updateMatrixWorld();
    this.batches.update(this.replica);       // the instances where they are now
    // A person's marker is a few pixels wide at any zoom: picked on the screen, first.
    const person = this.people.pick(clientX, clientY);
    if (person) {
      const pos = this.nodePosition(person.id);
      return { id: person.id, handle: person.handle, point: pos, distance: 0 };
    }
    // Shells (roadways, areas, geology) are see-through: a sensor, person or piece of
    // equipment just behind the shell that was hit is what the user meant.
    let first = null;
    for (const hit of ray.intersectObjects([...this.pickTargets, ...this.batches.meshes()], true)) {
      let o = hit.object;
      let shown = true;
      for (let p = o; p; p = p.parent) if (!p.visible) { shown = false; break; }
      if (!shown) continue;
      // an instance stands for the node its batch drew there; a mesh for its node's group
      let handle = this.batches.handleOf(hit);
      if (handle === undefined) {
        while (o && o.userData.handle === undefined) o = o.parent;
        handle = o?.userData.handle;
      }
      let n = handle !== undefined && this.replica.nodes.get(handle);
      // A part of an articulated machine (a support's canopy, a shearer's drum) stands
      // for the machine: select the equipment node.
      while (n && n.tags.includes("equipment-part") && n.parent) n = this.replica.nodes.get(n.parent);
      if (!n) continue;
      const found = { id: n.id, handle: n.handle, point: this.toScene(hit.point), distance: hit.distance };
      const shell = n.tags.some((t) => SHELLS.includes(t.split(":")[0]));
      if (!shell) return first && hit.distance - first.distance > 30 ? first : found;
      first ??= found;
    }
    return first;
  }

  startMeasure() { this.measuring = []; }

  // ------------------------------------------------------------------ the frame loop

  tick() {
    const now = performance.now();
    this.frames++;
    let animate = false;
    if (this.replica) {
      for (const v of this.views.values()) {
        if (this.interp.moving(v.handle, now)) {
          const p = this.interp.position(v.handle, now);
          v.group.position.set(p[0], p[1], p[2]);
          animate = true;
        } else if (this.interp.tracks.has(v.handle) && v.settled !== this.interp.tracks.get(v.handle).t0) {
          const p = this.interp.position(v.handle, now);
          v.group.position.set(p[0], p[1], p[2]);
          v.settled = this.interp.tracks.get(v.handle).t0;
          animate = true;
        }
        if (v.blink > 0 && v.materials.length) {
          // Blinking glows on and off in the node's colour; the node stays visible and
          // clickable all the time.
          const on = Math.floor(now / 1000 * v.blink * 2) % 2 === 0;
          if (v.blinkOn !== on) {
            v.blinkOn = on;
            for (const m of v.materials) m.emissive?.setHex(on ? v.blinkColor : v.emissive);
            animate = true;
          }
        }
      }
    }
    if (this.fly) { this.fly.update((now - this.lastTick) / 1000); animate = true; }
    this.lastTick = now;
    // a person in alarm blinks (4 Hz): render when the blink turns
    const phase = Math.floor(now / 250);
    if (this.peopleBlink && phase !== this.blinkPhase) animate = true;
    this.blinkPhase = phase;
    if (!(this.dirty || animate)) return;
    // ?fps=N: at most N pictures a second (a display PC without a GPU driving several
    // screens, a machine shared by many views); what changed meanwhile waits for the next
    if (this.maxFps > 0 && now - this.lastRenderAt < 1000 / this.maxFps) { this.dirty = true; return; }
    this.lastRenderAt = now;
    this.dirty = false;
    const t0 = performance.now();
    this.peopleBlink = this.people.update(now);
    this.workings.update();
    this.setScaleMode();
    this.planLines.update();
    this.scene.updateMatrixWorld();
    this.batches.update(this.replica);
    this.renderer.render(this.scene, this.camera);
    this.labels.render(this.scene, this.camera);
    this.declutter();
    this.dispatchEvent(new Event("rendered"));
    this.renderMs += performance.now() - t0;
    this.renders++;
    if (this.firstRenderAt === null && this.views.size && !this.pending) {
      this.firstRenderAt = now;
      this.dispatchEvent(new Event("firstframe"));
    }
  }
}
