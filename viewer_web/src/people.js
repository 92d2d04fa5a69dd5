// People as screen-space markers (issue #19.2): one THREE.Points draw call for everyone
// underground, a fixed size in pixels at any zoom, drawn over the rock and the see-through
// shells; cyan (never the supports' yellow), red and blinking for an SOS or a person in alarm.
// At overview scale each area shows its headcount at its people's centre; close up, names.
import * as THREE from "three";
import { CSS2DObject } from "three/addons/renderers/CSS2DRenderer.js";

const NORMAL = new THREE.Color(0x22d3ee);
const LEADER = new THREE.Color(0xa5f3fc);
const ALARM = new THREE.Color(0xff3b30);
const DARK = new THREE.Color(0x5a0d0a);
/** Camera distance (m) beyond which the view is "overview": counts per area, no names. */
export const OVERVIEW_M = 700;
/** Names show for people closer than this to the camera (m). */
export const NAMES_M = 160;
export const MARKER_PX = 12;

function discTexture() {
  const c = document.createElement("canvas");
  c.width = c.height = 64;
  const g = c.getContext("2d");
  g.beginPath(); g.arc(32, 32, 28, 0, Math.PI * 2);
  g.fillStyle = "#ffffff"; g.fill();
  g.lineWidth = 7; g.strokeStyle = "#0d1117"; g.stroke();       // a dark rim: legible on any ground
  return new THREE.CanvasTexture(c);
}

export class PeopleLayer {
  constructor(view) {
    this.view = view;
    this.capacity = 0;
    this.geometry = new THREE.BufferGeometry();
    this.material = new THREE.PointsMaterial({
      size: MARKER_PX, sizeAttenuation: false, vertexColors: true, map: discTexture(),
      transparent: true, alphaTest: 0.4, depthTest: false, depthWrite: false,
    });
    this.points = new THREE.Points(this.geometry, this.material);
    this.points.frustumCulled = false;
    this.points.renderOrder = 10;
    view.scene.add(this.points);
    this.shown = [];               // [{handle, x, y, z}] in three's world coordinates
    this.counts = new Map();       // area code → CSS2DObject (overview headcounts)
    this.byArea = new Map();       // area code → {x, y, z, n} of the people shown
    this.hidden = false;
    this.resize(64);
  }

  resize(n) {
    this.capacity = n;
    this.geometry.setAttribute("position", new THREE.BufferAttribute(new Float32Array(n * 3), 3));
    this.geometry.setAttribute("color", new THREE.BufferAttribute(new Float32Array(n * 3), 3));
  }

  isPerson(n) { return n?.tags.includes("person"); }

  alarmed(n) {
    return n.props.get("sos") === true || (n.props.get("alarm_level") ?? 0) > 0 || n.blink > 0;
  }

  /** Rebuilds the markers from the people's groups (called before each render). */
  update(now) {
    const v = this.view;
    const replica = v.replica;
    const shown = [];
    const blinkOn = Math.floor(now / 250) % 2 === 0;
    const p = new THREE.Vector3();
    let alarm = false;
    if (replica && !this.hidden) {
      for (const view of v.views.values()) {
        const n = replica.nodes.get(view.handle);
        if (!this.isPerson(n) || !view.group.visible) continue;
        let up = true;
        for (let o = view.group.parent; o; o = o.parent) if (!o.visible) { up = false; break; }
        if (!up) continue;
        view.group.updateWorldMatrix(true, false);
        p.set(0, 0, 1.2).applyMatrix4(view.group.matrixWorld);     // about chest height
        const bad = this.alarmed(n);
        alarm ||= bad;
        shown.push({ handle: n.handle, x: p.x, y: p.y, z: p.z,
          color: bad ? (blinkOn ? ALARM : DARK) : n.tags.includes("person:leader") ? LEADER : NORMAL, n });
      }
    }
    if (shown.length > this.capacity) this.resize(Math.max(shown.length, this.capacity * 2));
    const pos = this.geometry.attributes.position.array;
    const col = this.geometry.attributes.color.array;
    shown.forEach((s, i) => {
      pos[i * 3] = s.x; pos[i * 3 + 1] = s.y; pos[i * 3 + 2] = s.z;
      col[i * 3] = s.color.r; col[i * 3 + 1] = s.color.g; col[i * 3 + 2] = s.color.b;
    });
    this.geometry.setDrawRange(0, shown.length);
    this.geometry.attributes.position.needsUpdate = true;
    this.geometry.attributes.color.needsUpdate = true;
    this.shown = shown;
    this.updateCounts(shown);
    return alarm;                                    // blinking: keep rendering
  }

  /** Headcount badges per area at the centre of its people (shown at overview scale). */
  updateCounts(shown) {
    const by = new Map();
    for (const s of shown) {
      const area = s.n.props.get("area");
      if (!area) continue;
      const a = by.get(area) ?? { x: 0, y: 0, z: 0, n: 0 };
      a.x += s.x; a.y += s.y; a.z += s.z; a.n += 1;
      by.set(area, a);
    }
    this.byArea = by;                // (the workings' labels take their headcount from here)
    const replica = this.view.replica;
    // an area with a working face or heading: its label carries the headcount
    const badge = (code) => by.has(code) && !this.view.workings?.areas.has(code);
    for (const [code, obj] of this.counts) if (!badge(code)) { obj.removeFromParent(); obj.element.remove(); this.counts.delete(code); }
    for (const [code, a] of by) {
      if (!badge(code)) continue;
      let obj = this.counts.get(code);
      if (!obj) {
        const el = document.createElement("div");
        el.className = "label count";
        obj = new CSS2DObject(el);
        obj.userData.kind = "count";
        this.view.scene.add(obj);
        this.counts.set(code, obj);
      }
      const area = replica?.node(`area/${code}`);
      const rated = area?.props.get("rated_headcount");
      const text = `${area?.name ?? code} ${a.n}人`;
      if (obj.element.textContent !== text) obj.element.textContent = text;
      obj.element.classList.toggle("over", !!rated && a.n > rated);
      obj.position.set(a.x / a.n, a.y / a.n + 8, a.z / a.n);
    }
  }

  /** Overview: area counts on; close: off. */
  setScale(overview) {
    for (const obj of this.counts.values()) obj.visible = overview && !this.hidden;
  }

  /** Where a person's marker is on the page ({x, y}), or null when not shown. */
  markerAt(id) {
    const s = this.shown.find((x) => x.n.id === id);
    if (!s) return null;
    const v = this.view, r = v.renderer.domElement.getBoundingClientRect();
    const p = new THREE.Vector3(s.x, s.y, s.z).project(v.camera);
    return { x: r.left + (p.x + 1) / 2 * r.width, y: r.top + (1 - p.y) / 2 * r.height };
  }

  /** The person marker under a page position (within the marker's radius + 3 px), or null. */
  pick(clientX, clientY) {
    const v = this.view;
    const r = v.renderer.domElement.getBoundingClientRect();
    const p = new THREE.Vector3();
    let best = null;
    for (const s of this.shown) {
      p.set(s.x, s.y, s.z).project(v.camera);
      if (Math.abs(p.z) > 1) continue;
      const x = r.left + (p.x + 1) / 2 * r.width, y = r.top + (1 - p.y) / 2 * r.height;
      const d = Math.hypot(x - clientX, y - clientY);
      if (d <= MARKER_PX / 2 + 3 && (!best || d < best.d)) best = { d, s };
    }
    return best ? best.s.n : null;
  }
}
