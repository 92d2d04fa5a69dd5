"""The mine in plan as a picture (``minetwin render --view overview``, and the alarm pictures
of an area): Panda3D renders the scene from straight above through an orthographic lens
(hazard-zone outlines, the goaf, equipment), and Pillow draws over it what makes a plan
readable — roadways as lines of a legible width coloured by their ventilation role, the
faces and headings with name, advance and headcount, the sensors (those not normal
labelled with point, quantity, value and unit), everyone underground as a dot, each area's
headcount, roadway names, a title with the data's time and the KPIs, a legend, a north
arrow and a scale bar. Labels never overlap: the most important are placed first.

``plan`` is the mine in plan as GET /api/plan gives it (twin/plan.py); the live state
(colours, labels, alarm levels, people) is the scene's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scene import Scene

__all__ = ["plan_picture", "plan_region", "plan_hidden", "world_to_pixel", "PLAN_HIDDEN"]

#: What the plan picture leaves out: the geology's surfaces and shells (they would cover the
#: plan), the zones' fills (their outlines show) and the kinds the viewer starts with hidden.
PLAN_HIDDEN = ("seam", "contour", "stratum", "fault", "prediction", "hazard-fill", "hazard:gas",
               "hazard:stress")

#: Sensor colours that are not "normal" (the bindings' warning, alarm, fault, no data).
NOT_NORMAL = {0xF39C12, 0xE74C3C, 0x95A5A6, 0x7F8C8D}
PERSON, LEADER, PERSON_ALARM = 0x22D3EE, 0xA5F3FC, 0xFF3B30
FACE = 0xF1C40F
SENSOR_NORMAL = 0x2ECC71
#: Roadways at least this long carry their name.
NAMED_M = 250.0

WORDS = {
    "zh": {"plan": "全矿平面图", "legend": "图例", "north": "北", "intake": "进风巷道",
           "return": "回风巷道", "belt": "胶带巷道", "other": "其他巷道", "face": "回采工作面",
           "heading": "掘进工作面", "person": "人员", "person_alarm": "人员报警/求救",
           "sensor": "测点正常", "warning": "测点预警", "alarm": "测点报警",
           "fault": "测点故障/无数据", "outburst": "突出危险区", "water": "水害区",
           "gas": "瓦斯富集区", "stress": "应力集中区", "fire": "火区", "goaf": "采空区",
           "area_alarm": "区域报警", "working": "{name} · 推进 {adv:.1f} m · {n} 人",
           "count": "{name} {n}人", "people": "井下 {n} 人", "alarms": "报警 {n}",
           "warnings": "预警 {n}"},
    "en": {"plan": "Mine plan", "legend": "Legend", "north": "N", "intake": "intake roadway",
           "return": "return roadway", "belt": "belt roadway", "other": "other roadway",
           "face": "longwall face", "heading": "heading", "person": "person",
           "person_alarm": "person in alarm / SOS", "sensor": "sensor normal",
           "warning": "sensor warning", "alarm": "sensor in alarm",
           "fault": "sensor fault / no data", "outburst": "outburst danger",
           "water": "water hazard", "gas": "gas enrichment", "stress": "stress concentration",
           "fire": "fire zone", "goaf": "goaf", "area_alarm": "area in alarm",
           "working": "{name} · advanced {adv:.1f} m · {n} people", "count": "{name} {n}",
           "people": "{n} underground", "alarms": "{n} alarms", "warnings": "{n} warnings"},
}


def plan_hidden(tags) -> bool:
    return any(t in PLAN_HIDDEN or t.split(":")[0] in PLAN_HIDDEN for t in tags)


def _rgb(c: int) -> tuple[int, int, int]:
    return (c >> 16) & 255, (c >> 8) & 255, c & 255


@dataclass(frozen=True)
class _Frame:
    """World (scene metres, x east, y north) ↔ picture pixels: north up, ``scale`` px/m,
    the world point (cx, cy) at the picture's centre."""
    scale: float
    cx: float
    cy: float
    width: int
    height: int

    def px(self, x, y, k: float = 1.0) -> tuple[float, float]:
        return ((float(x) - self.cx) * self.scale + self.width / 2) * k, \
            (self.height / 2 - (float(y) - self.cy) * self.scale) * k


def plan_region(plan: dict, roadways=None, margin_m: float = 0.0):
    """(lo_xy, hi_xy) of the plan's roadways (or of those named in ``roadways``)."""
    pts = [p for r in plan.get("roadways", []) if roadways is None or r["id"] in roadways
           for p in r["points"]]
    if not pts:
        raise ValueError("the plan has no roadways" + (f" among {sorted(roadways)}"
                                                       if roadways is not None else ""))
    a = np.asarray(pts, float)[:, :2]
    return a.min(axis=0) - margin_m, a.max(axis=0) + margin_m


