"""The scene from the mine model: a node with a stable id for every roadway (a mesh swept
from its centerline and profile, joined to its neighbours at junctions), working face, goaf, sensor (a marker at its real
position), outstation, reader, area, person and equipment item, tagged by layer.

Ids (DESIGN.md "Node ids")::

    roadway/<id>   face/<id>   heading/<id>   hazard/goaf-<face id>   sensor/<point code>
    outstation/<code>   reader/<code>   area/<code>   person/<card>   equipment/<id>

under group nodes ``group/roadways``, ``group/faces`` … so a viewer can switch a layer off.
People start out of the mine (hidden, at the portal of the first intake incline) until a
position arrives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assets import AssetStore, box_glb, glb_from_mesh, join_roadways, marker_glb, mesh_bounds
from scene import MeshRef, Scene, Visual

from .model import RELATION_KINDS, ROADWAY_TYPES, MineModel, Roadway
from .sensor_types import normalise_unit, quantity_of

__all__ = ["build_scene", "GROUPS", "LAYER_COLORS"]

GROUPS = {
    "roadway": ("group/roadways", "巷道"), "face": ("group/faces", "工作面"),
    "hazard": ("group/hazards", "灾害区域"), "sensor": ("group/sensors", "安全监控"),
    "outstation": ("group/outstations", "分站"), "reader": ("group/readers", "人员定位基站"),
    "area": ("group/areas", "区域"), "person": ("group/people", "人员"),
    "equipment": ("group/equipment", "设备"), "tube_bundle": ("group/tube-bundle", "束管监测"),
}

#: The goaf is drawn as a plate this thick on the seam floor (its heights are properties).
GOAF_FOOTPRINT_M = 0.3

#: Base colours (0xRRGGBB) of meshes by layer / roadway ventilation.
LAYER_COLORS = {"intake": 0x4F8FD8, "return": 0xD8644F, "belt": 0x8A8A8A, "other": 0xB8B0A0,
                "face": 0x3A3A3A, "goaf": 0x6B5B4B, "sensor": 0x2ECC71, "reader": 0xF1C40F,
                "person": 0xFF8C00, "equipment": 0x7F8C8D, "outstation": 0x9B59B6,
                "tube_bundle": 0xE67E22}

_EQUIPMENT_BOX = {   # extents (m) of the placeholder shapes until the parametric library
    "shearer": (10.0, 2.0, 1.6), "hydraulic_support": (5.0, 1.5, 1.8),
    "face_conveyor": (1.0, 1.0, 0.6), "belt_conveyor": (6.0, 1.4, 1.2),
    "main_fan": (6.0, 3.0, 3.0), "local_fan": (2.5, 0.8, 0.8), "pump": (3.0, 1.2, 1.2),
    "hoist": (5.0, 4.0, 3.0), "compressor": (3.5, 1.8, 2.0),
    "gas_drainage_pump": (4.0, 1.8, 1.8), "substation": (8.0, 4.0, 3.0),
}


def _rgb(color: int) -> tuple[int, int, int]:
    return (color >> 16) & 255, (color >> 8) & 255, color & 255


def _area_prop(model: MineModel, working_id: str) -> dict[str, str]:
    """``{"area": code}`` of a working's personnel-location area (its headcount), if any."""
    code = model.working_area(working_id)
    return {"area": code} if code else {}


def roadway_role(r: Roadway) -> str:
    """What a roadway is drawn as: ``intake``, ``return``, ``belt`` or ``other`` (its colour,
    LAYER_COLORS; the plan view and the legend use the same)."""
    if r.type in ("main_intake", "district_intake") or (r.type == "gateroad" and r.air == "forward"):
        return "intake"
    if r.type in ("main_return", "district_return") or (r.type == "gateroad" and r.air == "reverse"):
        return "return"
    if r.type == "belt":
        return "belt"
    return "other"


def _roadway_color(r: Roadway) -> int:
    return LAYER_COLORS[roadway_role(r)]


