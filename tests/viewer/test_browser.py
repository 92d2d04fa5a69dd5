"""The browser viewer in Debian's headless Chromium against a real server on the demo mine
(tests/viewer/conftest.py): it shows the mine, alarms reach it and operators acknowledge
them, node details come with a chart, replay seeks change the scene, wall tiles compose."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from datetime import datetime, timedelta
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
    # every mesh drawn: most as instances of their asset (sensors, readers, supports' parts)
    assert stats["meshes"] + stats["instanced"]["instances"] > 600 and stats["pendingAssets"] == 0
    assert page.js(PIXELS_OFF_BACKGROUND, list(BACKGROUND)) > 5000
    page.page.screenshot(path=str(artifact("viewer-demo-mine.png")))
    # Chinese by default, every layer of the demo listed with its count
    assert page.page.inner_text("#alarms h2").startswith("报警")
    layers = page.page.eval_on_selector_all("#layers [data-layer]", "e => e.map(x => x.dataset.layer)")
    assert {"roadway", "sensor", "reader", "person", "equipment", "hazard:goaf", "seam:M9",
            "seam:M7", "seam:M6", "fault", "prediction", "contour:M9", "contour:M6",
            "stratum:M9-M7",
            "hazard:outburst", "hazard:water"} <= set(layers)
    # the geology is drawn (see-through), and a layer hides its nodes
    seams = "[...window.minetwin.view.views.values()].filter(v => " \
            "window.minetwin.replica.nodes.get(v.handle).tags.includes('seam:M9'))"
    assert page.js(f"{seams}.every(v => v.group.visible && v.mesh)")
    page.page.uncheck("#layers [data-layer='seam:M9'] input")
    assert page.js(f"{seams}.every(v => !v.group.visible)")
    assert page.errors == []


def test_hidden_layers_from_the_address_and_one_seam_shown_again(open_page):
    # (the other geology hidden too: see-through volumes are slow in software WebGL)
    page = open_page("viewer", "&hide=seam,fault,contour,stratum,prediction,hazard")
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
            assert "值班调度员(演示)" in state.inner_text()
        except Exception:                     # it cleared meanwhile and left the list
            record = viewer.js("id => window.minetwin.conn.alarms.get(id)", alarm)
            assert record["cleared_ms"] is not None
    assert record["acked_by"] == "值班调度员(演示)" and record["comment"] == "已通知撤人"
    # one clock (#19.6): acknowledged on the data clock the alarm was raised on, never before it
    assert record["acked_ms"] >= record["raised_ms"]
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
    page.next_frame()                                     # a frame renders the new camera
    page.page.mouse.click(at["x"], at["y"])
    page.page.wait_for_function(
        "id => document.querySelector('#inspect td.id')?.textContent === id", arg=sensor)
    page.page.wait_for_selector("#inspect .chart canvas", timeout=60_000)
    assert int(page.page.get_attribute("#inspect .chart", "data-points")) > 0
    props = page.page.eval_on_selector_all("#inspect tr.prop", "e => e.map(x => x.dataset.prop)")
    assert "point_code" in props and "ch4_alarm_upper" in props
    assert "%" in page.page.inner_text("#inspect tr[data-prop=ch4_alarm_upper]")
    assert page.errors == []


RAW_KEY = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def test_the_details_panel_speaks_the_users_language_and_fits_the_screen(open_page):
    """#19.5: Chinese names for every property (no raw keys), area names for area codes, the
    alarm limits drawn on the chart in the mine's time zone, all visible without scrolling at
    1600×900 and 1920×1080 (one page, resized)."""
    size = (1600, 900)
    page = open_page("operator", size=size)
    kinds = page.js("""() => {
      const nodes = [...window.minetwin.replica.nodes.values()];
      const first = (f) => nodes.find(f)?.id;
      return { sensor: first(n => n.tags.includes('sensor') && n.props.get('quantity') === 'ch4'),
               person: first(n => n.tags.includes('person') && n.props.get('underground')),
               equipment: first(n => n.tags.includes('equipment') && [...n.props.keys()].some(k => k.startsWith('param_'))),
               area: first(n => n.tags.includes('area')), face: first(n => n.id.startsWith('face/')) };
    }""")
    for kind, node in kinds.items():
        assert node, kind
        page.js("id => window.minetwin.inspector.select(id)", node)
        page.page.wait_for_function(
            "id => document.querySelector('#inspect td.id')?.textContent === id", arg=node)
        names = page.page.eval_on_selector_all("#inspect tr.prop td:first-child",
                                               "e => e.map(x => x.textContent)")
        assert names and not [n for n in names if RAW_KEY.match(n)], (kind, names)
        if kind == "person":
            area = page.page.inner_text("#inspect tr[data-prop=area] td:last-child")
            assert re.search(r"[\u4e00-\u9fff]", area), area             # a name, not a code
    page.js("id => window.minetwin.inspector.select(id)", kinds["sensor"])
    page.page.wait_for_selector("#inspect .chart canvas", timeout=60_000)
    assert int(page.page.get_attribute("#inspect .chart", "data-limits")) >= 1
    for size in ((1600, 900), (1920, 1080)):
        page.page.set_viewport_size({"width": size[0], "height": size[1]})
        # (read in one turn: the chart is redrawn every 30 s, its canvas replaced)
        box = page.page.wait_for_function("""h => { const c = document.querySelector('#inspect .chart canvas');
            const r = c?.getBoundingClientRect();
            return r && r.height > 0 && window.innerHeight === h ? {y: r.top, height: r.height} : null; }""",
            arg=size[1]).json_value()
        assert box["y"] + box["height"] <= size[1], (size, box)             # no scrolling
    ticks = page.js("""() => { const u = window.minetwin.inspector.plot;
                              return u.axes[0]._values ?? null; }""")
    if ticks:                                  # 24-hour HH:MM in the mine's zone, no am/pm
        assert all(re.fullmatch(r"\d\d:\d\d", v) for v in ticks if v), ticks
    page.page.screenshot(path=str(artifact("viewer-details-1920.png")))
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
    # Frames are recorded on the data clock: at 60× the 10 Hz ticks are 6 s of drill apart (more
    # when a loaded machine's ticks run late).
    try:
        page.page.wait_for_function(
            """t => { const r = window.minetwin.conn.replay;
                      return r !== null && r.time_ms >= t &&
                             window.minetwin.replica.time >= r.time_ms - 30000; }""",
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
    # #19.9: the timeline has time ticks in the mine's time, and a click on an alarm marker
    # seeks to (just before) that alarm
    ticks = page.page.eval_on_selector_all("#replay .tick", "e => e.map(x => x.textContent)")
    assert ticks and all(re.fullmatch(r"\d\d:\d\d", x) for x in ticks), ticks
    markers = page.page.locator("#replay .marker")
    if markers.count():
        at = int(markers.first.get_attribute("data-time"))
        markers.first.dispatch_event("click")       # (markers of close times overlap)
        page.page.wait_for_function("t => Math.abs(window.minetwin.conn.replay.time_ms - t) <= 6000",
                                    arg=at, timeout=60_000)
        # the alarm list shows the alarms as they stood then: none raised later
        later = page.js("t => window.minetwin.alarms.shown().filter(a => a.raised_ms > t + 1000).length",
                        at)
        assert later == 0
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
            t.next_frame()

    set_camera([target[0] + 40, target[1] - 60, target[2] + 50])
    for t in tiles:
        assert t.js("document.body.classList.contains('kiosk')")
        assert t.page.is_hidden("#side")
        # #19.8: type sizes for 3–5 m; room for at least the five newest alarms
        sizes = t.js("""() => { const px = (s) => { const e = document.querySelector(s);
              return e ? parseFloat(getComputedStyle(e).fontSize) : null; };
            const list = document.querySelector('#alarms .alarm-list');
            return { status: px('#status'), banner: px('#banner'), list: list ? parseFloat(getComputedStyle(list).maxHeight) : null,
                     pictures: document.querySelectorAll('#alarms img.snapshot').length }; }""")
        assert sizes["status"] >= 22 and sizes["banner"] >= 40 and sizes["pictures"] == 0, sizes
        # the list may take over half the tile: at 1080 px that is five rows of ≈ 100 px
        assert sizes["list"] >= 0.55 * 400, sizes
    # each thing once on the wall: the KPIs and the map furniture on the left tile, the alarm
    # list and a new alarm's banner on the right one (the top row's middle)
    shown = [t.js("""() => Object.fromEntries(['#kpi', '#mapkit', '#alarms', '#banner'].map((s) =>
        [s, !document.querySelector(s).closest('[hidden]')]))""") for t in tiles]
    assert shown[0] == {"#kpi": True, "#mapkit": True, "#alarms": False, "#banner": False}, shown
    assert shown[1] == {"#kpi": False, "#mapkit": False, "#alarms": True, "#banner": True}, shown
    assert tiles[0].js("getComputedStyle(document.querySelector('#kpi')).display") != "none"
    assert tiles[1].js("getComputedStyle(document.querySelector('#kpi')).display") == "none"
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
    # #19.1: the tiles show the layers the driving view shows (the camera carries its hidden ones)
    r = operator.js("a => window.minetwin.conn.command('camera_set', a)",
                    {"group": "w1", "position": [target[0], target[1] - 90, target[2] + 60],
                     "target": target, "fov": 40, "hidden": ["hazard:water", "stratum", "seam",
                                                             "contour", "fault", "prediction"]})
    assert r["ok"], r
    for t in tiles:
        t.page.wait_for_function("() => { const h = window.minetwin.view.hiddenLayers;"
                                 " return h.has('hazard:water') && h.has('stratum') && h.size === 6"
                                 " && !h.has('hazard'); }")
    assert all(t.errors == [] for t in tiles + [operator])


def _ch4_in_the_inbox(page, twin_server, demo_model):
    """A CDSS file in the inbox with one CH4 point (not at 11901) at 2.50 %; the point."""
    # a CH4 point with no alarm of its main rule yet: a raise soon after one that cleared
    # unacknowledged would be that alarm again (counted), not a new one (docs/alarms.md)
    known = set(page.js("[...window.minetwin.conn.alarms.values()].map(a => a.rule)"))
    sensor = next(s for code, s in sorted(demo_model.sensors.items())
                  if s.type_code == "0001" and "11901" not in s.location
                  and f"{code}/ch4/main" not in known)
    # The simulator runs at 60×: its readings carry simulated time, ahead of the clock. The
    # file's reading is dated 30 drill-minutes after the sensor's latest one: still newer than
    # what the simulator has sent by the time the file is read on a loaded machine (the rules
    # ignore an older reading), and within the fixture's max_future_s ([ingest] and [feeds]).
    q = f"api/history/{sensor.point_code}?from=0&max_points=100000"
    latest = max(p["t"] for p in json.loads(urllib.request.urlopen(twin_server.url + q).read())["points"])
    tz = ZoneInfo(demo_model.mine.time_zone)
    now = datetime.fromtimestamp(latest / 1000 + 1800, tz).replace(microsecond=0)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")
    _to_inbox(twin_server, demo_model, "CDSS", now,
              f"{sensor.point_code};甲烷;{sensor.location};2.50;%;0;{stamp}")
    return sensor


def _to_inbox(twin_server, demo_model, ftype: str, when: datetime, record: str) -> None:
    """An upload file of one record, dated ``when``, written into the inbox as a real
    system does (a hidden part file renamed when complete)."""
    stamp = when.strftime("%Y-%m-%d %H:%M:%S")
    body = f"{demo_model.mine.code};{demo_model.mine.name};{stamp}~{record}~||"
    name = f"{demo_model.mine.code}_{ftype}_{when.strftime('%Y%m%d%H%M%S')}.txt"
    twin_server.inbox.mkdir(parents=True, exist_ok=True)
    (twin_server.inbox / f".{name}.part").write_bytes(body.encode())
    (twin_server.inbox / f".{name}.part").rename(twin_server.inbox / name)


def test_a_new_alarm_from_an_upload_file_draws_the_eye(open_page, twin_server, demo_model):
    """A real CDSS file in the inbox → ingest → rules → alarm → banner, flash and list."""
    page = open_page("operator")
    sensor = _ch4_in_the_inbox(page, twin_server, demo_model)
    # The banner says it in words, with the quantity and its unit (#19.4) — read from what the
    # banner said (on a loaded machine the simulator's next alarm may replace ours before a
    # poll sees it)
    page.page.wait_for_function(
        "loc => (window.minetwin.alarms.announced ?? []).some(b => b.text.includes(loc)"
        "        && b.text.includes('甲烷 2.50 % ≥'))", arg=sensor.location)
    assert page.js("document.body.classList.contains('flash')")
    # The simulator's next (later) reading may clear it at once: cleared but unacknowledged,
    # it stays in the list until an operator acknowledges it.
    alarm = page.js("code => [...window.minetwin.conn.alarms.values()]"
                    ".find(a => a.point === code && a.value === 2.5)", sensor.point_code)
    assert alarm is not None and alarm["acked_ms"] is None
    page.page.wait_for_selector(f"#alarms li.alarm[data-alarm='{alarm['id']}']")
    what = page.page.inner_text(f"#alarms li.alarm[data-alarm='{alarm['id']}'] .what")
    assert what.startswith("甲烷 2.50 % ≥ ") and what.count("%") >= 2, what
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
    page.next_frame()
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


def _visible_labels(page):
    return page.js("""() => [...document.querySelectorAll('.labels .label')]
        .filter(e => e.style.display !== 'none' && e.offsetParent !== null)
        .map(e => { const r = e.getBoundingClientRect();
                    return {text: e.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; })""")


def _overlaps(labels):
    return [(a["text"], b["text"]) for i, a in enumerate(labels) for b in labels[i + 1:]
            if a["x0"] < b["x1"] - 1 and b["x0"] < a["x1"] - 1 and a["y0"] < b["y1"] - 1
            and b["y0"] < a["y1"] - 1]


def test_people_are_markers_seen_at_any_scale_and_labels_never_overlap(open_page):
    """#19.2/#19.3: everyone underground is a marker of a fixed pixel size, visible at
    overview scale; labels say point, quantity, value and unit, never cover each other, and
    at overview scale only what is not normal is labelled."""
    page = open_page("operator", size=(1600, 900))
    page.page.wait_for_function("""() => [...window.minetwin.replica.nodes.values()]
        .some(n => n.tags.includes('person') && n.props.get('underground'))""", timeout=90_000)
    page.js("window.minetwin.view.home()")
    page.page.wait_for_function("window.minetwin.view.people.shown.length > 0")
    # the home view looks at the mine's centre, drawn in the middle of the part of the canvas
    # the side panels leave free (so a wall this camera drives shows the mine in its middle)
    home = page.js("""() => { const v = window.minetwin.view, c = v.mineBox().getCenter(v.camera.position.clone());
      const r = v.renderer.domElement.getBoundingClientRect();
      return { target: v.cameraState().target, centre: [c.x, c.y, c.z], x: v.toThree([c.x, c.y, c.z]).project(v.camera).x,
               free: (v.insets.left + (r.width - v.insets.left - v.insets.right) / 2) / r.width * 2 - 1 }; }""")
    assert abs(home["target"][0] - home["centre"][0]) < 1 and abs(home["target"][1] - home["centre"][1]) < 1, home
    assert abs(home["x"] - home["free"]) < 0.01 and abs(home["free"]) > 0.01, home
    info = page.in_frame("""() => { const v = window.minetwin.view, m = v.people.material;
      const r = v.renderer.domElement.getBoundingClientRect();
      const under = [...window.minetwin.replica.nodes.values()]
        .filter(n => n.tags.includes('person') && n.props.get('underground')).length;
      const onScreen = v.people.shown.filter(s => { const p = v.screenPosition(s.n.id);
        return p && p.inView && p.x >= r.left && p.x <= r.right && p.y >= r.top && p.y <= r.bottom; }).length;
      return { shown: v.people.shown.length, under, onScreen, size: m.size,
               attenuated: m.sizeAttenuation, overview: v.overview,
               personMeshes: [...v.views.values()].filter(x => x.mesh &&
                 window.minetwin.replica.nodes.get(x.handle).tags.includes('person')).length }; }""")
    assert info["overview"] and info["shown"] == info["under"] and info["onScreen"] > 0, info
    assert info["size"] >= 10 and info["attenuated"] is False and info["personMeshes"] == 0
    # the markers are drawn: the canvas has the markers' cyan where a marker is
    s0 = page.js("""() => { const v = window.minetwin.view;
        const s = v.people.shown.find(s => !s.n.tags.includes('person:leader') && !v.people.alarmed(s.n));
        return v.people.markerAt(s.n.id); }""")
    cyan = page.js("""([x, y]) => { const c = window.minetwin.view.renderer.domElement;
        const r = c.getBoundingClientRect(), k = document.createElement('canvas');
        k.width = c.width; k.height = c.height; const g = k.getContext('2d'); g.drawImage(c, 0, 0);
        const sx = c.width / r.width, d = g.getImageData(Math.round((x - r.left) * sx) - 8,
          Math.round((y - r.top) * sx) - 8, 16, 16).data;
        let n = 0; for (let i = 0; i < d.length; i += 4)
          // the markers' cyan, or the paler cyan of a leader's (markers stack where people crowd)
          if (Math.abs(d[i] - 34) + Math.abs(d[i + 1] - 211) + Math.abs(d[i + 2] - 238) < 90 ||
              Math.abs(d[i] - 165) + Math.abs(d[i + 1] - 243) + Math.abs(d[i + 2] - 252) < 90) n++;
        return n; }""", [s0["x"], s0["y"]])
    assert cyan > 5, cyan
    labels = _visible_labels(page)
    assert not _overlaps(labels), _overlaps(labels)
    # overview: only what is not normal (and area headcounts, roadway names) is labelled —
    # read in a drawn frame's own event (a point whose alarm cleared since the last picture
    # still wears its label until the next one)
    normal = page.in_frame("""() => { const v = window.minetwin.view;
      return [...v.views.values()].filter(x => x.label && x.label.element.style.display !== 'none'
        && window.minetwin.replica.nodes.get(x.handle).tags.includes('sensor')
        && v.labelPriority(window.minetwin.replica.nodes.get(x.handle)) < 2).length; }""")
    assert normal == 0
    # every face and heading labelled with its name, advance and its area's headcount (the
    # people shown there); an area with a working has no separate headcount badge
    works = page.in_frame("""() => { const m = window.minetwin, v = m.view;
      return [...v.workings.labels].map(([id, obj]) => { const n = m.replica.node(id);
        const area = n.props.get('area');
        return { id, text: obj.element.textContent, name: n.name, area,
                 adv: n.props.get('advanced_m'), shown: obj.element.style.display !== 'none',
                 badge: v.people.counts.has(area),
                 people: v.people.shown.filter(s => s.n.props.get('area') === area).length }; }); }""")
    assert {w["id"] for w in works} >= {"face/11901", "heading/11902-intake-heading"}, works
    for w in works:
        assert w["text"] == f"{w['name']} · 推进 {w['adv']:.1f} m · {w['people']} 人", w
        assert w["area"] and not w["badge"], w
    assert any(w["shown"] for w in works), works
    page.page.screenshot(path=str(artifact("viewer-overview.png")))
    # the map: a legend, a north arrow and a scale bar; the KPI strip
    page.page.wait_for_function("window.minetwin.view.planLines.lines !== null")
    legend = page.page.inner_text("#mapkit .legend")
    assert "进风巷道" in legend and "回风巷道" in legend and "人员" in legend and "突出危险区" in legend
    # the home view looks from the south: north is up on the screen (within 10°)
    angle = float(page.page.get_attribute("#mapkit .north-arrow", "data-angle"))
    assert abs(angle) < 0.18
    metres, px = (int(page.page.get_attribute("#mapkit .scale-bar", a)) for a in ("data-metres", "data-px"))
    per_m = page.js("window.minetwin.view.planLines && (() => { const v = window.minetwin.view;"
                    " const t = v.toScene(v.orbit.target);"
                    " const a = v.toThree(t).project(v.camera), b = v.toThree([t[0] + 100, t[1], t[2]]).project(v.camera);"
                    " return Math.abs(b.x - a.x) / 2 * v.renderer.domElement.clientWidth / 100; })()")
    assert abs(px - metres * per_m) <= 2 and 40 <= px <= 180
    # roadway names at overview scale
    names = page.js("window.minetwin.view.planLines.names.filter(n => n.visible).map(n => n.element.textContent)")
    assert "总回风巷" in names or "主运输大巷(胶带)" in names, names
    # #19.7 KPI strip: people underground, max CH4 by district, active alarms by level — the
    # same numbers as the replica and the alarm list
    page.page.wait_for_selector("#kpi [data-kpi=ch4]")
    kpi = page.js("""() => { const m = window.minetwin, q = (s) => document.querySelector(s);
      m.kpi.render();
      const under = [...m.replica.nodes.values()].filter(n => n.tags.includes('person') && n.props.get('underground')).length;
      const active = m.alarms.shown().filter(a => a.cleared_ms == null);
      const ch4 = [...document.querySelectorAll('#kpi [data-kpi=ch4]')].map(e => +e.dataset.value);
      // (the roadways' air: a tube-bundle sample of a goaf is not a district's CH4)
      const live = [...m.replica.nodes.values()].filter(n => n.props.get('quantity') === 'ch4'
          && n.props.get('tube_bundle') == null)
        .map(n => n.props.get('ch4')).filter(v => typeof v === 'number');
      return { people: +q('#kpi [data-kpi=people]').dataset.value, under,
               alarms: q('#kpi [data-kpi=alarms]').dataset.value,
               want: [3, 2, 1].map(l => active.filter(a => a.level === l).length).join(','),
               top: Math.max(...ch4), max: Math.max(...live) }; }""")
    assert kpi["people"] == kpi["under"] and kpi["alarms"] == kpi["want"], kpi
    assert kpi["top"] == kpi["max"], kpi                        # the mine's highest CH4 is listed
    # close up: sensor labels name the point and quantity with value and unit; still no overlap
    sensor = page.js("""() => [...window.minetwin.replica.nodes.values()]
        .find(n => n.tags.includes('sensor') && n.props.get('quantity') === 'ch4' && n.label).id""")
    page.js("id => window.minetwin.view.focus(id, 40)", sensor)
    page.next_frame()
    text = page.js("id => window.minetwin.replica.node(id).label", sensor)
    assert re.fullmatch(r"(T\d|\w+) CH4 ≥?\d+\.\d\d %", text), text
    labels = _visible_labels(page)
    assert labels and not _overlaps(labels), _overlaps(labels)
    # a click on a person's marker selects the person
    person = page.js("""() => { const v = window.minetwin.view;
      const s = v.people.shown[0]; v.focus(s.n.id, 30); return s.n.id; }""")
    page.next_frame()
    at = page.js("id => window.minetwin.view.people.markerAt(id)", person)
    hit = page.js("([x, y]) => window.minetwin.view.pick(x, y)?.id", [at["x"], at["y"]])
    assert hit is not None and hit.startswith("person/"), hit
    assert page.errors == []


def test_the_plan_view_frames_what_the_3d_selects_and_back(open_page):
    """#19.7: the 2D plan shows the mine (north up, its own scale bar); a click on a sensor in
    the plan selects it and frames it in 3D; selecting in 3D centres the plan on it."""
    page = open_page("operator", "&plan=1", size=(1600, 900))       # (this PC has no GPU)
    page.page.wait_for_function("window.minetwin.plan.renders > 0 && window.minetwin.plan.dots?.length > 0")
    box = page.page.locator("#plan").bounding_box()
    assert box["width"] > 300 and box["height"] > 200
    scale = page.js("window.minetwin.plan.scale")
    assert scale["metres"] > 0 and 20 <= scale["px"] <= 120
    # the plan has the mine drawn in it: pixels off its background
    drawn = page.js("""() => { const c = window.minetwin.plan.renderer.domElement;
        const k = document.createElement('canvas'); k.width = c.width; k.height = c.height;
        const g = k.getContext('2d'); g.drawImage(c, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 120) n++;
        return n; }""")
    assert drawn > 200, drawn
    # plan → 3D: click a sensor's dot
    dot = page.js("""() => { const p = window.minetwin.plan, b = p.box.getBoundingClientRect();
        const d = p.dots.find(d => d.id.startsWith('sensor/'));
        return { id: d.id, x: b.left + d.x, y: b.top + d.y }; }""")
    page.page.mouse.click(dot["x"], dot["y"])
    page.page.wait_for_function(
        "id => document.querySelector('#inspect td.id')?.textContent === id", arg=dot["id"])
    near = page.js("""id => { const v = window.minetwin.view, p = v.nodePosition(id), t = v.toScene(v.orbit.target);
        return Math.hypot(p[0] - t[0], p[1] - t[1], p[2] - t[2]); }""", dot["id"])
    assert near < 1.0, near
    # 3D → plan: a pick in the 3D view centres the plan on the thing picked
    other = page.js("""id => [...window.minetwin.replica.nodes.values()]
        .find(n => n.tags.includes('sensor') && n.id !== id).id""", dot["id"])
    page.js("id => window.minetwin.view.dispatchEvent(new CustomEvent('pick', {detail: {id}}))", other)
    centred = page.js("""id => { const pl = window.minetwin.plan, v = window.minetwin.view;
        const p = v.nodePosition(id), t = pl.center();
        return Math.hypot(p[0] - t[0], p[1] - t[1]); }""", other)
    assert centred < 1.0, centred
    page.page.screenshot(path=str(artifact("viewer-plan.png")))
    # #19.2 focusing the longwall frames it from the solid coal ahead of it, 35° down,
    # whatever the camera looked from before (never a plan view, never from over the goaf)
    for before in ("home", "goaf"):
        page.js("""w => { const v = window.minetwin.view;
            if (w === 'home') v.home(); else v.focus('hazard/goaf-11901', 50); }""", before)
        seen = page.js("""() => { const v = window.minetwin.view; v.focus('face/11901');
            const f = v.nodePosition('face/11901'), g = v.nodePosition('hazard/goaf-11901');
            const c = v.toScene(v.camera.position.clone());
            const ahead = [f[0] - g[0], f[1] - g[1]], eye = [c[0] - f[0], c[1] - f[1], c[2] - f[2]];
            const flat = Math.hypot(eye[0], eye[1]);
            return { along: (ahead[0] * eye[0] + ahead[1] * eye[1]) / Math.hypot(...ahead) / flat,
                     down: Math.atan2(eye[2], flat) * 180 / Math.PI }; }""")
        assert seen["along"] > 0.99 and abs(seen["down"] - 35) < 1, (before, seen)
    assert page.errors == []


def test_one_clock_the_drills_time_for_ages_charts_and_acknowledgements(open_page):
    """#19.6: in a drill (the simulator at 60× here) the viewer reads the drill's clock —
    the scene's time — never this PC's: ages are not all "0 秒前", the chart ends at the
    drill's now, acknowledgements follow their alarms."""
    page = open_page("operator")
    page.page.wait_for_function("""() => [...window.minetwin.conn.alarms.values()].some(a =>
        window.minetwin.conn.dataNow() - a.raised_ms > 180000)""", timeout=120_000)
    clock = page.js("""() => { const c = window.minetwin.conn;
        return { data: c.dataNow(), scene: c.replica.time, wall: Date.now() }; }""")
    assert abs(clock["data"] - clock["scene"]) < 5000          # the scene's time, moved on
    assert clock["data"] - clock["wall"] > 60_000                # the drill runs ahead of the PC
    old = page.js("""() => { const c = window.minetwin.conn;
        const a = [...c.alarms.values()].find(a => c.dataNow() - a.raised_ms > 180000);
        window.minetwin.alarms.render();
        return { id: a.id, age: document.querySelector(`#alarms li.alarm[data-alarm='${a.id}'] .age`)?.textContent }; }""")
    if old["age"] is not None:                   # (listed unless acknowledged and cleared)
        assert re.fullmatch(r"\d+ (分|小时)前", old["age"]), old
    assert page.errors == []


# Two pictures of the same moment, in one task (nothing moves between them): with the
# repeated things instanced, then with every node its own mesh. Returns how many pixels
# differ, how many are not background, and the draw calls of each picture.
SAME_PICTURE_BOTH_WAYS = """() => {
  const v = window.minetwin.view, c = v.renderer.domElement;
  const grab = () => {
    v.scene.updateMatrixWorld();
    v.batches.update(v.replica);
    v.renderer.render(v.scene, v.camera);
    const k = document.createElement('canvas');
    k.width = c.width; k.height = c.height;
    const g = k.getContext('2d');
    g.drawImage(c, 0, 0);
    return [g.getImageData(0, 0, k.width, k.height).data, v.renderer.info.render.calls];
  };
  const [a, callsA] = grab();
  v.instanced = () => false;                 // every node its own mesh, as before instancing
  v.refreshVisuals();
  const own = [...v.views.values()].filter(x => x.mesh).length;
  const [b, callsB] = grab();
  delete v.instanced;
  v.refreshVisuals();
  let differ = 0, drawn = 0;
  for (let i = 0; i < a.length; i += 4) {
    if (Math.max(Math.abs(a[i] - b[i]), Math.abs(a[i + 1] - b[i + 1]), Math.abs(a[i + 2] - b[i + 2])) > 24) differ++;
    if (Math.abs(a[i] - 13) + Math.abs(a[i + 1] - 17) + Math.abs(a[i + 2] - 23) > 40) drawn++;
  }
  return { differ, drawn, pixels: a.length / 4, callsA, callsB, own };
}"""


def test_repeated_things_are_instanced_and_a_fault_takes_its_own_mesh(open_page, twin_server,
                                                                      demo_model):
    """#19.2: every sensor marker, reader and support part in its plain state is an instance
    of its asset (one draw call per part of each asset), drawn as its own mesh would be, and
    picked as its node; a reader that goes down leaves its batch to blink and comes back."""
    page = open_page("operator")
    page.page.wait_for_function("window.minetwin.stats().pendingAssets === 0 && "
                                "window.minetwin.view.firstRenderAt !== null", timeout=90_000)
    info = page.in_frame("""() => { const v = window.minetwin.view, r = window.minetwin.replica;
      const out = { wrong: [], readers: 0, parts: 0, own: 0, batched: 0, colour: [] };
      const c = new v.scene.background.constructor();     // a THREE.Color
      for (const x of v.views.values()) {
        if (!x.template) continue;
        const n = r.nodes.get(x.handle), batched = v.batches.has(x);
        if (batched !== v.instanced(n) || batched === !!x.mesh) out.wrong.push(n.id);
        if (batched) out.batched++; else out.own++;
        if (n.tags.includes('reader') && batched) out.readers++;
        if (n.tags.includes('equipment-part') && batched) out.parts++;
        if (batched && x.group.visible) {       // its instance has the node's colour
          const b = v.batches.of.get(x.handle), i = b.handles.indexOf(x.handle);
          b.parts[0].mesh.getColorAt(i, c);
          const want = c.clone().setHex(n.color);
          if (i < 0 || Math.abs(c.r - want.r) + Math.abs(c.g - want.g) + Math.abs(c.b - want.b) > 1e-4)
            out.colour.push(n.id);
        }
      }
      out.readersAll = [...r.nodes.values()].filter(n => n.tags.includes('reader')).length;
      out.stats = window.minetwin.stats().instanced;
      out.calls = v.renderer.info.render.calls;
      return out; }""")
    assert info["wrong"] == [] and info["colour"] == [], info
    assert info["readers"] == info["readersAll"] >= 100, info
    assert info["parts"] >= 400 and info["batched"] > 4 * info["own"], info
    assert info["stats"]["instances"] >= 500 and info["stats"]["calls"] < 60, info
    # the face close up (the supports in a row), people hidden: the picture is the one the
    # nodes' own meshes draw, in a fifth of the draw calls or fewer
    page.page.uncheck("#layers [data-layer=person] input")
    page.js("window.minetwin.view.focus('face/11901')")
    page.next_frame()
    same = page.js(SAME_PICTURE_BOTH_WAYS)
    assert same["drawn"] > same["pixels"] // 10, same
    assert same["differ"] <= same["pixels"] // 200, same
    assert same["callsA"] * 5 <= same["callsB"] and same["own"] > 600, same
    # a click on an instanced sensor picks that sensor
    sensor, at = page.js("""() => { const v = window.minetwin.view;
      for (const n of window.minetwin.replica.nodes.values()) {
        if (!n.tags.includes('sensor') || !v.batches.has(v.views.get(n.handle))) continue;
        v.focus(n.id, 6);
        v.camera.updateMatrixWorld();
        const at = v.screenPosition(n.id);
        if (v.pick(at.x, at.y)?.id === n.id) return [n.id, at];
      }
      return [null, null]; }""")
    assert sensor is not None
    page.next_frame()
    page.page.mouse.click(at["x"], at["y"])
    page.page.wait_for_function(
        "id => document.querySelector('#inspect td.id')?.textContent === id", arg=sensor)
    # a reader that loses its link blinks: its own mesh while it does, an instance again once
    # it is back (JZSS files in the inbox; the simulator reports readers only as they change)
    reader = page.js("""() => { const v = window.minetwin.view;
      return [...window.minetwin.replica.nodes.values()].find(n => n.tags.includes('reader')
        && n.props.get('online') !== false && v.batches.has(v.views.get(n.handle))).id; }""")
    code = reader.split("/", 1)[1]
    state = """([id, blinking]) => { const v = window.minetwin.view, n = window.minetwin.replica.node(id);
      const x = n && v.views.get(n.handle);
      if (!x || (n.blink > 0) !== blinking) return false;
      return { mesh: !!x.mesh, batched: v.batches.has(x), materials: x.materials.length }; }"""
    tz = ZoneInfo(demo_model.mine.time_zone)
    now = datetime.fromtimestamp(page.js("window.minetwin.conn.dataNow()") / 1000, tz).replace(microsecond=0)
    _to_inbox(twin_server, demo_model, "JZSS", now, f"{code};1;1;{now:%Y-%m-%d %H:%M:%S}")
    down = page.page.wait_for_function(state, arg=[reader, True], timeout=60_000).json_value()
    assert down["mesh"] and not down["batched"] and down["materials"] > 0, down
    later = now + timedelta(seconds=1)
    _to_inbox(twin_server, demo_model, "JZSS", later, f"{code};0;1;{later:%Y-%m-%d %H:%M:%S}")
    back = page.page.wait_for_function(state, arg=[reader, False], timeout=60_000).json_value()
    assert back["batched"] and not back["mesh"], back
    assert page.errors == []


def test_the_risk_map_colours_areas_and_says_why(open_page):
    """#22.3: the risk panel lists every area in its colour with the facts behind its level;
    switched on, the roadways of the plan lines (3D) and of the 2D plan take their area's
    colour."""
    page = open_page("viewer", "&plan=1&risk=1&hide=seam,contour,fault,hazard,stratum",
                     size=(1600, 900))
    page.page.wait_for_function(
        "document.querySelectorAll('#risk .risk-row').length > 0 && "
        "[...document.querySelectorAll('#risk .risk-row')].some(r => !r.className.includes('level-blue'))",
        timeout=120_000)
    rows = page.page.eval_on_selector_all(
        "#risk .risk-row", "e => e.map(r => [r.dataset.area, r.className, r.textContent])")
    api = page.js("fetch('api/risk').then(r => r.json())")
    by = {a["area"]: a for a in api["levels"]}
    assert {a for a, *_ in rows} == set(by)
    order = ["red", "orange", "yellow", "blue"]
    shown = [c.split("level-")[1] for _, c, _ in rows]
    assert shown == sorted(shown, key=order.index)                 # the worst first
    # clicking an area opens its reasons: the API's sentences, in the user's language
    top = next(a for a, c, _ in rows if "level-blue" not in c)
    page.page.click(f"#risk .risk-row[data-area='{top}']")
    page.page.wait_for_selector(f"#risk .risk-area .risk-row[data-area='{top}']")
    # (read with the data the panel drew from: a live mine's facts change between fetches)
    reasons, data_reasons = page.js(f"""[
        [...document.querySelectorAll('#risk .risk-area ul.reasons li')].map(x => x.textContent),
        window.minetwin.risk.data.levels.find(a => a.area === '{top}').reasons.map(r => r.zh)]""")
    assert reasons and reasons == data_reasons
    # and its level over the last 24 h: one block per change the twin recorded (risk/<area>),
    # each in its level's colour
    page.page.wait_for_selector("#risk .risk-area .risk-history .bar span:not(.unknown)")
    blocks, points = page.js(f"""[
        [...document.querySelectorAll('#risk .risk-area .risk-history .bar span:not(.unknown)')]
          .map(b => getComputedStyle(b).backgroundColor),
        window.minetwin.risk.hist.get('{top}').points.map(p => p.value)]""")
    palette = ["rgb(47, 128, 237)", "rgb(242, 201, 76)", "rgb(242, 153, 74)", "rgb(235, 87, 87)"]
    assert blocks == [palette[int(v)] for v in points]
    # the roadways in the risk colours: each plan line's colour is its area's level's (read
    # in one go with the area nodes' risk_level it was drawn from)
    colours, levels = page.js("""(() => {
        window.minetwin.risk.render();       // drawn from the levels of this very moment
        const g = window.minetwin.view.planLines.lines.geometry;
        const c = g.attributes.instanceColorStart.array;
        const plan = window.minetwin.risk.plan, out = {};
        let i = 0;
        for (const r of plan.roadways) {
          const n = r.points.length - 1;
          if (n > 0) out[r.id] = [c[i * 6], c[i * 6 + 1], c[i * 6 + 2]];    // linear
          i += n;
        }
        const lv = {};
        for (const [k, a] of window.minetwin.risk.levels()) lv[k] = a.level;
        return [out, lv];
    })()""")
    rgb = [[47, 128, 237], [242, 201, 76], [242, 153, 74], [235, 87, 87]]
    area_of = {r: a["code"] for a in page.js("window.minetwin.risk.plan.areas") for r in a["roadways"]}
    coloured = [(rid, c) for rid, c in colours.items() if rid in area_of]

    def srgb(v):                            # three keeps colours linear: back to sRGB 0–255
        return round(255 * (12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055))
    assert coloured and all([srgb(v) for v in c] == rgb[levels[area_of[rid]]]
                            for rid, c in coloured)
    # #22.5 what lies ahead of the workings, marked where it will be met: the API's targets
    # within 200 m, three a working at most, "断层 F1 111 m · 14 天"
    page.page.wait_for_function("(window.minetwin.view.aheadMarks || []).length > 0")
    marks, forecasts = page.js("[window.minetwin.view.aheadMarks.map(o => [o.element.dataset.working, "
                               "o.element.textContent, o.position.x, o.position.y]), "
                               "window.minetwin.risk.data.forecasts]")
    expected = [(f["working"], a) for f in forecasts
                for a in [x for x in f["ahead"] if 0 < x["distance_m"] <= 200][:3]]
    assert len(marks) == len(expected)
    for (w, text, x, y), (ew, a) in zip(marks, expected):
        assert w == ew and f"{round(a['distance_m'])} m" in text
        assert (x, y) == pytest.approx(tuple(a["position"][:2]), abs=0.01)
    assert any(t.startswith("断层 F1 ") and "天" in t for _, t, *_ in marks)
    page.page.screenshot(path=str(artifact("viewer-risk-map.png")))
    # off again: the roadways take their roles' colours back
    page.page.click("#risk .risk-toggle")
    assert page.js("window.minetwin.risk.on") is False
    assert page.errors == []


def _photo() -> bytes:
    """A small real PNG (a photo of the place, as far as the test is concerned)."""
    import io

    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 40)).save(out, "PNG")
    return out.getvalue()


