// The 2D plan (一张图), linked to the 3D view (issue #19.7): an orthographic three.js view,
// looking straight down, of the same replica — its roadways (GET /api/plan), workings, sensors
// in their state's colour and everyone underground (the 3D view's own marker buffer) — in a
// renderer and scene of its own that hold only those few thousand vertices, drawn at most four
// times a second (two without a GPU): a second full render of the 3D scene per frame halved the 3D view's rate on
// a PC without a GPU. North is up; the wheel zooms, a drag pans (OrbitControls, no rotation).
// A 2D canvas on top writes the names (roadways, workings, area headcounts), a north arrow and
// a scale bar. A click picks the nearest sensor, person or working and frames it in 3D;
// selecting in 3D centres the plan on it.
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { LineMaterial } from "three/addons/lines/LineMaterial.js";
import { LineSegments2 } from "three/addons/lines/LineSegments2.js";
import { LineSegmentsGeometry } from "three/addons/lines/LineSegmentsGeometry.js";
import { roadwaySegments, workingText } from "./plan3d.js";
import { niceLength } from "./ui/mapkit.js";
import { hex } from "./view3d.js";

const PICK_PX = 10;
const MIN_INTERVAL_MS = 250;

export class PlanView extends EventTarget {
  constructor(view, box) {
    super();
    this.view = view;
    this.box = box;
    // on a PC without a GPU: no multisampling, and two pictures a second (docs/benchmarks.md)
    this.renderer = new THREE.WebGLRenderer({ antialias: !view.software, preserveDrawingBuffer: true });
    this.interval = view.software ? 2 * MIN_INTERVAL_MS : MIN_INTERVAL_MS;
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.domElement.className = "plan-canvas";
    box.append(this.renderer.domElement);
    this.canvas = document.createElement("canvas");   // names, arrow, scale
    this.canvas.className = "plan-overlay";
    box.append(this.canvas);
    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color(0x0b0f14);
    this.world = new THREE.Group();
    this.world.rotation.x = -Math.PI / 2;             // scene z-up → three y-up, as the 3D view
    this.scene.add(this.world);
    this.lineMaterial = new LineMaterial({ linewidth: 2.5, vertexColors: true });
    this.workMaterial = new LineMaterial({ linewidth: 5, color: 0xf1c40f });
    this.sensorGeometry = new THREE.BufferGeometry();
    this.sensors = new THREE.Points(this.sensorGeometry, new THREE.PointsMaterial({
      size: 8, sizeAttenuation: false, vertexColors: true, map: view.people.material.map, alphaTest: 0.4,
      transparent: true, depthTest: false }));
    this.sensors.frustumCulled = false;
    this.world.add(this.sensors);
    // everyone underground: the 3D view's marker buffer (three world coordinates), shared
    this.people = new THREE.Points(view.people.geometry, view.people.material.clone());
    this.people.material.size = 10;
    this.people.frustumCulled = false;
    this.people.renderOrder = 2;
    this.scene.add(this.people);
    this.camera = new THREE.OrthographicCamera(-1, 1, 1, -1, 1, 100000);
    this.controls = new OrbitControls(this.camera, this.canvas.parentElement);
    this.controls.enableRotate = false;
    this.controls.screenSpacePanning = true;
    this.controls.mouseButtons = { LEFT: THREE.MOUSE.PAN, MIDDLE: THREE.MOUSE.DOLLY, RIGHT: THREE.MOUSE.PAN };
    this.controls.addEventListener("change", () => this.request());
    this.plan = null;
    this.homed = false;
    this.last = 0;
    let down = null;
    box.addEventListener("pointerdown", (e) => { down = [e.clientX, e.clientY]; });
    box.addEventListener("pointerup", (e) => {
      if (!down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 4) return;
      const hit = this.pick(e.clientX, e.clientY);
      if (hit) this.dispatchEvent(new CustomEvent("pick", { detail: hit }));
    });
    view.addEventListener("rendered", () => this.request());
    (view.occluders ??= []).push(() => (this.box.hidden ? null : this.rect()));
    new ResizeObserver(() => { this.resize(); this.request(); }).observe(box);
  }

  /** The inset's rectangle relative to the 3D canvas (CSS pixels). */
  rect() {
    const c = this.view.renderer.domElement.getBoundingClientRect();
    const b = this.box.getBoundingClientRect();
    return { x: b.left - c.left, y: b.top - c.top, w: b.width, h: b.height };
  }

  setPlan(plan) {
    this.plan = plan;
    for (const o of [this.roads, this.works]) o?.removeFromParent();
    const { positions, colors } = roadwaySegments(plan);
    const g = new LineSegmentsGeometry();
    g.setPositions(positions);
    g.setColors(colors);
    this.roads = new LineSegments2(g, this.lineMaterial);
    this.world.add(this.roads);
    const wp = [];
    for (const w of plan.workings ?? []) if (w.line.length > 1) wp.push(...w.line[0], ...w.line[1]);
    if (wp.length) {
      const wg = new LineSegmentsGeometry();
      wg.setPositions(wp);
      this.works = new LineSegments2(wg, this.workMaterial);
      this.world.add(this.works);
    }
    this.request();
  }