class _Assets:
    """Stores each distinct GLB once and hands out MeshRefs."""

    def __init__(self, store: AssetStore):
        self.store = store
        self.cache: dict[Any, MeshRef] = {}

    def shared(self, key: Any, make) -> MeshRef:
        if key not in self.cache:
            data, bounds, meta = make()
            self.cache[key] = MeshRef(self.store.put_glb(data, meta), (), bounds)
        return self.cache[key]


def _driven_lines(model: MineModel) -> dict[str, np.ndarray]:
    """Each roadway's centerline as it stands: a heading only as far as it is driven."""
    heading_of = {h.roadway: h for h in model.headings.values()}
    lines = {}
    for r in model.roadways.values():
        line = r.centerline
        h = heading_of.get(r.id)
        if h is not None:
            keep = r.chainages < h.advanced_m
            line = np.vstack([line[keep], r.point_at(h.advanced_m)[None]])
            if len(line) < 2:
                line = np.vstack([r.centerline[0], r.point_at(max(h.advanced_m, 0.5))])
        lines[r.id] = line
    return lines


def build_scene(model: MineModel, store: AssetStore, scene: Scene | None = None,
                criteria=None) -> Scene:
    """Add the mine's nodes to ``scene`` (a new one by default); the caller commits.
    ``criteria``: the mine's hazard criteria (twin.geology.hazard_zones.Criteria), for the goaf's
    caved and fractured zone heights."""
    s = scene if scene is not None else Scene()
    a = _Assets(store)
    for tag, (gid, name) in GROUPS.items():
        s.add(gid, name=name, tags=["group", f"group:{tag}"])
    s.add("mine", name=model.mine.name, tags=["mine"], properties={
        "mine_code": model.mine.code, "gas_class": model.mine.gas_class,
        "time_zone": model.mine.time_zone, "crs": model.mine.crs,
        "origin_x": (model.mine.origin[0], "m"), "origin_y": (model.mine.origin[1], "m"),
        "origin_z": (model.mine.origin[2], "m")}, index=0)

    lines = _driven_lines(model)
    joined = join_roadways({rid: (line, model.roadways[rid].profile.outline())
                            for rid, line in lines.items()})
    for r in model.roadways.values():
        origin = lines[r.id][0]
        color = _roadway_color(r)

        def make(r=r, color=color, origin=origin):
            mesh = joined[r.id].copy()
            mesh.apply_translation(-origin)
            return glb_from_mesh(mesh, _rgb(color), f"roadway-{r.id}", normals=True), \
                mesh_bounds(mesh), {"source": f"roadway {r.id}", "units": "m",
                                    "kind": "roadway sweep (junctions joined)",
                                    "profile": r.profile.kind, "uv": "metres: chainage, "
                                    "distance around the section"}
        mesh = a.shared(("roadway", r.id), make)
        s.add(f"roadway/{r.id}", GROUPS["roadway"][0], name=r.name,
              tags=["roadway", f"roadway:{r.type}"], translation=origin, mesh=mesh,
              properties={"roadway_type": r.type, "roadway_type_name": ROADWAY_TYPES[r.type],
                          "profile": r.profile.kind, "width_m": (r.profile.width_m, "m"),
                          "height_m": (r.profile.height_m, "m"),
                          "length_m": (round(r.length_m, 3), "m"), "air": r.air})

    for f in model.longwalls.values():
        a_end, b_end = f.face_line()
        mid = (a_end + b_end) / 2
        along = b_end - a_end
        yaw = np.arctan2(along[1], along[0])
        length = float(np.linalg.norm(along[:2]))
        pitch = np.arctan2(along[2], length)
        rot = _yaw_pitch_quat(yaw, pitch)
        face_mesh = a.shared(("face", round(length, 2), f.mining_height_m), lambda: (
            box_glb((float(np.linalg.norm(along)), 4.0, f.mining_height_m),
                    _rgb(LAYER_COLORS["face"]), "face"),
            (-np.linalg.norm(along) / 2, -2.0, 0.0, np.linalg.norm(along) / 2, 2.0,
             f.mining_height_m), {"kind": "face placeholder", "units": "m"}))
        s.add(f"face/{f.id}", GROUPS["face"][0], name=f.name, tags=["face", "face:longwall"],
              translation=mid, rotation=rot, mesh=face_mesh, visual=Visual(opacity=0.2),
              properties={
                  "seam": f.seam, "face_length_m": (f.face_length_m, "m"),
                  "mining_height_m": (f.mining_height_m, "m"),
                  "plan_m_per_day": (f.plan_m_per_day, "m/d"),
                  "advanced_m": (f.advanced_m, "m"),
                  **_area_prop(model, f.id)})
        if f.advanced_m > 0:
            # The goaf (采空区): the mined-out area, drawn as its footprint on the seam floor
            # (a volume as tall as the caved zone hid the face, its roadways and the people
            # in them); the caved and fractured zones' heights are properties.
            from twin.geology.hazard_zones import Criteria, overburden_zones
            caved, fractured = overburden_zones(f.mining_height_m, criteria or Criteria())
            start_mid = (f.start_line[0] + f.start_line[1]) / 2
            goaf_len = float(f.advanced_m)
            centre = (start_mid + mid) / 2
            height = GOAF_FOOTPRINT_M
            width = float(np.linalg.norm(along))
            goaf_mesh = a.shared(("goaf", f.id, round(goaf_len, 1), round(height, 2)), lambda: (
                box_glb((goaf_len, width, height), _rgb(LAYER_COLORS["goaf"]), "goaf"),
                (-goaf_len / 2, -width / 2, 0.0, goaf_len / 2, width / 2, height),
                {"kind": "goaf: footprint", "units": "m"}))
            s.add(f"hazard/goaf-{f.id}", GROUPS["hazard"][0], name=f"{f.name}采空区",
                  tags=["hazard", "hazard:goaf"], translation=centre,
                  rotation=_yaw_pitch_quat(yaw - np.pi / 2, 0.0), mesh=goaf_mesh,
                  visual=Visual(opacity=0.45),
                  properties={"area_m2": (goaf_len * f.face_length_m, "m²"),
                              "caved_zone_height_m": (caved, "m"),
                              "fractured_zone_height_m": (fractured, "m"),
                              "mining_height_m": (f.mining_height_m, "m")})
    for hd in model.headings.values():
        r = model.roadways[hd.roadway]
        s.add(f"heading/{hd.id}", GROUPS["face"][0], name=hd.name, tags=["face", "face:heading"],
              translation=r.point_at(hd.advanced_m), properties={
                  "roadway": hd.roadway, "advanced_m": (hd.advanced_m, "m"),
                  "plan_m_per_day": (hd.plan_m_per_day, "m/d"), **_area_prop(model, hd.id)})

    marker = a.shared("sensor-marker", lambda: (
        marker_glb(0.35, _rgb(LAYER_COLORS["sensor"]), "sensor"), (-0.35,) * 3 + (0.35,) * 3,
        {"kind": "sensor marker", "units": "m"}))
    cut_by = model.cut_by()                          # feeder → the CH4 points cutting it
    tube_of = {c: tb.name for tb in model.tube_bundle.values()
               for c in (*tb.gases.values(), *tb.temperatures.values())}

    def named(code: str) -> str:
        other = model.sensors.get(code)
        return f"{code} {other.location}" if other is not None else code

    for sensor in model.sensors.values():
        q = quantity_of(sensor.type_code)
        unit = q.unit or (normalise_unit(sensor.unit) or None)
        props: dict[str, Any] = {
            "point_code": sensor.point_code, "sensor_type": sensor.type_code,
            "quantity": q.key, "quantity_name": q.name, "location": sensor.location,
            "outstation": sensor.outstation, "value_type": sensor.value_type}
        if sensor.relations:       # its CDDY linkage in words: "断电 002D11 11901工作面馈电开关"
            props["linkage"] = "；".join(f"{RELATION_KINDS[r.kind][0]} {named(r.point)}"
                                        for r in sensor.relations)
        if sensor.point_code in cut_by:
            props["cut_by"] = "；".join(named(c) for c in cut_by[sensor.point_code])
        if sensor.point_code in tube_of:     # a sample of a goaf's air, not a roadway's
            props["tube_bundle"] = tube_of[sensor.point_code]
        if sensor.category:
            props["category"] = sensor.category
        if sensor.roadway:
            props["roadway"] = sensor.roadway
            props["chainage_m"] = (sensor.chainage_m, "m")
        if q.unit is not None:
            for name, value in (("alarm_upper", sensor.thresholds.upper_alarm),
                                ("alarm_upper_clear", sensor.thresholds.upper_alarm_clear),
                                ("alarm_lower", sensor.thresholds.lower_alarm),
                                ("alarm_lower_clear", sensor.thresholds.lower_alarm_clear),
                                ("power_off_upper", sensor.thresholds.upper_power_off),
                                ("re_power_upper", sensor.thresholds.upper_re_power)):
                if value is not None:
                    props[f"{q.key}_{name}"] = (value, unit)
        s.add(f"sensor/{sensor.point_code}", GROUPS["sensor"][0], name=sensor.location,
              tags=["sensor", f"sensor:{q.key}"], translation=sensor.position, mesh=marker,
              properties=props)

    box = a.shared("outstation-box", lambda: (
        box_glb((0.6, 0.3, 0.8), _rgb(LAYER_COLORS["outstation"]), "outstation"),
        (-0.3, -0.15, 0.0, 0.3, 0.15, 0.8), {"kind": "outstation marker", "units": "m"}))
    for o in model.outstations.values():
        s.add(f"outstation/{o.code}", GROUPS["outstation"][0], name=o.location,
              tags=["outstation"], translation=o.position, mesh=box)

    rbox = a.shared("reader-box", lambda: (
        box_glb((0.4, 0.4, 0.4), _rgb(LAYER_COLORS["reader"]), "reader"),
        (-0.2, -0.2, 0.0, 0.2, 0.2, 0.4), {"kind": "reader marker", "units": "m"}))
    for rd in model.readers.values():
        props = {"reader_code": rd.code, "location": rd.location, "area": rd.code[:16]}
        if rd.roadway:
            props["roadway"] = rd.roadway
            props["chainage_m"] = (rd.chainage_m, "m")
        s.add(f"reader/{rd.code}", GROUPS["reader"][0], name=rd.name, tags=["reader"],
              translation=rd.position if rd.position is not None else (0.0, 0.0, 0.0),
              mesh=rbox, properties=props)

    tbox = a.shared("tube-bundle-box", lambda: (
        box_glb((0.6, 0.6, 0.6), _rgb(LAYER_COLORS["tube_bundle"]), "tube bundle"),
        (-0.3, -0.3, 0.0, 0.3, 0.3, 0.6), {"kind": "tube-bundle sampling point marker",
                                           "units": "m"}))
    for tb in model.tube_bundle.values():
        s.add(f"tubebundle/{tb.id}", GROUPS["tube_bundle"][0], name=tb.name,
              tags=["tube_bundle"] + (["tube_bundle:sealed"] if tb.sealed else []),
              translation=tb.position, mesh=tbox, properties={
                  "roadway": tb.roadway, "chainage_m": (tb.chainage_m, "m"),
                  "sealed": tb.sealed, "gases": " ".join(sorted(tb.gases))})

    for ar in model.areas.values():
        s.add(f"area/{ar.code}", GROUPS["area"][0], name=ar.name,
              tags=["area", f"area:{ar.kind}"], properties={
                  "area_kind": ar.kind, "rated_headcount": ar.rated_headcount,
                  "roadways": "|".join(ar.roadways)})

    portal = _portal(model)
    pmesh = a.shared("person-marker", lambda: (
        box_glb((0.5, 0.3, 1.7), _rgb(LAYER_COLORS["person"]), "person"),
        (-0.25, -0.15, 0.0, 0.25, 0.15, 1.7), {"kind": "person marker", "units": "m"}))
    for p in model.people.values():
        s.add(f"person/{p.card}", GROUPS["person"][0], name=p.name,
              tags=["person"] + (["person:leader"] if p.leader else []), translation=portal,
              mesh=pmesh, properties={
                  "card": p.card, "trade": p.trade, "post": p.post, "team": p.team,
                  "leader": p.leader, "special_worker": p.special_worker,
                  "underground": False})
        s.set_visual(f"person/{p.card}", visible=False)

    from assets import KINDS, add_to_scene
    parts_cache: dict = {}
    for e in model.equipment.values():
        if e.kind in KINDS:
            _add_articulated(s, store, e, model,
                             lambda *a: add_to_scene(*a, cache=parts_cache))
            continue
        ext = _EQUIPMENT_BOX[e.kind]
        emesh = a.shared(("equipment", e.kind), lambda ext=ext, kind=e.kind: (
            box_glb(ext, _rgb(LAYER_COLORS["equipment"]), kind),
            (-ext[0] / 2, -ext[1] / 2, 0.0, ext[0] / 2, ext[1] / 2, ext[2]),
            {"kind": f"{kind} placeholder", "units": "m"}))
        rot = (0.0, 0.0, 0.0, 1.0)
        if e.roadway is not None:
            d = model.roadways[e.roadway].direction_at(e.chainage_m or 0.0)
            rot = _yaw_pitch_quat(np.arctan2(d[1], d[0]), 0.0)
        props = _equipment_props(e)
        s.add(f"equipment/{e.id}", GROUPS["equipment"][0], name=e.name,
              tags=["equipment", f"equipment:{e.kind}"], translation=e.position,
              rotation=rot, mesh=emesh, properties=props)
    return s


