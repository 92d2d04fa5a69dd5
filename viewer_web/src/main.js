// The viewer's composition: sign in, connect, mirror the scene, and lay out the panels (or,
// in wall mode, one kiosk tile of a video wall).
import "uplot/dist/uPlot.min.css";
import { Connection } from "./connection.js";
import { setLanguage, t } from "./strings.js";
import { AlarmPanel } from "./ui/alarms.js";
import { el } from "./ui/dom.js";
import { Inspector } from "./ui/inspect.js";
import { CameraPanel, HeadcountPanel, LayerPanel, SearchPanel, StatusBar } from "./ui/panels.js";
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
  // ?hide=seam,fault,… starts those layers hidden (a main kind hides all of its layers); a
  // wall's tiles start without the geology (dispatchers watch roadways, people and alarms),
  // and so does a PC without a GPU (its see-through volumes would cost most frames); ?hide=
  // (empty) shows everything.
  const geology = "seam,contour,stratum,fault,prediction";
  const broad = ",hazard:gas,hazard:stress";        // zones spread over much of the field
  // strata (the rock between seams, the aquiclude) start hidden everywhere: switch them on
  const hide = query.get("hide") ?? (wall ? geology : view.software ? geology + broad : "stratum");
  if (!query.has("hide") && !wall && view.software) view.softwareNote = true;
  for (const k of hide.split(",").map((x) => x.trim()).filter(Boolean)) view.setLayer(k, false);
  const select = (id) => inspector.select(id);
  const inspector = new Inspector({ conn, view });
  const alarms = new AlarmPanel({ conn, view, onSelect: select, kiosk: !!wall });
  const status = new StatusBar({ conn, onLanguage: () => location.reload(), softwareNote: !!view.softwareNote });
  document.body.prepend(status.root);
  if (wall) {
    startTile({ conn, view, wall });
    right.append(alarms.root);
  } else {
    const cameras = new CameraPanel({ view });
    side.append(new LayerPanel({ conn, view }).root, new SearchPanel({ conn, view, onSelect: select }).root,
      new HeadcountPanel({ conn, view, onSelect: select }).root, cameras.root,
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
  view.addEventListener("pick", (e) => { if (e.detail) select(e.detail.id); });
  conn.start();

  // For tests, benchmarks and integrators' own scripts.
  window.minetwin = {
    conn, view, alarms, inspector,
    get replica() { return conn.replica; },
    stats() {
      return {
        state: conn.state, revision: conn.replica.revision, nodes: conn.replica.nodes.size,
        firstFrameMs: view.firstRenderAt, renders: view.renders, renderMs: view.renderMs,
        frames: view.frames, pendingAssets: view.pending ?? 0,
        meshes: [...view.views.values()].filter((v) => v.mesh).length,
      };
    },
  };
}

const token = query.get("token") ?? sessionStorage.getItem("minetwin.token");
if (token) start(token); else login();
