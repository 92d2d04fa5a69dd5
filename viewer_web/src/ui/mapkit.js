// What every map carries: a legend (the colours the view uses, from GET /api/plan), a north
// arrow turning with the camera and a scale bar at the target's distance — on the operator's
// screen and on the wall.
import { hex } from "../view3d.js";
import { t } from "../strings.js";
import { el } from "./dom.js";

const NICE = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/** A scale bar's length: the longest round length (m) at most `maxPx` long, and its pixels. */
export function niceLength(pxPerM, maxPx) {
  const metres = [...NICE].reverse().find((m) => m * pxPerM <= maxPx) ?? NICE[0];
  return { metres, px: metres * pxPerM };
}

/** Screen pixels per scene metre at the orbit target, and the screen angle of north (rad). */
export function mapGeometry(view) {
  const r = view.renderer.domElement.getBoundingClientRect();
  const target = view.toScene(view.orbit.target);
  const at = (p) => {
    const v = view.toThree(p).project(view.camera);
    return [(v.x + 1) / 2 * r.width, (1 - v.y) / 2 * r.height];
  };
  const o = at(target);
  const east = at([target[0] + 100, target[1], target[2]]);
  const north = at([target[0], target[1] + 100, target[2]]);
  const pxPerM = Math.hypot(east[0] - o[0], east[1] - o[1]) / 100;
  const northAngle = Math.atan2(north[0] - o[0], o[1] - north[1]);   // 0 = up, clockwise
  return { pxPerM, northAngle };
}

export class MapFurniture {
  constructor({ view, kiosk = false }) {
    this.view = view;
    this.arrow = el("div.north-arrow", { title: t("map.north") }, el("span.n", {}, "N"), el("span.needle"));
    this.barLine = el("div.bar");
    this.barText = el("span.bar-text");
    this.scale = el("div.scale-bar", {}, this.barLine, this.barText);
    this.legend = el("div.legend");
    this.root = el(`div#mapkit${kiosk ? ".kiosk" : ""}`, {}, this.arrow, this.scale, this.legend);
    view.container.append(this.root);
    view.addEventListener("rendered", () => this.update());
  }

  setPlan(plan) {
    const c = plan.colors ?? {};
    const swatch = (color, label, cls = "") => el(`div.item${cls}`, {}, el("span.swatch", { style: cls === ".zone" ? { borderColor: hex(color) } : { background: hex(color) } }), label);
    const rows = [
      el("div.title", {}, t("map.legend")),
      // roadways by their role, or — the risk map on — by their area's risk level
      ...(this.risk ? this.risk.map(([color, label]) => swatch(color, label, ".line")) :
        ["intake", "return", "belt"].filter((k) => c.roadway?.[k] != null).map((k) => swatch(c.roadway[k], t(`map.road.${k}`), ".line"))),
      swatch(0x22d3ee, t("map.person"), ".dot"), swatch(0xff3b30, t("map.person.alarm"), ".dot"),
      swatch(0x2ecc71, t("map.sensor.normal"), ".dot"), swatch(0xf39c12, t("map.sensor.warning"), ".dot"),
      swatch(0xe74c3c, t("map.sensor.alarm"), ".dot"), swatch(0x95a5a6, t("map.sensor.fault"), ".dot"),
      ...Object.entries(c.hazard ?? {}).filter(([k]) => !this.view.hiddenLayers.has(`hazard:${k}`))
        .map(([k, color]) => swatch(color, t(`layer.hazard:${k}`), ".zone")),
    ];
    this.legend.replaceChildren(...rows);
    this.plan = plan;
  }

  /** The risk map's roadway colours ([[color, label]…]) in the legend, or null: the roles'. */
  setRisk(items) {
    this.risk = items;
    if (this.plan) this.setPlan(this.plan);
  }

  update() {
    if (this.plan && this.hiddenKey !== [...this.view.hiddenLayers].join()) {
      this.hiddenKey = [...this.view.hiddenLayers].join();
      this.setPlan(this.plan);                     // the legend lists the zones shown
    }
    const { pxPerM, northAngle } = mapGeometry(this.view);
    if (!(pxPerM > 0) || !Number.isFinite(northAngle)) return;
    const { metres } = niceLength(pxPerM, 180);
    const px = Math.round(metres * pxPerM);
    this.barLine.style.width = `${px}px`;
    this.barText.textContent = metres >= 1000 ? `${metres / 1000} km` : `${metres} m`;
    this.scale.dataset.metres = String(metres);
    this.scale.dataset.px = String(px);
    this.arrow.style.transform = `rotate(${northAngle}rad)`;
    this.arrow.dataset.angle = northAngle.toFixed(3);
  }
}
