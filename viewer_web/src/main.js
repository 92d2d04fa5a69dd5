// The viewer's composition: sign in, connect, mirror the scene, and lay out the panels (or,
// in wall mode, one kiosk tile of a video wall).
import "uplot/dist/uPlot.min.css";
import { setTimeZone } from "./clock.js";
import { PlanView } from "./plan2d.js";
import { setQuantities } from "./props.js";
import { Connection } from "./connection.js";
import { setLanguage, t } from "./strings.js";
import { AlarmPanel } from "./ui/alarms.js";
import { DangerPanel } from "./ui/dangers.js";
import { el } from "./ui/dom.js";
import { Inspector } from "./ui/inspect.js";
import { KpiStrip } from "./ui/kpi.js";
import { MapFurniture } from "./ui/mapkit.js";
import { CameraPanel, HeadcountPanel, LayerPanel, SearchPanel, StatusBar } from "./ui/panels.js";
import { RiskPanel } from "./ui/risk.js";
import { ReplayPanel } from "./ui/replay.js";
import { parseWall, startTile, WallPanel } from "./ui/wall.js";
import { View3D } from "./view3d.js";

const query = new URLSearchParams(location.search);
setLanguage(query.get("lang") ?? localStorage.getItem("minetwin.lang") ?? "zh-CN");
document.documentElement.lang = query.get("lang") ?? localStorage.getItem("minetwin.lang") ?? "zh-CN";
document.title = t("title");

function login(message = "") {
  const token = el("input#token", { type: "password", autocomplete: "current-password" });
  const go = () => {
    if (!token.value) return;
    sessionStorage.setItem("minetwin.token", token.value);
    location.reload();
  };
  token.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
  document.body.replaceChildren(el("form#login", { onsubmit: (e) => { e.preventDefault(); go(); } },
    el("h1", {}, t("title")), el("h2", {}, t("login.title")),
    message ? el("div.error", {}, message) : null,
    el("label", {}, t("login.token"), token),
    el("button", { type: "submit" }, t("login.go")),
    el("p.hint", {}, t("login.hint"))));
  token.focus();
}