  /** The roadways in the risk map's colours (``colorOf(roadway)``), or their own without. */
  recolor(colorOf = null) {
    if (!this.roads || !this.plan) return;
    this.roads.geometry.setColors(roadwaySegments(this.plan, colorOf).colors);
    this.request();
  }

  resize() {
    const { w, h } = this.rect();
    this.renderer.setSize(Math.max(1, w), Math.max(1, h));
    const dpr = this.renderer.getPixelRatio();
    for (const m of [this.lineMaterial, this.workMaterial]) m.resolution.set(w * dpr, h * dpr);
    const aspect = Math.max(w, 1) / Math.max(h, 1);
    const half = this.halfHeight ?? 1000;
    Object.assign(this.camera, { left: -half * aspect, right: half * aspect, top: half, bottom: -half });
    this.camera.updateProjectionMatrix();
  }

  /** Frames the whole mine (the roadways' plan extent). */
  home() {
    const b = this.view.mineBox();
    const c = b.getCenter(new THREE.Vector3()), s = b.getSize(new THREE.Vector3());
    const { w, h } = this.rect();
    const aspect = Math.max(w, 1) / Math.max(h, 1);
    this.halfHeight = 0.55 * Math.max(s.y, s.x / aspect, 100);
    this.camera.zoom = 1;
    this.lookAt([c.x, c.y, c.z]);
    this.homed = true;
  }

  /** Centres the plan on a scene point (north up, looking straight down). */
  lookAt(p) {
    const target = new THREE.Vector3(p[0], p[2], -p[1]);     // scene → three (x, z, −y)
    this.camera.position.copy(target).add(new THREE.Vector3(0, 20000, 0));
    this.camera.up.set(0, 0, -1);                            // three's −z is the scene's north
    this.controls.target.copy(target);
    this.camera.lookAt(target);
    this.resize();
    this.controls.update();
    this.request();
  }

  frame(id) {
    const p = this.view.nodePosition(id);
    if (p) this.lookAt(p);
  }

  /** The plan's centre in scene coordinates. */
  center() { const t = this.controls.target; return [t.x, -t.z, t.y]; }

  /** Page position of a scene point in the plan. */
  toPage(p) {
    const b = this.box.getBoundingClientRect();
    const v = new THREE.Vector3(p[0], p[2], -p[1]).project(this.camera);
    return [b.left + (v.x + 1) / 2 * b.width, b.top + (1 - v.y) / 2 * b.height];
  }

  /** Asks for a picture: at most four a second. */
  request() {
    if (this.timer) return;
    const wait = Math.max(0, this.last + this.interval - performance.now());
    this.timer = setTimeout(() => { this.timer = null; this.render(); }, wait);
  }

  render() {
    const v = this.view;
    if (this.box.hidden || !v.replica) return;
    if (!this.homed && v.views.size) this.home();
    const { w, h } = this.rect();
    if (w < 10 || h < 10) return;
    this.last = performance.now();
    // the sensors, in their state's colour (hidden with their layer)
    const pts = [], cols = [], c = new THREE.Color();
    this.sensorNodes = [];
    if (!v.hiddenLayers.has("sensor")) {
      for (const n of v.replica.nodes.values()) {
        if (!n.tags.includes("sensor")) continue;
        const p = v.nodePosition(n.id);
        if (!p) continue;
        pts.push(p[0], p[1], p[2]);
        c.setHex(n.color === 0xffffff ? 0x2ecc71 : n.color);
        cols.push(c.r, c.g, c.b);
        this.sensorNodes.push([n, p]);
      }
    }
    this.sensorGeometry.setAttribute("position", new THREE.Float32BufferAttribute(pts, 3));
    this.sensorGeometry.setAttribute("color", new THREE.Float32BufferAttribute(cols, 3));
    this.people.visible = !v.hiddenLayers.has("person");
    if (this.roads) this.roads.visible = !v.hiddenLayers.has("roadway");
    this.renderer.render(this.scene, this.camera);
    this.renders = (this.renders ?? 0) + 1;
    this.overlay(w, h);
  }

