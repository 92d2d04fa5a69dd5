// Video-wall mode. A tile (?wall=GROUP&grid=3x2&tile=X,Y) renders its part of one large
// virtual screen (three.js setViewOffset) from its group's shared camera, which the server
// relays; an operator's browser drives that camera, by hand or by an automatic tour.
import { t } from "../strings.js";
import { el, fill, panel } from "./dom.js";

/** {group, cols, rows, x, y} from the page's query, or null; throws on a malformed one. */
export function parseWall(search) {
  const q = new URLSearchParams(search);
  const group = q.get("wall");
  if (!group) return null;
  const grid = /^(\d+)x(\d+)$/.exec(q.get("grid") ?? "1x1");
  const tile = /^(\d+),(\d+)$/.exec(q.get("tile") ?? "0,0");
  if (!grid || !tile) throw new Error("wall mode: grid=COLSxROWS and tile=X,Y");
  const [cols, rows, x, y] = [grid[1], grid[2], tile[1], tile[2]].map(Number);
  if (!(cols >= 1 && rows >= 1 && x < cols && y < rows)) throw new Error(`wall mode: tile ${x},${y} outside a ${cols}x${rows} grid`);
  return { group, cols, rows, x, y };
}

/** Makes this page a wall tile: kiosk layout, following the group's camera. */
export function startTile({ conn, view, wall }) {
  document.body.classList.add("kiosk");
  view.setWall(wall);
  conn.follow.add(wall.group);
  conn.addEventListener("camera", (e) => {
    if (e.detail.group !== wall.group) return;
    view.setCamera(e.detail);
    view.cameraFrom = e.detail;
    // The layers the driving view shows: the wall shows the same (docs/protocol.md "camera").
    if (Array.isArray(e.detail.hidden)) view.setHiddenLayers(e.detail.hidden);
  });
}

/** Sends this browser's camera to a wall group, at most `rate` times a second. */
export class CameraDriver {
  constructor({ conn, view, rate = 4 }) {
    this.conn = conn;
    this.view = view;
    this.interval = 1000 / rate;
    this.group = null;
    this.last = 0;
    this.timer = null;
    view.addEventListener("camera", () => this.changed());
  }

  drive(group) { this.group = group; if (group) this.send(); }

  changed() {
    if (!this.group || this.timer) return;
    const wait = Math.max(0, this.last + this.interval - performance.now());
    this.timer = setTimeout(() => { this.timer = null; this.send(); }, wait);
  }

  send() {
    this.last = performance.now();
    return this.conn.command("camera_set", { group: this.group, ...this.view.cameraState(),
      hidden: [...this.view.hiddenLayers] });
  }
}

export class WallPanel {
  constructor({ conn, view, cameraPanel }) {
    this.conn = conn;
    this.view = view;
    this.cameras = cameraPanel;
    this.driver = new CameraDriver({ conn, view });
    this.p = panel("wall", t("panel.wall"));
    this.p.root.classList.add("collapsed");
    this.tour = null;
    this.render();
    conn.addEventListener("auth", () => this.render());
  }

  get root() { return this.p.root; }

  startTour(group, dwell) {
    this.stopTour();
    const views = this.cameras.views;
    if (!views.length) return;
    let i = 0;
    const next = () => {
      const v = views[i++ % views.length];
      this.view.setCamera(v);
      this.conn.command("camera_set", { group, position: v.position, target: v.target, fov: v.fov ?? 50,
        hidden: [...this.view.hiddenLayers] });
      this.tour = setTimeout(next, (v.dwell ?? dwell) * 1000);
    };
    next();
  }

  stopTour() { clearTimeout(this.tour); this.tour = null; }

  render() {
    const group = el("input.wall-group", { value: "wall-1", size: 8 });
    const dwell = el("input.wall-dwell", { type: "number", min: 2, value: 10, style: { width: "4em" } });
    const allowed = ["operator", "instructor", "admin"].includes(this.conn.role);
    fill(this.p.body, 
      el("div.row", {}, t("wall.group"), group),
      el("label", {}, el("input.wall-drive", {
        type: "checkbox", disabled: !allowed,
        onchange: (e) => this.driver.drive(e.target.checked ? group.value : null),
      }), ` ${t("wall.drive")}`),
      el("div.row", {},
        el("button.wall-tour", { disabled: !allowed, onclick: () => this.startTour(group.value, Number(dwell.value)) }, t("wall.tour")),
        dwell, t("wall.dwell", { s: "" }),
        el("button.wall-stop", { onclick: () => this.stopTour() }, t("wall.stop"))));
  }
}