function start(token) {
  let wall = null;
  try { wall = parseWall(location.search); } catch (e) { document.body.textContent = e.message; return; }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const conn = new Connection(`${scheme}://${location.host}/`, token);
  const stage = el("main#stage");
  const side = el("aside#side");
  const right = el("aside#right");
  document.body.replaceChildren(stage, side, right);
  // ?aa=0 turns antialiasing off (weak display PCs, software rendering); wall tiles default off.
  const view = new View3D(stage, { antialias: query.get("aa") ? query.get("aa") !== "0" : !wall });
  view.maxFps = Math.max(0, Number(query.get("fps")) || 0);
  // the side panels cover the picture's edges: the home view frames the mine between them
  view.insets = wall ? { left: 0, right: 0 } : { left: 316, right: 376 };
  view.resize();
  // ?hide=seam,fault,… starts those layers hidden (a main kind hides all of its layers); a
  // wall's tiles start without the geology (dispatchers watch roadways, people and alarms)
  // until the view driving them says what it shows, and so does a PC without a GPU (its
  // see-through volumes would cost most frames); ?hide= (empty) shows everything. Hazard zones
  // show as outlines everywhere; their fill (hazard-fill) is switched on by hand.
  const geology = "seam,contour,stratum,fault,prediction";
  // strata (the rock between seams, the aquiclude) start hidden everywhere: switch them on
  // gas enrichment and stress concentration spread over much of the field, on every seam:
  // on demand (Layers), so the zones that matter at a glance — outburst, water, fire, goaf — read
  const broad = "hazard:gas,hazard:stress";
  // the zones' fill only on demand (its switch, or ?fill=1), whatever ?hide says
  const hide = (query.get("hide") ?? `${wall || view.software ? geology : "stratum"},${broad}`)
    + (query.get("fill") === "1" ? "" : ",hazard-fill");
  if (!query.has("hide") && !wall && view.software) view.softwareNote = true;
  for (const k of hide.split(",").map((x) => x.trim()).filter(Boolean)) view.setLayer(k, false);
  // the 2D plan, linked: a pick there frames the thing in 3D; a selection here centres the plan
  const planBox = el("div#plan", { title: t("plan.hint") });
  stage.append(planBox);
  const planView = new PlanView(view, planBox);
  // shown by default; on a PC without a GPU only when asked (a second WebGL picture costs it a
  // third of its frame rate: docs/benchmarks.md) — the status bar's 平面图 button, or ?plan=1
  planBox.hidden = !!wall || query.get("plan") === "0" || (view.software && query.get("plan") !== "1");
  // (point: where the node was clicked, scene metres — a hidden danger reported from the
  // details is placed there, not at the node's origin: a roadway is kilometres long)
  const select = (id, from = "3d", point = null) => { inspector.select(id, point); if (from !== "plan") planView.frame(id); };
  planView.addEventListener("pick", (e) => { view.focus(e.detail.id, 40); select(e.detail.id, "plan"); });
  const dangers = wall ? null : new DangerPanel({ conn, view, onSelect: select });
  const report = dangers ? (where) => dangers.report(where) : null;
  const inspector = new Inspector({ conn, view, onReport: report });
  const alarms = new AlarmPanel({ conn, view, onSelect: select, kiosk: !!wall, onReport: report });
  const kpi = new KpiStrip({ conn, alarms, onSelect: (id) => { view.focus(id, 40); select(id); } });
  const status = new StatusBar({ conn, onLanguage: () => location.reload(), softwareNote: !!view.softwareNote });
  document.body.prepend(status.root);
  if (!wall) {
    const toggle = el("button.plan-toggle", { onclick: () => {
      planBox.hidden = !planBox.hidden;
      toggle.classList.toggle("on", !planBox.hidden);
      view.dirty = true;
      planView.request();
    } }, t("plan.toggle"));
    toggle.classList.toggle("on", !planBox.hidden);
    status.root.insertBefore(toggle, status.lang);
  }
  // The plan: roadway lines and names in the 3D view, the legend, north arrow and scale bar.
  const furniture = new MapFurniture({ view, kiosk: !!wall });
  // the risk map: its panel beside the headcounts; the roadways in its colours on ?risk=1
  const risk = new RiskPanel({ conn, view, planView, furniture, onSelect: select, on: query.get("risk") === "1" });
  if (wall) {
    startTile({ conn, view, wall });
    right.append(alarms.root);
  } else {
    const cameras = new CameraPanel({ view });
    side.append(new LayerPanel({ conn, view }).root, new SearchPanel({ conn, view, onSelect: select }).root,
      new HeadcountPanel({ conn, view, onSelect: select }).root, risk.root, dangers.root, cameras.root,
      new WallPanel({ conn, view, cameraPanel: cameras }).root);
    right.append(alarms.root, inspector.root, new ReplayPanel({ conn }).root);
  }
  conn.addEventListener("frame", (e) => view.update(conn.replica, e.detail.changes));
  conn.addEventListener("auth", () => alarms.load());
  conn.addEventListener("state", (e) => {
    if (e.detail.state === "denied" && !wall) {
      sessionStorage.removeItem("minetwin.token");
      login(t("login.denied"));
    }
  });
  view.addEventListener("pick", (e) => { if (e.detail) select(e.detail.id, "3d", e.detail.point); });
  conn.start();
  // What every quantity is called and what a switch's 0 / 1 mean (the server's code table).
  fetch("api/quantities").then((r) => (r.ok ? r.json() : null)).then(setQuantities).catch(() => {});
  // The mine's time zone: every time on the screen is the mine's (clock.js).
  fetch("api/mine").then((r) => (r.ok ? r.json() : null)).then((m) => { if (m?.time_zone) setTimeZone(m.time_zone); })
    .catch(() => {});
  // on a wall, the headline numbers on the top-left tile, the map furniture on the bottom-left
  if (wall && (wall.x || wall.y)) kpi.root.hidden = true;
  if (wall && (wall.x || wall.y !== wall.rows - 1)) furniture.root.hidden = true;
  // the alarm list on the top-right tile; a new alarm's banner on the top row's middle tile
  // (each once on the wall, not on every screen)
  if (wall && (wall.x !== wall.cols - 1 || wall.y)) alarms.root.hidden = true;
  if (wall && (wall.x !== Math.floor(wall.cols / 2) || wall.y)) alarms.banner.hidden = true;
  fetch("api/plan").then((r) => (r.ok ? r.json() : null)).then((plan) => {
    if (!plan) return;
    view.setPlan(plan);
    furniture.setPlan(plan);
    kpi.setPlan(plan);
    planView.setPlan(plan);
    risk.setPlan(plan);
  }).catch((e) => console.warn("plan:", e.message));

  // For tests, benchmarks and integrators' own scripts.
  window.minetwin = {
    conn, view, alarms, inspector, furniture, kpi, plan: planView, risk, dangers,
    get replica() { return conn.replica; },
    stats() {
      return {
        state: conn.state, revision: conn.replica.revision, nodes: conn.replica.nodes.size,
        firstFrameMs: view.firstRenderAt, renders: view.renders, renderMs: view.renderMs,
        frames: view.frames, pendingAssets: view.pending ?? 0,
        meshes: [...view.views.values()].filter((v) => v.mesh).length,   // drawn as their own
        instanced: view.batches.stats(),                                  // {instances, calls, batches}
      };
    },
  };
}

const token = query.get("token") ?? sessionStorage.getItem("minetwin.token");
if (token) start(token); else login();
