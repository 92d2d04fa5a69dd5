"""The browser viewer in Debian's headless Chromium against a real server on the demo mine
(tests/viewer/conftest.py): it shows the mine, alarms reach it and operators acknowledge
them, node details come with a chart, replay seeks change the scene, wall tiles compose."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.viewer.conftest import artifact

BACKGROUND = (13, 17, 23)          # view3d.js BACKGROUND, #0d1117

PIXELS_OFF_BACKGROUND = """([r, g, b]) => {
  const c = window.minetwin.view.renderer.domElement;
  const k = document.createElement("canvas");
  k.width = c.width; k.height = c.height;
  const g2 = k.getContext("2d");
  g2.drawImage(c, 0, 0);
  const d = g2.getImageData(0, 0, k.width, k.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4)
    if (Math.abs(d[i] - r) + Math.abs(d[i + 1] - g) + Math.abs(d[i + 2] - b) > 40) n++;
  return n;
}"""


def test_the_page_loads_without_errors_and_shows_the_mine(open_page):
    page = open_page("operator", geology=True)
    stats = page.js("window.minetwin.stats()")
    assert stats["state"] == "live" and stats["nodes"] > 600
    assert stats["meshes"] > 600 and stats["pendingAssets"] == 0
    assert page.js(PIXELS_OFF_BACKGROUND, list(BACKGROUND)) > 5000
    page.page.screenshot(path=str(artifact("viewer-demo-mine.png")))
    # Chinese by default, every layer of the demo listed with its count
    assert page.page.inner_text("#alarms h2").startswith("报警")
    layers = page.page.eval_on_selector_all("#layers [data-layer]", "e => e.map(x => x.dataset.layer)")
    assert {"roadway", "sensor", "reader", "person", "equipment", "hazard:goaf", "seam:M9",
            "seam:M7", "seam:M6", "fault", "prediction", "contour", "stratum:M9-M7",
            "hazard:outburst", "hazard:water"} <= set(layers)
    # the geology is drawn (see-through), and a layer hides its nodes
    seams = "[...window.minetwin.view.views.values()].filter(v => " \
            "window.minetwin.replica.nodes.get(v.handle).tags.includes('seam:M9'))"
    assert page.js(f"{seams}.every(v => v.group.visible && v.mesh)")
    page.page.uncheck("#layers [data-layer='seam:M9'] input")
    assert page.js(f"{seams}.every(v => !v.group.visible)")
    assert page.errors == []


def test_hidden_layers_from_the_address_and_one_seam_shown_again(open_page):
    page = open_page("viewer", "&hide=seam,fault")
    visible = "tag => [...window.minetwin.view.views.values()].filter(v => " \
              "window.minetwin.replica.nodes.get(v.handle).tags.includes(tag))" \
              ".map(v => v.group.visible)"
    assert page.js(visible, "seam") == [False] * 3 and not any(page.js(visible, "fault"))
    assert not page.page.is_checked("#layers [data-layer='seam:M7'] input")
    page.page.check("#layers [data-layer='seam:M7'] input")
    assert page.js(visible, "seam:M7") == [True]
    assert page.js(visible, "seam:M9") == [False] and page.js(visible, "seam:M6") == [False]
    assert page.errors == []
    # with no ?hide at all, a PC without a GPU (this one: SwiftShader) starts without the
    # geology, and says so
    plain = open_page("viewer", geology=None)
    assert plain.js("window.minetwin.view.software") is True
    assert plain.js(visible, "seam") == [False] * 3 and all(plain.js(visible, "roadway"))
    assert "软件渲染" in plain.page.inner_text("#status")


def test_layers_hide_and_the_language_switches(open_page):
    page = open_page("viewer")
    people = page.js("[...window.minetwin.view.views.values()].filter(v => "
                     "window.minetwin.replica.nodes.get(v.handle).tags.includes('reader'))"
                     ".every(v => v.group.visible)")
    assert people
    page.page.uncheck("#layers [data-layer=reader] input")
    assert page.js("[...window.minetwin.view.views.values()].filter(v => "
                   "window.minetwin.replica.nodes.get(v.handle).tags.includes('reader'))"
                   ".every(v => !v.group.visible)")
    page.page.click("#status .lang")
    page.page.wait_for_function("document.querySelector('#alarms h2') && "
                                "document.querySelector('#alarms h2').textContent.startsWith('Alarms')")
    assert page.errors == []


def _alarm_ids(page, which: str = "") -> list[int]:
    return page.page.eval_on_selector_all(f"#alarms li.alarm{which}",
                                          "e => e.map(x => +x.dataset.alarm)")


def test_alarms_appear_and_an_operators_acknowledgement_reaches_other_viewers(open_page, twin_server):
    operator = open_page("operator")
    viewer = open_page("viewer")
    for p in (operator, viewer):
        p.page.wait_for_selector("#alarms li.alarm:not(.acked)", timeout=90_000)
    # A viewer cannot acknowledge: the button is disabled and the server refuses anyway.
    assert viewer.page.eval_on_selector_all("#alarms li.alarm button.ack",
                                            "e => e.every(b => b.disabled)")
    # an active one if there is (a cleared alarm leaves the list once acknowledged)
    alarm = (_alarm_ids(viewer, ":not(.cleared):not(.acked)")
             or _alarm_ids(viewer, ":not(.acked)"))[0]
    refused = viewer.js("id => window.minetwin.conn.command('ack_alarm', {alarm: id, comment: 'x'})",
                        alarm)
    assert refused["ok"] is False
    # The operator acknowledges with a comment through the dialog.
    item = operator.page.locator(f"#alarms li.alarm[data-alarm='{alarm}']")
    item.locator("button.ack").click()
    operator.page.fill("#ack-dialog textarea", "已通知撤人")
    operator.page.click("#ack-dialog button.send")
    viewer.page.wait_for_function("id => window.minetwin.conn.alarms.get(id)?.acked_ms != null",
                                  arg=alarm, timeout=60_000)
    record = viewer.js("id => window.minetwin.conn.alarms.get(id)", alarm)
    if record["cleared_ms"] is None:          # still active: shown acknowledged, by whom
        state = viewer.page.locator(f"#alarms li.alarm.acked[data-alarm='{alarm}'] .state")
        try:
            state.wait_for(timeout=60_000)
            assert "operator" in state.inner_text()
        except Exception:                     # it cleared meanwhile and left the list
            record = viewer.js("id => window.minetwin.conn.alarms.get(id)", alarm)
            assert record["cleared_ms"] is not None
    assert record["acked_by"] == "值班调度员(演示)" and record["comment"] == "已通知撤人"
    # the server has it acknowledged (listed while active; in the history either way)
    listed = json.loads(urllib.request.urlopen(
        twin_server.url + "api/alarms/history?since=0").read())["alarms"]
    assert any(a["id"] == alarm and a["acked_by"] == "值班调度员(演示)" for a in listed)
    assert operator.errors == [] and viewer.errors == []


def test_clicking_a_sensor_opens_its_details_with_a_chart(open_page):
    page = open_page("viewer")
    for layer in ("person", "equipment"):                 # nothing walks in front of it
        page.page.uncheck(f"#layers [data-layer={layer}] input")
    # A CH4 sensor in open view (one at the face sits behind the supports, which a click
    # there rightly selects).
    sensor, at = page.js("""() => {
      const v = window.minetwin.view;
      for (const n of window.minetwin.replica.nodes.values()) {
        if (!n.tags.includes('sensor') || n.props.get('quantity') !== 'ch4') continue;
        v.focus(n.id, 6);
        v.camera.updateMatrixWorld();
        const at = v.screenPosition(n.id);
        if (v.pick(at.x, at.y)?.id === n.id) return [n.id, at];
      }
      return [null, null];
    }""")
    assert sensor is not None
    page.page.wait_for_timeout(300)                       # a frame renders the new camera
    page.page.mouse.click(at["x"], at["y"])
    page.page.wait_for_function(
        "id => document.querySelector('#inspect td.id')?.textContent === id", arg=sensor)
    page.page.wait_for_selector("#inspect .chart canvas", timeout=60_000)
    assert int(page.page.get_attribute("#inspect .chart", "data-points")) > 0
    props = page.page.eval_on_selector_all("#inspect tr.prop", "e => e.map(x => x.dataset.prop)")
    assert "point_code" in props and "ch4_alarm_upper" in props
    assert "%" in page.page.inner_text("#inspect tr[data-prop=ch4_alarm_upper]")
    assert page.errors == []


def test_search_finds_a_sensor_by_its_code_and_headcounts_show(open_page):
    page = open_page("viewer")
    code = page.js("""[...window.minetwin.replica.nodes.values()]
        .find(n => n.tags.includes('sensor')).props.get('point_code')""")
    page.page.fill("#search input", code)
    page.page.click(f"#search li[data-node='sensor/{code}']")
    page.page.wait_for_function(
        "id => document.querySelector('#inspect td.id')?.textContent === id", arg=f"sensor/{code}")
    # Headcounts: the panel's total is the people underground in the replica.
    page.page.wait_for_function("""() => {
      const n = [...window.minetwin.replica.nodes.values()]
        .filter(n => n.tags.includes('person') && n.props.get('underground')).length;
      return n > 0 && document.querySelector('#headcount .total').textContent === `井下合计 ${n} 人`;
    }""", timeout=60_000)
    assert page.page.locator("#headcount tr[data-area]").count() == page.js(
        "[...window.minetwin.replica.nodes.values()].filter(n => n.tags.includes('area')).length")
    assert page.errors == []


def test_a_replay_seek_changes_the_scene_and_leaving_returns_live(open_page):
    page = open_page("instructor")
    # Opened at its beginning (an earlier start is clamped to the first recorded time), once
    # the recording holds a few seconds (simulated minutes: the simulator runs at 60×).
    for _ in range(40):
        opened = page.js("() => window.minetwin.conn.command('replay_open', {start_ms: 0})")
        assert opened["ok"], opened
        first, last = opened["data"]["span"]
        if last - first > 3000:
            break
        page.js("id => window.minetwin.conn.command('replay_close', {replay: id})",
                opened["data"]["replay"])
        page.page.wait_for_timeout(500)
    page.page.wait_for_function("id => window.minetwin.conn.replay?.id === id",
                                arg=opened["data"]["replay"])
    page.page.wait_for_selector("#replay .replay-seek")
    page.page.wait_for_function("t => window.minetwin.conn.replay?.time_ms === t && "
                                "window.minetwin.replica.time <= t + 1000", arg=first)
    before, before_t = page.js("[window.minetwin.replica.toJSON(), window.minetwin.replica.time]")
    # Seek with the timeline, as an instructor drags it.
    page.js("""t => { const s = document.querySelector('#replay .replay-seek');
                     s.value = t; s.dispatchEvent(new Event('change')); }""", last)
    # Landed: the server reports the replay moved on by the seek, and the replica shows the
    # recorded frame at that position (the last frame at or before it: on a busy machine the
    # recording's newest frames may not be readable yet, so not necessarily ``last`` itself).
    try:
        page.page.wait_for_function(
            """t => { const r = window.minetwin.conn.replay;
                      return r !== null && r.time_ms >= t &&
                             window.minetwin.replica.time >= r.time_ms - 1000; }""",
            arg=first + 2001, timeout=60_000)
    except Exception:                        # say what the page saw, not only that it waited
        raise AssertionError(page.js(
            "() => ({replay: window.minetwin.conn.replay, time: window.minetwin.replica.time, "
            "message: document.querySelector('#replay .message')?.textContent, "
            "state: window.minetwin.conn.state})")) from None
    after, after_t = page.js("[window.minetwin.replica.toJSON(), window.minetwin.replica.time]")
    assert after_t - before_t > 2000
    moved = [i for i, n in after["nodes"].items() if i.startswith("person/") and
             i in before["nodes"] and n["t"] != before["nodes"][i]["t"]]
    assert moved, "no person moved between the two replay times"
    assert page.page.get_attribute("#status .conn", "data-state") == "replay"
    page.page.click("#replay .replay-leave")
    page.page.wait_for_function("window.minetwin.conn.replay === null && "
                                "document.querySelector('#status .conn').dataset.state === 'live'")
    assert page.errors == []


def test_two_wall_tiles_render_two_parts_of_one_view_and_follow_the_camera(open_page):
    operator = open_page("operator")
    tiles = [open_page("viewer", f"&wall=w1&grid=2x1&tile={x},0", size=(640, 400)) for x in (0, 1)]
    sensor = operator.js("[...window.minetwin.replica.nodes.values()]"
                         ".find(n => n.tags.includes('sensor')).id")
    target = operator.js("id => window.minetwin.view.nodePosition(id)", sensor)

    def set_camera(position):
        r = operator.js("a => window.minetwin.conn.command('camera_set', a)",
                        {"group": "w1", "position": position, "target": target, "fov": 40})
        assert r["ok"], r
        for t in tiles:
            t.page.wait_for_function(
                """p => { const c = window.minetwin.view.cameraState();
                          return Math.hypot(...c.position.map((v, i) => v - p[i])) < 0.01; }""",
                arg=position)
            t.page.wait_for_timeout(200)

    set_camera([target[0] + 40, target[1] - 60, target[2] + 50])
    for t in tiles:
        assert t.js("document.body.classList.contains('kiosk')")
        assert t.page.is_hidden("#side")
    # The target is the centre of the 1280 × 400 virtual screen: the right edge of the left
    # tile and the left edge of the right one.
    left, right = (t.js("id => window.minetwin.view.screenPosition(id)", sensor) for t in tiles)
    assert abs(left["x"] - 640) < 3 and abs(right["x"] - 0) < 3
    assert abs(left["y"] - 200) < 3 and abs(right["y"] - 200) < 3
    shots = [t.page.screenshot() for t in tiles]
    assert shots[0] != shots[1]
    for i, t in enumerate(tiles):
        t.page.screenshot(path=str(artifact(f"viewer-wall-tile-{i}.png")))
    # A camera change moves both tiles.
    set_camera([target[0] - 80, target[1] + 30, target[2] + 70])
    assert all(t.errors == [] for t in tiles + [operator])


def test_a_new_alarm_from_an_upload_file_draws_the_eye(open_page, twin_server, demo_model):
    """A real CDSS file in the inbox → ingest → rules → alarm → banner, flash and list."""
    page = open_page("operator")
    sensor = next(s for code, s in sorted(demo_model.sensors.items())
                  if s.type_code == "0001" and "11901" not in s.location)
    # The simulator runs at 60×: its readings carry simulated time, ahead of the clock. The
    # file's reading is dated 200 s after the sensor's latest one: still newer than what the
    # simulator has sent by the time the file is read (the rules ignore an older reading),
    # and within the 300 s a reading may be ahead of the simulator's clock.
    q = f"api/history/{sensor.point_code}?from=0&max_points=100000"
    latest = max(p["t"] for p in json.loads(urllib.request.urlopen(twin_server.url + q).read())["points"])
    tz = ZoneInfo(demo_model.mine.time_zone)
    now = datetime.fromtimestamp(latest / 1000 + 200, tz).replace(microsecond=0)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")
    body = (f"{demo_model.mine.code};{demo_model.mine.name};{stamp}~"
            f"{sensor.point_code};甲烷;{sensor.location};2.50;%;0;{stamp}~||")
    name = f"{demo_model.mine.code}_CDSS_{now.strftime('%Y%m%d%H%M%S')}.txt"
    twin_server.inbox.mkdir(parents=True, exist_ok=True)
    (twin_server.inbox / f".{name}.part").write_bytes(body.encode())
    (twin_server.inbox / f".{name}.part").rename(twin_server.inbox / name)
    page.page.wait_for_function(
        "loc => { const b = document.querySelector('#banner');"
        "         return b && !b.classList.contains('hidden') && b.textContent.includes(loc); }",
        arg=sensor.location, timeout=60_000)
    assert page.js("document.body.classList.contains('flash')")
    # The simulator's next (later) reading may clear it at once: cleared but unacknowledged,
    # it stays in the list until an operator acknowledges it.
    alarm = page.js("code => [...window.minetwin.conn.alarms.values()]"
                    ".find(a => a.point === code && a.value === 2.5)", sensor.point_code)
    assert alarm is not None and alarm["acked_ms"] is None
    page.page.wait_for_selector(f"#alarms li.alarm[data-alarm='{alarm['id']}']")
    # A click on the banner focuses the camera on the alarm it shows: ours, unless the simulator
    # raised a newer one in the meantime (on a busy machine it may) — read in the same turn.
    shown = page.js("() => { const a = window.minetwin.alarms.bannerAlarm;"
                    "        document.querySelector('#banner').click(); return a; }")
    assert shown["node"] and shown["cleared_ms"] is None or shown["id"] == alarm["id"]
    page.page.wait_for_function(
        "id => document.querySelector('#inspect td.id')?.textContent === id", arg=shown["node"])
    if shown["id"] == alarm["id"]:
        assert shown["node"] == f"sensor/{sensor.point_code}"
    assert page.errors == []


def test_the_viewer_reconnects_and_resumes_by_itself(open_page):
    page = open_page("viewer")
    snapshots = page.js("window.minetwin.conn.snapshots")
    revision = page.js("window.minetwin.replica.revision")
    page.js("window.minetwin.conn.ws.close(4000)")          # the network drops the socket
    page.page.wait_for_function("document.querySelector('#status .conn').dataset.state === 'reconnecting'"
                                " || window.minetwin.conn.state === 'live'")
    page.page.wait_for_function(
        "r => window.minetwin.conn.state === 'live' && window.minetwin.replica.revision > r",
        arg=revision, timeout=60_000)
    # resumed from its revision with a catch-up diff, not a new snapshot
    assert page.js("window.minetwin.conn.snapshots") == snapshots
    assert page.errors == []


def test_an_operator_drives_a_wall_group_from_the_panel(open_page):
    operator = open_page("operator")
    tile = open_page("viewer", "&wall=w2&grid=1x1&tile=0,0", size=(640, 400))
    operator.page.click("#wall h2")                        # the panel starts collapsed
    operator.page.fill("#wall .wall-group", "w2")
    operator.page.check("#wall .wall-drive")
    sensor = operator.js("[...window.minetwin.replica.nodes.values()]"
                         ".filter(n => n.tags.includes('sensor'))[3].id")
    operator.js("id => window.minetwin.view.focus(id, 30)", sensor)
    want = operator.js("window.minetwin.view.cameraState().position")
    tile.page.wait_for_function(
        """p => { const c = window.minetwin.view.cameraState();
                  return Math.hypot(...c.position.map((v, i) => v - p[i])) < 0.01; }""",
        arg=want, timeout=60_000)
    assert operator.errors == [] and tile.errors == []


def test_camera_tools_exaggeration_section_plane_measure_and_a_wall_tour(open_page):
    page = open_page("operator")
    sensor = page.js("[...window.minetwin.replica.nodes.values()]"
                     ".find(n => n.tags.includes('sensor')).id")
    # Vertical exaggeration stretches the picture along z; positions in metres stay true.
    before = page.js("id => [window.minetwin.view.nodePosition(id), "
                     "window.minetwin.view.screenPosition(id)]", sensor)
    page.page.fill("#layers input.exaggeration", "5")
    assert page.js("window.minetwin.view.world.scale.z") == 5
    after = page.js("id => [window.minetwin.view.nodePosition(id), "
                    "window.minetwin.view.screenPosition(id)]", sensor)
    assert after[0] == before[0] and after[1] != before[1]
    page.page.fill("#layers input.exaggeration", "1")
    # The section plane cuts the geology and hazard layers (the goaf), not the roadways.
    page.page.select_option("#layers select.clip-axis", "z")
    clipped = page.js("""() => {
      const v = window.minetwin.view, out = {};
      for (const n of window.minetwin.replica.nodes.values()) {
        const k = n.tags.includes('hazard') ? 'hazard' : n.tags.includes('roadway') ? 'roadway' : null;
        const mats = v.views.get(n.handle).materials;
        if (k && mats.length) out[k] = mats.every(m => (m.clippingPlanes || []).length === 1);
      }
      return out;
    }""")
    assert clipped == {"hazard": True, "roadway": False}
    # Measure: two clicks on the mesh; the distance is between the two picked points.
    page.js("id => window.minetwin.view.focus(id, 60)", sensor)
    page.page.wait_for_timeout(200)
    a, b, picked = page.js("""() => {
      const v = window.minetwin.view, r = v.renderer.domElement.getBoundingClientRect();
      for (let y = r.top + 20; y < r.bottom; y += 20) {
        const hits = [];
        for (let x = r.left + 20; x < r.right; x += 20) {
          if (document.elementFromPoint(x, y) !== v.renderer.domElement) continue;  // a panel
          const h = v.pick(x, y);
          if (h) hits.push([[x, y], h]);
        }
        if (hits.length >= 2 && hits.at(-1)[0][0] - hits[0][0][0] >= 100)
          return [hits[0][0], hits.at(-1)[0], [hits[0][1], hits.at(-1)[1]]];
      }
      return [null, null, [null, null]];
    }""")
    assert all(picked)
    page.page.click("#camera button.measure")
    page.page.mouse.click(*a)
    page.page.mouse.click(*b)
    d = sum((p - q) ** 2 for p, q in zip(picked[0]["point"], picked[1]["point"])) ** 0.5
    assert page.page.inner_text("#camera .measure-result") == f"距离 {d:.2f} m"
    # Saved views, played on a wall group by the automatic tour.
    tile = open_page("viewer", "&wall=w3&grid=1x1&tile=0,0", size=(480, 300))
    views = []
    for name, distance in (("近景", 20), ("远景", 300)):
        page.js("([id, d]) => window.minetwin.view.focus(id, d)", [sensor, distance])
        page.page.fill("#camera input.view-name", name)
        page.page.click("#camera button.save")
        views.append(page.js("window.minetwin.view.cameraState().position"))
    page.page.click("#wall h2")
    page.page.fill("#wall .wall-group", "w3")
    page.page.fill("#wall .wall-dwell", "2")
    page.page.click("#wall .wall-tour")
    for want in views:
        tile.page.wait_for_function(
            """p => { const c = window.minetwin.view.cameraState();
                      return Math.hypot(...c.position.map((v, i) => v - p[i])) < 0.01; }""",
            arg=want, timeout=60_000)
    page.page.click("#wall .wall-stop")
    assert page.errors == [] and tile.errors == []


def test_the_status_bar_shows_an_uplink_that_cannot_deliver(open_page):
    """The province does not answer: the backlog grows and the status bar says so."""
    page = open_page()
    page.page.wait_for_function(
        "document.querySelector('#status .uplink')?.dataset.state === 'failing' && "
        "+document.querySelector('#status .uplink').dataset.backlog > 0", timeout=60_000)
    # (read at one moment: the badge updates while the backlog grows)
    badge = page.js("""() => { const b = document.querySelector('#status .uplink');
                               return {text: b.innerText, title: b.title,
                                       backlog: +b.dataset.backlog}; }""")
    text, title, backlog = badge["text"], badge["title"], badge["backlog"]
    assert f"积压 {backlog}" in text and "失败" in text
    assert title.startswith("province：积压") and "Connect" in title
    assert page.errors == []


def test_an_alarm_shows_the_picture_the_server_rendered(open_page):
    page = open_page("viewer")
    page.page.wait_for_function(
        "[...document.querySelectorAll('#alarms li.alarm img.snapshot')]"
        ".some(i => i.complete && i.naturalWidth > 0)", timeout=120_000)
    img = page.page.locator("#alarms li.alarm img.snapshot").first
    assert img.evaluate("i => i.naturalWidth") == 960
    href = page.page.locator("#alarms li.alarm a.snapshot").first.get_attribute("href")
    assert href.startswith("api/alarms/") and href.endswith("/snapshot")
    assert page.errors == []
