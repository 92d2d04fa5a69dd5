// The mine's plan drawn into the 3D view (GET /api/plan): every roadway's centreline as a line
// a few pixels wide at any zoom (three's LineSegments2, coloured intake / return / belt as the
// roadway meshes), so at overview scale the network reads instead of 1–2 px meshes, and the
// longer roadways' names. Close up the meshes themselves show and the lines step back.
import * as THREE from "three";
import { LineMaterial } from "three/addons/lines/LineMaterial.js";
import { LineSegments2 } from "three/addons/lines/LineSegments2.js";
import { LineSegmentsGeometry } from "three/addons/lines/LineSegmentsGeometry.js";
import { CSS2DObject } from "three/addons/renderers/CSS2DRenderer.js";
import { t } from "./strings.js";

/** Roadways at least this long (m) carry their name at overview scale. */
const NAMED_M = 250;

/** The plan's roadways as line segments: {positions, colors} (flat arrays, scene metres),
 * coloured by each roadway's role — what both the 3D view's and the 2D plan's lines draw. */
export function roadwaySegments(plan, colorOf = null) {
  const positions = [], colors = [], c = new THREE.Color();
  for (const r of plan.roadways ?? []) {
    c.setHex(colorOf?.(r) ?? r.color ?? 0xb8b0a0);      // (the risk map's colour, when on)
    for (let i = 0; i + 1 < r.points.length; i++) {
      positions.push(...r.points[i], ...r.points[i + 1]);
      colors.push(c.r, c.g, c.b, c.r, c.g, c.b);
    }
  }
  return { positions, colors };
}

export class PlanLines {
  constructor(view) {
    this.view = view;
    this.material = new LineMaterial({ linewidth: 3, vertexColors: true, transparent: true, opacity: 0.95,
      depthTest: false, depthWrite: false });
    this.lines = null;
    this.names = [];           // CSS2DObjects, userData.node = the roadway node id
    this.plan = null;
  }

  set(plan) {
    this.plan = plan;
    const v = this.view;
    this.lines?.removeFromParent();
    for (const n of this.names) { n.removeFromParent(); n.element.remove(); }
    this.names = [];
    for (const r of plan.roadways ?? []) {
      if ((r.length_m ?? 0) >= NAMED_M && r.points.length >= 2) {
        const el = document.createElement("div");
        el.className = "label road";
        el.textContent = r.name;
        const obj = new CSS2DObject(el);
        const mid = r.points[Math.floor((r.points.length - 1) / 2)], next = r.points[Math.floor((r.points.length - 1) / 2) + 1] ?? mid;
        obj.position.set((mid[0] + next[0]) / 2, (mid[1] + next[1]) / 2, (mid[2] + next[2]) / 2 + 3);
        obj.userData.node = r.node;
        v.world.add(obj);
        this.names.push(obj);
      }
    }
    const { positions, colors } = roadwaySegments(plan);
    const geo = new LineSegmentsGeometry();
    geo.setPositions(positions);
    geo.setColors(colors);
    this.lines = new LineSegments2(geo, this.material);
    this.lines.renderOrder = 5;
    this.lines.userData.plan = true;
    v.world.add(this.lines);
    this.update();
  }

  /** Each roadway's line in ``colorOf(roadway)`` (a hex; null: its role's), or back to its
   * role's colour without ``colorOf`` — the risk map (ui/risk.js). */
  recolor(colorOf = null) {
    if (!this.lines || !this.plan) return;
    this.lines.geometry.setColors(roadwaySegments(this.plan, colorOf).colors);
    this.view.dirty = true;
  }

  /** Called before each render: the lines' pixel size, and whether they (and the names) show. */
  update() {
    const v = this.view;
    const r = v.renderer.domElement;
    this.material.resolution.set(r.width, r.height);
    const hidden = v.hiddenLayers.has("roadway");
    const far = v.camera.position.distanceTo(v.orbit.target);
    if (this.lines) {
      this.lines.visible = !hidden;
      // close up the roadway meshes are the picture: the lines thin out and fade
      this.material.linewidth = far > 400 ? 3 : 1.5;
      this.material.opacity = far > 400 ? 0.95 : 0.5;
    }
    for (const n of this.names) n.visible = !hidden && v.showLabels && far > 400;
  }
}

const UP = new THREE.Vector3(0, 14, 0);

/** What a working face's or heading's label says: name, advance and headcount. */
export function workingText(n, count) {
  const adv = Number(n.props.get("advanced_m") ?? 0);
  return t("working.label", { name: n.name, adv: adv.toFixed(1), n: count });
}

/** Every longwall face and heading labelled where it works (its node), with its advance and
 * the headcount of its area (people.byArea) — always shown, the most important after alarms. */
export class WorkingLabels {
  constructor(view) {
    this.view = view;
    this.labels = new Map();     // node id → CSS2DObject
    this.areas = new Set();      // the areas the workings are in
  }

  /** Called before each render (after the people's counts). */
  update() {
    const v = this.view, replica = v.replica;
    const seen = new Set();
    this.areas = new Set();
    if (replica) {
      for (const n of replica.nodes.values()) {
        if (!n.tags.includes("face:longwall") && !n.tags.includes("face:heading")) continue;
        const p = v.nodePosition(n.id);
        if (!p) continue;
        seen.add(n.id);
        let obj = this.labels.get(n.id);
        if (!obj) {
          const el = document.createElement("div");
          el.className = "label working";
          obj = new CSS2DObject(el);
          obj.userData.node = n.id;
          v.scene.add(obj);
          this.labels.set(n.id, obj);
        }
        const area = n.props.get("area");
        if (area) this.areas.add(area);
        const count = (area && v.people.byArea.get(area)?.n) || 0;
        const rated = area && replica.node(`area/${area}`)?.props.get("rated_headcount");
        const text = workingText(n, count);
        if (obj.element.textContent !== text) obj.element.textContent = text;
        obj.element.classList.toggle("over", !!rated && count > rated);
        obj.position.copy(v.toThree(p)).add(UP);          // above it (three's y is up)
        obj.visible = v.showLabels && !v.hiddenLayers.has("face");
      }
    }
    for (const [id, obj] of this.labels) {
      if (!seen.has(id)) { obj.removeFromParent(); obj.element.remove(); this.labels.delete(id); }
    }
  }
}