  /** Names, sensor dots, north arrow and scale bar on the 2D canvas over the inset. */
  overlay(w, h) {
    const v = this.view;
    const dpr = window.devicePixelRatio || 1;
    const cv = this.canvas;
    if (cv.width !== Math.round(w * dpr) || cv.height !== Math.round(h * dpr)) {
      cv.width = Math.round(w * dpr); cv.height = Math.round(h * dpr);
      cv.style.width = `${w}px`; cv.style.height = `${h}px`;
    }
    const g = cv.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const box = this.box.getBoundingClientRect();
    const at = (p) => { const [px, py] = this.toPage(p); return [px - box.left, py - box.top]; };
    const inside = ([px, py]) => px >= 0 && py >= 0 && px <= w && py <= h;
    this.dots = [];
    const placed = [];
    const text = (s, [px, py], color, font = "12px sans-serif", bg = "#0b0f14cc") => {
      g.font = font;
      const tw = g.measureText(s).width + 6, th = 16;
      const b = [px - tw / 2, py - th / 2, px + tw / 2, py + th / 2];
      if (placed.some((q) => b[0] < q[2] && q[0] < b[2] && b[1] < q[3] && q[1] < b[3])) return false;
      placed.push(b);
      g.fillStyle = bg; g.fillRect(b[0], b[1], tw, th);
      g.fillStyle = color; g.textAlign = "center"; g.textBaseline = "middle"; g.fillText(s, px, py);
      return true;
    };
    // sensors: their dots are drawn by the picture; those not normal get their label
    const sensors = (this.sensorNodes ?? []).slice().sort(([a], [b]) => v.labelPriority(b) - v.labelPriority(a));
    for (const [n, p] of sensors) {
      const q = at(p);
      if (!inside(q)) continue;
      this.dots.push({ id: n.id, x: q[0], y: q[1] });
      if (v.labelPriority(n) >= 2 && n.label) text(n.label, [q[0], q[1] - 12], hex(n.color), "bold 12px sans-serif");
    }
    // workings: name and advance
    for (const wk of this.plan?.workings ?? []) {
      const pts = wk.line;
      const mid = pts.length > 1 ? pts[0].map((c, i) => (c + pts[1][i]) / 2) : pts[0];
      const q = at(mid);
      if (inside(q)) {
        const n = v.replica?.node(wk.node);              // live advance and headcount
        const area = n?.props.get("area");
        const label = n ? workingText(n, (area && v.people.byArea.get(area)?.n) || 0) : `${wk.name} ${wk.advanced_m} m`;
        text(label, [q[0], q[1] + 14], "#f1c40f", "bold 12px sans-serif");
        this.dots.push({ id: wk.node, x: q[0], y: q[1] });
      }
    }
    // what lies ahead of the workings (ui/risk.js), in its warning line's colour
    for (const m of this.aheadShown === false ? [] : this.ahead ?? []) {
      const q = at(m.position);
      if (inside(q)) text(m.text, q, m.color, "bold 11px sans-serif");
    }
    // people: their markers are in the picture; the area headcounts
    for (const s of v.people.shown) {
      const p = v.nodePosition(s.n.id);
      if (p) { const q = at(p); if (inside(q)) this.dots.push({ id: s.n.id, x: q[0], y: q[1] }); }
    }
    for (const obj of v.people.counts.values()) {
      const q = at(v.toScene(obj.position.clone()));
      if (inside(q)) text(obj.element.textContent, q, "#e6edf3", "bold 12px sans-serif", "#0e4b5acc");
    }
    // roadway names along their middle
    for (const r of this.plan?.roadways ?? []) {
      if ((r.length_m ?? 0) < 150) continue;
      const mid = r.points[Math.floor(r.points.length / 2)];
      const q = at(mid);
      if (inside(q)) text(r.name, q, "#c9d1d9");
    }
    // north arrow (north is up) and scale bar
    g.fillStyle = "#e6edf3"; g.font = "bold 12px sans-serif"; g.textAlign = "center";
    g.fillText("N", w - 18, 14);
    g.beginPath(); g.moveTo(w - 18, 18); g.lineTo(w - 23, 34); g.lineTo(w - 13, 34); g.closePath();
    g.fillStyle = "#e74c3c"; g.fill();
    const pxPerM = w / ((this.camera.right - this.camera.left) / this.camera.zoom);
    const { metres, px } = niceLength(pxPerM, 120);
    g.strokeStyle = "#e6edf3"; g.lineWidth = 2;
    g.beginPath(); g.moveTo(10, h - 12); g.lineTo(10, h - 8); g.lineTo(10 + px, h - 8); g.lineTo(10 + px, h - 12); g.stroke();
    g.fillStyle = "#e6edf3"; g.textAlign = "left"; g.font = "11px sans-serif";
    g.fillText(metres >= 1000 ? `${metres / 1000} km` : `${metres} m`, 14 + px, h - 8);
    this.scale = { metres, px };
  }

  /** The nearest sensor, person or working to a page position, within a few pixels. */
  pick(clientX, clientY) {
    const b = this.box.getBoundingClientRect();
    const x = clientX - b.left, y = clientY - b.top;
    let best = null;
    for (const d of this.dots ?? []) {
      const e = Math.hypot(d.x - x, d.y - y);
      if (e <= PICK_PX && (!best || e < best.e)) best = { e, id: d.id };
    }
    return best ? { id: best.id } : null;
  }
}