def _priority(scene: Scene, nid: str) -> int:
    """As the viewer's labels: 3 an alarm, 2 not normal, 1 normal (people: 3 in alarm, 0)."""
    node, v = scene.node(nid), scene.visual(nid)
    if "person" in node.tags:
        return 3 if _person_alarmed(scene, nid) else 0
    if v.blink > 0 or (scene.property(nid, "alarm_level", 0) or 0) > 0 \
            or scene.property(nid, "power_off", False) is True:
        return 3
    if v.color in NOT_NORMAL or (scene.property(nid, "data_state", "ok") or "ok") != "ok":
        return 2
    return 1


def _person_alarmed(scene: Scene, nid: str) -> bool:
    return scene.property(nid, "sos", False) is True or \
        (scene.property(nid, "alarm_level", 0) or 0) > 0 or scene.visual(nid).blink > 0


class _Labels:
    """Text boxes placed without overlap and inside the picture, the most important first;
    each label tries its places in turn (to the right of its point, then to the left …)."""

    def __init__(self, draw, font, size, keep_out=()):
        self.d, self.font, self.size = draw, font, size
        self.items: list[tuple] = []
        self.placed = [tuple(b) for b in keep_out]

    def add(self, priority: float, places, text: str, fg, bg=(13, 17, 23, 215),
            border=None) -> None:
        """``places``: (x, y, Pillow anchor) to try, in order."""
        self.items.append((priority, len(self.items), places, text, fg, bg, border))

    def draw(self) -> int:
        n = 0
        W, H = self.size
        for _, _, places, text, fg, bg, border in sorted(self.items, key=lambda i: (-i[0], i[1])):
            for x, y, anchor in places:
                b = self.d.textbbox((x, y), text, font=self.font, anchor=anchor)
                box = (b[0] - 5, b[1] - 3, b[2] + 5, b[3] + 3)
                if box[0] < 0 or box[1] < 0 or box[2] > W or box[3] > H or any(
                        not (box[2] <= p[0] or box[0] >= p[2] or box[3] <= p[1]
                             or box[1] >= p[3]) for p in self.placed):
                    continue
                self.placed.append(box)
                self.d.rounded_rectangle(box, radius=4, fill=bg,
                                         outline=_rgb(border) if border is not None else None,
                                         width=2 if border is not None else 0)
                self.d.text((x, y), text, font=self.font, fill=fg, anchor=anchor)
                n += 1
                break
        return n


def _beside(x: float, y: float, dx: float, dy: float = 0.0):
    """Places beside a point: right, left, then (with ``dy``) below and above each side."""
    out = [(x + dx, y + dy, "lm"), (x - dx, y + dy, "rm")]
    if dy:
        out += [(x + dx, y - dy, "lm"), (x - dx, y - dy, "rm")]
    return out