def _command(twin_server, token: str, name: str, **args) -> dict:
    """One command over the protocol from a client of its own (no subscription): its result."""
    from websockets.sync.client import connect

    from streaming.protocol import Auth, Command, decode, encode
    url = twin_server.url.replace("http://", "ws://")
    with connect(url, subprotocols=["minetwin.v1"], open_timeout=60) as ws:
        decode(ws.recv(60))                                    # hello
        ws.send(encode(Auth(token)))
        decode(ws.recv(60))                                    # auth_ok
        ws.send(encode(Command(1, name, args)))
        while True:
            msg = decode(ws.recv(60), 64 << 20)
            if msg.t == "result":
                assert msg.ok, msg.message
                return msg.data


def test_a_hidden_danger_reported_on_a_node_goes_through_its_steps(open_page, twin_server):
    """#22.4 in the viewer: an engineer reports a hidden danger from a sensor's details with a
    photo; the dispatcher sees it arrive, grades and assigns it, rectifies it, is refused the
    verification of their own work (the server's reason shown), and the safety officer
    verifies and closes it (from a client of their own); the viewer's token cannot take the
    dispatcher's steps (its button says why)."""
    eng = open_page("viewer")
    sensor = eng.js("[...window.minetwin.replica.nodes.values()].find(n => "
                    "n.tags.includes('sensor') && n.props.get('quantity') === 'ch4').id")
    eng.js(f"window.minetwin.inspector.select({sensor!r})")
    eng.page.click("#inspect button.report-danger")
    eng.page.fill("#danger-dialog input.title", "甲烷探头吊挂位置不符合规定")
    eng.page.fill("#danger-dialog textarea.description", "距顶板 0.6 m，应不大于 0.3 m")
    eng.page.select_option("#danger-dialog select.hazard", "gas")
    eng.page.set_input_files("#danger-dialog input.files",
                             files=[{"name": "现场.png", "mimeType": "image/png", "buffer": _photo()}])
    eng.page.click("#danger-dialog button.send")
    eng.page.wait_for_selector("#dangers li.danger")
    hid = int(eng.page.get_attribute("#dangers li.danger", "data-danger"))
    disp = open_page("operator", size=(1600, 900))
    disp.page.wait_for_selector(f"#dangers li.danger[data-danger='{hid}']")

    def step(page, name, fill=None):
        page.page.click(f"#dangers li.danger[data-danger='{hid}'] button.step-{name}")
        page.page.wait_for_selector("#danger-dialog")
        if fill:
            fill(page.page)
        page.page.click("#danger-dialog button.send")

    disp.page.click(f"#dangers li.danger[data-danger='{hid}'] .line")
    disp.page.wait_for_selector(f"#dangers li.danger[data-danger='{hid}'] .files img")
    step(disp, "assess", lambda p: p.select_option("#danger-dialog select.level", "A"))
    disp.page.wait_for_function(f"document.querySelector(\"#dangers li.danger[data-danger='{hid}'] "
                                f".grade\")?.textContent === 'A级隐患'")
    step(disp, "assign", lambda p: (p.fill("#danger-dialog input.team", "通风队"),
                                    p.fill("#danger-dialog input.days", "2")))
    disp.page.wait_for_function(f"document.querySelector(\"#dangers li.danger[data-danger='{hid}'] "
                                f".deadline\")")
    # the engineer's token cannot take the dispatcher's steps: disabled, saying which role
    eng.page.click(f"#dangers li.danger[data-danger='{hid}'] .line")
    eng.page.wait_for_selector(f"#dangers li.danger[data-danger='{hid}'] button.step-rectify")
    assert eng.page.is_disabled(f"#dangers li.danger[data-danger='{hid}'] button.step-rectify")
    assert "operator" in eng.page.get_attribute(
        f"#dangers li.danger[data-danger='{hid}'] button.step-rectify", "title")
    record = eng.js(f"window.minetwin.conn.command('danger_get', {{danger: {hid}}})")["data"]["danger"]
    assert record["node"] == sensor and record["files"][0]["mime"] == "image/png"
    assert eng.errors == []
    eng.close()                      # (one page less drawing in software WebGL)
    step(disp, "rectify", lambda p: p.fill("#danger-dialog textarea.comment", "已重新吊挂"))
    disp.page.wait_for_selector(f"#dangers li.danger[data-danger='{hid}'] button.step-verify")
    step(disp, "verify")
    disp.page.wait_for_function("document.querySelector('#danger-dialog .note')?.textContent"
                                ".includes('不得验收本人整改的隐患')")
    assert "rectified" not in disp.page.inner_text("#danger-dialog .note")    # in Chinese
    disp.page.screenshot(path=str(artifact("dangers-refused.png")))
    disp.page.click("#danger-dialog button.cancel")
    # the safety officer verifies and closes it from another client (a third page would cost
    # the machine another software-WebGL scene); the dispatcher's page follows live
    _command(twin_server, "minetwin-admin", "danger_verify", danger=hid, passed=True)
    disp.page.wait_for_selector(f"#dangers li.danger[data-danger='{hid}'] button.step-close")
    disp.page.screenshot(path=str(artifact("dangers-verified.png")))
    _command(twin_server, "minetwin-admin", "danger_close", danger=hid)
    # closed: it leaves the open list of every viewer; its steps name each person
    disp.page.wait_for_function(f"!document.querySelector(\"#dangers li.danger[data-danger='{hid}']\")")
    record = disp.js(f"window.minetwin.conn.command('danger_get', {{danger: {hid}}})")["data"]["danger"]
    assert [(s["step"], s["person"]) for s in record["steps"]] == [
        ("report", "工程师(演示)"), ("assess", "值班调度员(演示)"), ("assign", "值班调度员(演示)"),
        ("rectify", "值班调度员(演示)"), ("verify", "安监员(演示)"), ("close", "安监员(演示)")]
    assert disp.errors == []