def _equipment_props(e) -> dict[str, Any]:
    props: dict[str, Any] = {"equipment_kind": e.kind}
    for k, (v, unit) in e.parameters.items():
        props[f"param_{k}"] = v if isinstance(v, str) else (float(v), unit)
    return props


def equipment_model(e, model: MineModel | None = None):
    """The library model (assets/equipment.py) of an equipment item, sized from its
    parameters where the library knows them — a support's width, and its heights from its
    face's mining height (set against the roof at full stroke) —; None for kinds the library
    does not have."""
    from assets import KINDS, build_equipment
    if e.kind not in KINDS:
        return None
    params: dict[str, float] = {}
    if e.kind == "hydraulic_support":
        width = e.parameters.get("width_m")
        if width is not None and not isinstance(width[0], str):
            params["width"] = float(width[0])
        face = next((f for f in (model.longwalls.values() if model else ())
                     if f.id in e.id), None)
        if face is not None:
            params["max_height"] = face.mining_height_m
            params["min_height"] = max(0.9, face.mining_height_m - 0.5)
    return build_equipment(e.kind, **params)


def _add_articulated(s: Scene, store: AssetStore, e, model: MineModel, add_to_scene) -> None:
    """An equipment node with its library part tree under it (legs, arms, drums …)."""
    rot = (0.0, 0.0, 0.0, 1.0)
    if e.roadway is not None:
        d = model.roadways[e.roadway].direction_at(e.chainage_m or 0.0)
        rot = _yaw_pitch_quat(np.arctan2(d[1], d[0]), 0.0)
    s.add(f"equipment/{e.id}", GROUPS["equipment"][0], name=e.name,
          tags=["equipment", f"equipment:{e.kind}"], translation=e.position,
          rotation=rot, properties=_equipment_props(e))
    add_to_scene(s, store, f"equipment/{e.id}", equipment_model(e, model))


def _portal(model: MineModel) -> tuple[float, float, float]:
    """Where people are before they go down: the top of the highest intake roadway."""
    best = None
    for r in model.roadways.values():
        if r.type == "main_intake":
            top = max((r.centerline[0], r.centerline[-1]), key=lambda p: p[2])
            if best is None or top[2] > best[2]:
                best = top
    return tuple(best.tolist()) if best is not None else (0.0, 0.0, 0.0)


def _yaw_pitch_quat(yaw: float, pitch: float) -> tuple[float, float, float, float]:
    """Rotation about z by ``yaw`` then about the new y by ``-pitch`` (x axis tilted up)."""
    cy, sy = np.cos(yaw / 2), np.sin(yaw / 2)
    cp, sp = np.cos(-pitch / 2), np.sin(-pitch / 2)
    # q = q_yaw(z) ⊗ q_pitch(y)
    return (float(-sy * sp), float(cy * sp), float(sy * cp), float(cy * cp))