def plan_picture(renderer, mirror, plan: dict, *, title: str = "", subtitle: str = "",
                 banner: str | None = None, region=None, highlight_area: str | None = None,
                 lang: str = "zh", legend: bool = True):
    """A Pillow image of the mine (or of ``region`` = (lo_xy, hi_xy)) in plan, north up.

    ``highlight_area``: an area code whose roadways are drawn with a halo (an area's alarm
    picture). The mirror should hide :data:`PLAN_HIDDEN` (``hide=plan_hidden``).
    Returns the image; its ``info["plan"]`` says what was drawn (counts, for tests)."""
    from PIL import Image, ImageDraw

    from .renderer import _font, RenderError
    words = WORDS.get(lang, WORDS["zh"])
    scene = mirror.scene
    W, H = renderer.size
    title_h = round(H * 0.075) if (title or subtitle or banner) else 0
    legend_w = round(W * 0.17) if legend else 0
    map_w, map_h = W - legend_w, H - title_h
    if map_w < 64 or map_h < 64:
        raise RenderError(f"a {W}x{H} picture is too small for a plan")
    lo, hi = plan_region(plan) if region is None else (np.asarray(region[0], float)[:2],
                                                       np.asarray(region[1], float)[:2])
    span = np.maximum(hi - lo, 20.0)
    pad = 0.05
    scale = min(map_w * (1 - 2 * pad) / span[0], map_h * (1 - 2 * pad) / span[1])
    mid = (lo + hi) / 2
    # the world centre of the whole picture: the region's centre sits at the map's centre
    cx = mid[0] + (W / 2 - map_w / 2) / scale
    cy = mid[1] - (H / 2 - (title_h + map_h / 2)) / scale
    fr = _Frame(scale, cx, cy, W, H)
    renderer.look_plan((cx, cy), W / scale, H / scale)
    base = Image.fromarray(renderer.picture()).convert("RGBA")

    # ---- lines and dots, drawn at twice the size and scaled down (smooth edges)
    k = 2
    over = Image.new("RGBA", (W * k, H * k), (0, 0, 0, 0))
    d = ImageDraw.Draw(over)
    lw = max(3, round(min(W, H) / 240))
    roads = {r["id"]: r for r in plan.get("roadways", [])}
    face = plan.get("colors", {}).get("face", FACE)
    face_rgb = _rgb(face)
    alarmed_areas = {a["code"] for a in plan.get("areas", [])
                     if f"area/{a['code']}" in scene
                     and (scene.property(f"area/{a['code']}", "alarm_level", 0) or 0) > 0}
    halo = {}
    for a in plan.get("areas", []):
        if a["code"] in alarmed_areas or a["code"] == highlight_area:
            colour = (231, 76, 60, 150) if a["code"] in alarmed_areas else (34, 211, 238, 110)
            for rid in a["roadways"]:
                halo[rid] = colour
    for rid, colour in halo.items():
        if rid in roads:
            d.line([fr.px(p[0], p[1], k) for p in roads[rid]["points"]], fill=colour,
                   width=lw * k * 4, joint="curve")
    for r in sorted(roads.values(), key=lambda r: r["role"] != "other"):   # main ones on top
        pts = [fr.px(p[0], p[1], k) for p in r["points"]]
        if len(pts) >= 2:
            d.line(pts, fill=_rgb(r.get("color", 0xB8B0A0)) + (255,), width=lw * k,
                   joint="curve")
    for w in plan.get("workings", []):
        if w["kind"] == "face" and len(w["line"]) >= 2:
            d.line([fr.px(p[0], p[1], k) for p in w["line"]], fill=face_rgb + (255,),
                   width=lw * k * 3)
        elif w["line"]:
            x, y = fr.px(w["line"][0][0], w["line"][0][1], k)
            s = lw * k * 3
            d.polygon([(x, y - s), (x + s, y), (x, y + s), (x - s, y)], fill=face_rgb + (255,),
                      outline=(0, 0, 0, 255), width=k)
    sensors, people = [], []
    for nid in scene:
        tags = scene.node(nid).tags
        if not scene.visual(nid).visible or plan_hidden(tags):
            continue
        if "sensor" in tags:
            sensors.append(nid)
        elif "person" in tags and scene.property(nid, "underground", True) is not False:
            people.append(nid)
    prio = {n: _priority(scene, n) for n in sensors}             # 3 alarm, 2 not normal
    alarmed = {n: _person_alarmed(scene, n) for n in people}
    r_s = lw * k * 0.9
    for nid in sorted(sensors, key=prio.get):
        p = scene.world_position(nid)
        x, y = fr.px(p[0], p[1], k)
        pr = prio[nid]
        rr = r_s * (1.7 if pr >= 2 else 1.0)
        d.ellipse((x - rr, y - rr, x + rr, y + rr), fill=_rgb(scene.visual(nid).color) + (255,),
                  outline=(0, 0, 0, 255), width=k)
    r_p = lw * k * 1.1
    for nid in sorted(people, key=alarmed.get):
        p = scene.world_position(nid)
        x, y = fr.px(p[0], p[1], k)
        bad = alarmed[nid]
        colour = PERSON_ALARM if bad else LEADER if "person:leader" in scene.node(nid).tags \
            else PERSON
        rr = r_p * (1.6 if bad else 1.0)
        d.ellipse((x - rr, y - rr, x + rr, y + rr), fill=_rgb(colour) + (255,),
                  outline=(0, 0, 0, 255), width=k)
        if bad:
            d.ellipse((x - rr * 2, y - rr * 2, x + rr * 2, y + rr * 2),
                      outline=_rgb(PERSON_ALARM) + (255,), width=k * 2)
    base.alpha_composite(over.resize((W, H), Image.LANCZOS))

    # ---- text: titles and legend first (the labels keep out of them), then the labels
    d = ImageDraw.Draw(base)
    f_label = _font(max(12, round(H / 60)))
    f_title = _font(max(16, round(H / 30)))
    f_small = _font(max(12, round(H / 66)))
    keep_out = []
    if title_h:
        keep_out.append((0, 0, W, title_h))
    if legend_w:
        keep_out.append((W - legend_w, 0, W, H))
    labels = _Labels(d, f_label, (W, H), keep_out)
    for nid in sensors:
        pr = prio[nid]
        text = scene.visual(nid).label
        if pr >= 2 and text:
            p = scene.world_position(nid)
            x, y = fr.px(p[0], p[1])
            labels.add(pr, _beside(x, y, lw * 2), text, _rgb(scene.visual(nid).color),
                       border=scene.visual(nid).color if pr >= 3 else None)
    by_area: dict[str, list] = {}
    for nid in people:
        p = scene.world_position(nid)
        if alarmed[nid]:
            x, y = fr.px(p[0], p[1])
            labels.add(3, _beside(x, y, lw * 3), scene.node(nid).name, (255, 255, 255),
                       bg=(127, 29, 29, 230), border=PERSON_ALARM)
        area = scene.property(nid, "area", None)
        if area:
            by_area.setdefault(area, []).append(p)
    areas = {a["code"]: a for a in plan.get("areas", [])}
    working_areas = set()
    faces = heads = 0
    for w in plan.get("workings", []):
        node = w.get("node")
        adv = float(scene.property(node, "advanced_m", w["advanced_m"]) if node in scene
                    else w["advanced_m"])
        area = w.get("area")
        if area:
            working_areas.add(area)
        n = len(by_area.get(area, ())) if area else 0
        rated = areas.get(area, {}).get("rated_headcount") if area else None
        over = bool(rated) and n > rated
        pts = np.asarray(w["line"], float)
        x, y = fr.px(*pts[:, :2].mean(axis=0))
        labels.add(2.8, _beside(x, y, lw * 4, lw * 5),
                   words["working"].format(name=w["name"], adv=adv, n=n),
                   (255, 255, 255) if over else (253, 230, 138),
                   bg=(127, 29, 29, 230) if over else (59, 47, 8, 225),
                   border=0xE74C3C if over else face)
        faces += w["kind"] == "face"
        heads += w["kind"] != "face"
    for code, pts in by_area.items():
        if code in working_areas:
            continue                               # the working's label carries the count
        a = areas.get(code, {})
        c = np.mean(np.asarray(pts)[:, :2], axis=0)
        x, y = fr.px(c[0], c[1])
        over = bool(a.get("rated_headcount")) and len(pts) > a["rated_headcount"]
        labels.add(2.5, [(x, y - lw * 5, "mm"), (x, y + lw * 5, "mm")],
                   words["count"].format(name=a.get("name", code), n=len(pts)),
                   (230, 237, 243), bg=(127, 29, 29, 230) if over else (14, 75, 90, 225),
                   border=0xE74C3C if over else PERSON)
    for r in roads.values():
        if r.get("length_m", 0) >= NAMED_M and len(r["points"]) >= 2:
            i = (len(r["points"]) - 1) // 2
            a, b = r["points"][i], r["points"][i + 1]
            x, y = fr.px((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
            labels.add(1.5, [(x, y, "mm")], r["name"], (201, 209, 217), bg=(13, 17, 23, 170))
    shown = labels.draw()

    # ---- the title band: what, when, how many
    under = len(people)
    alarms = sum(pr >= 3 for pr in prio.values()) + len(alarmed_areas)
    warnings = sum(pr == 2 for pr in prio.values())
    if title_h:
        colour = (192, 57, 43) if banner else (22, 27, 34)
        d.rectangle((0, 0, W, title_h), fill=colour)
        head = banner or (f"{title} · {words['plan']}" if title else words["plan"])
        d.text((round(W * 0.012), title_h / 2), head, font=f_title, fill=(255, 255, 255),
               anchor="lm")
        kpi = "   ".join([words["people"].format(n=under), words["alarms"].format(n=alarms),
                          words["warnings"].format(n=warnings)])
        right = f"{subtitle}   {kpi}" if subtitle else kpi
        d.text((W - round(W * 0.012), title_h / 2), right, font=f_label,
               fill=(230, 237, 243), anchor="rm")
    # ---- the legend column: swatches, north arrow, scale bar
    if legend_w:
        x0 = W - legend_w
        d.rectangle((x0, title_h, W, H), fill=(22, 27, 34))
        d.line((x0, title_h, x0, H), fill=(48, 54, 61), width=2)
        pad_x = round(legend_w * 0.08)
        y = title_h + round(H * 0.02)
        d.text((x0 + pad_x, y), words["legend"], font=f_title, fill=(230, 237, 243))
        y += round(H * 0.055)
        row = round(H * 0.034)
        sw = round(legend_w * 0.16)

        def item(kind: str, colour: int, label: str) -> None:
            nonlocal y
            cx0, cy0 = x0 + pad_x, y + row / 2
            c = _rgb(colour)
            if kind == "line":
                d.line((cx0, cy0, cx0 + sw, cy0), fill=c, width=lw)
            elif kind == "thick":
                d.line((cx0, cy0, cx0 + sw, cy0), fill=c, width=lw * 3)
            elif kind == "diamond":
                s = lw * 2
                m = cx0 + sw / 2
                d.polygon([(m, cy0 - s), (m + s, cy0), (m, cy0 + s), (m - s, cy0)], fill=c)
            elif kind == "dot":
                s = lw * 1.3
                m = cx0 + sw / 2
                d.ellipse((m - s, cy0 - s, m + s, cy0 + s), fill=c, outline=(0, 0, 0))
            elif kind == "zone":
                d.rectangle((cx0, cy0 - row * 0.3, cx0 + sw, cy0 + row * 0.3), outline=c,
                            width=max(2, lw - 1))
            elif kind == "halo":
                d.line((cx0, cy0, cx0 + sw, cy0), fill=c, width=lw * 4)
                d.line((cx0, cy0, cx0 + sw, cy0), fill=(184, 176, 160), width=lw)
            d.text((cx0 + sw + pad_x / 2, cy0), label, font=f_small, fill=(201, 209, 217),
                   anchor="lm")
            y += row

        colours = plan.get("colors", {})
        roles = {r["role"] for r in roads.values()}
        for role in ("intake", "return", "belt", "other"):
            if role in roles:
                item("line", colours.get("roadway", {}).get(role, 0xB8B0A0), words[role])
        if faces:
            item("thick", face, words["face"])
        if heads:
            item("diamond", face, words["heading"])
        item("dot", PERSON, words["person"])
        item("dot", PERSON_ALARM, words["person_alarm"])
        item("dot", SENSOR_NORMAL, words["sensor"])
        item("dot", 0xF39C12, words["warning"])
        item("dot", 0xE74C3C, words["alarm"])
        item("dot", 0x95A5A6, words["fault"])
        if alarmed_areas:
            item("halo", 0xE74C3C, words["area_alarm"])
        kinds = sorted({t.split(":", 1)[1] for nid in scene for t in scene.node(nid).tags
                        if t.startswith("hazard:") and scene.visual(nid).visible
                        and not plan_hidden(scene.node(nid).tags)})
        for kind in kinds:
            colour = colours.get("hazard", {}).get(kind)
            if colour is not None and kind in words:
                item("zone", colour, words[kind])
        # north arrow (north is up: the camera looks straight down with north at the top)
        ay = max(y + round(H * 0.075), H - round(H * 0.3))
        ax = x0 + legend_w / 2
        s = round(min(legend_w, H) * 0.11)
        d.polygon([(ax, ay), (ax + s * 0.45, ay + s * 1.3), (ax, ay + s), (ax - s * 0.45,
                                                                       ay + s * 1.3)],
                  fill=(230, 237, 243))
        d.text((ax, ay - 4), words["north"], font=f_title, fill=(230, 237, 243), anchor="md")
        # scale bar: the longest round length that fits the column
        metres = _nice_length(scale, legend_w - 2 * pad_x)
        bx, by = x0 + pad_x, H - round(H * 0.06)
        bl = metres * scale
        d.rectangle((bx, by, bx + bl, by + lw * 2), fill=(230, 237, 243))
        d.rectangle((bx + bl / 2, by, bx + bl, by + lw * 2), fill=(72, 79, 88))
        d.text((bx, by - 6), "0", font=f_small, fill=(201, 209, 217), anchor="ld")
        d.text((bx + bl, by - 6), f"{metres / 1000:g} km" if metres >= 1000 else f"{metres} m",
               font=f_small, fill=(201, 209, 217), anchor="rd")
    img = base.convert("RGB")
    img.info["plan"] = {"people": under, "sensors": len(sensors), "alarms": alarms,
                        "warnings": warnings, "labels": shown, "scale_px_per_m": scale,
                        "workings": faces + heads, "line_px": lw,
                        "frame": (fr.scale, fr.cx, fr.cy)}
    return img


_NICE = (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


def _nice_length(px_per_m: float, max_px: float) -> int:
    """The longest round length (m) at most ``max_px`` long (as the viewer's scale bar)."""
    return next((m for m in reversed(_NICE) if m * px_per_m <= max_px), _NICE[0])


def world_to_pixel(info: dict, width: int, height: int, x: float, y: float):
    """Where a world point (scene metres) is in a plan picture (its ``info["plan"]``)."""
    scale, cx, cy = info["frame"]
    return _Frame(scale, cx, cy, width, height).px(x, y)

