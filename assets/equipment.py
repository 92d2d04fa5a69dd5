"""The parametric equipment library: the main equipment of a coal mine as articulated part
trees, so live values can move parts — hydraulic-support legs extend with their pressure,
shearer ranging arms follow their drum heights, fans and drums turn.

A model is a list of parts. Each part has a parent (or none), a rest transform relative to
it, a simple mesh (boxes and cylinders sized from the equipment's parameters; a mine's
photogrammetry mesh can replace any part's, ``replace_part``, keeping the joint) and at most
one joint: ``prismatic`` (moves along an axis) or ``revolute`` (turns about one), driven by
a named value. ``pose(model, values)`` turns live values into every part's local transform;
``add_to_scene`` puts the tree under an equipment node, ``apply_pose`` moves it.

Frames are the scene's (metres, x along the face or roadway, y across, z up), each model
standing on its node's origin.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace

import numpy as np
import trimesh

from .sweep import glb_from_mesh, mesh_bounds

__all__ = ["Part", "Joint", "EquipmentModel", "KINDS", "build_equipment", "pose",
           "add_to_scene", "apply_pose", "replace_part", "support_extension", "arm_angle"]


@dataclass(frozen=True)
class Joint:
    kind: str                    # "prismatic" | "revolute"
    axis: tuple[float, float, float]
    value: str                   # the named value driving it (metres or radians)
    limits: tuple[float, float]


@dataclass(frozen=True)
class Part:
    name: str
    parent: str | None
    mesh: trimesh.Trimesh = field(repr=False, compare=False)
    translation: tuple[float, float, float] = (0.0, 0.0, 0.0)
    joint: Joint | None = None
    color: tuple[int, int, int] = (170, 170, 170)


@dataclass
class EquipmentModel:
    kind: str
    params: dict
    parts: list[Part]

    def part(self, name: str) -> Part:
        return next(p for p in self.parts if p.name == name)


def _box(x, y, z, base=True) -> trimesh.Trimesh:
    m = trimesh.creation.box(extents=(x, y, z))
    if base:
        m.apply_translation((0, 0, z / 2))
    return m


def _cyl(radius, length, axis="z", base=True) -> trimesh.Trimesh:
    m = trimesh.creation.cylinder(radius=radius, height=length, sections=24)
    if base:
        m.apply_translation((0, 0, length / 2))
    if axis == "x":
        m.apply_transform(trimesh.transformations.rotation_matrix(math.pi / 2, (0, 1, 0)))
    elif axis == "y":
        m.apply_transform(trimesh.transformations.rotation_matrix(math.pi / 2, (1, 0, 0)))
    return m


YELLOW, GREY, DARK, BLUE, ORANGE = (230, 180, 40), (150, 150, 150), (70, 70, 70), (60, 110, 170), (220, 120, 40)


def hydraulic_support(width=1.5, min_height=1.2, max_height=2.4, depth=4.5, **_) -> list[Part]:
    """Two-leg shield: base, legs (prismatic along z, 0 … stroke), canopy on the legs."""
    base_h = 0.35
    stroke = max_height - min_height
    leg_len = min_height - base_h - 0.25
    return [
        Part("base", None, _box(depth * 0.8, width, base_h), color=DARK),
        Part("legs", "base", _cyl(0.12, leg_len), (0.2, 0, base_h),
             Joint("prismatic", (0, 0, 1), "leg_extension_m", (0.0, stroke)), YELLOW),
        Part("canopy", "legs", _box(depth, width, 0.25), (0.4, 0, leg_len), color=YELLOW),
        Part("shield", "base", _box(0.2, width, 0.9), (-depth * 0.35, 0, base_h), color=YELLOW),
    ]


def shearer(length=12.0, width=2.0, height=1.5, arm_length=2.8, drum_diameter=1.8, **_) -> list[Part]:
    """Double-ranging-drum shearer: body, two arms (revolute about y at the body's ends),
    a drum at each arm's tip (turning about y)."""
    r = drum_diameter / 2
    pivot_z = height * 0.5
    arm = _box(arm_length, 0.5, 0.4, base=False)
    arm.apply_translation((arm_length / 2, 0, 0))
    arm_left = arm.copy()
    arm_left.apply_transform(trimesh.transformations.rotation_matrix(math.pi, (0, 0, 1)))
    drum = _cyl(r, 0.9, "y", base=False)
    return [
        Part("body", None, _box(length, width, height), color=BLUE),
        Part("arm_right", "body", arm, (length / 2, 0, pivot_z),
             Joint("revolute", (0, -1, 0), "arm_right_rad", (-0.6, 0.6)), BLUE),
        Part("drum_right", "arm_right", drum, (arm_length, 0.9, 0),
             Joint("revolute", (0, 1, 0), "drum_right_turn_rad", (-1e9, 1e9)), GREY),
        Part("arm_left", "body", arm_left, (-length / 2, 0, pivot_z),
             Joint("revolute", (0, 1, 0), "arm_left_rad", (-0.6, 0.6)), BLUE),
        Part("drum_left", "arm_left", drum, (-arm_length, 0.9, 0),
             Joint("revolute", (0, 1, 0), "drum_left_turn_rad", (-1e9, 1e9)), GREY),
    ]


def face_conveyor(length=10.0, width=1.0, **_) -> list[Part]:
    return [Part("pan", None, _box(length, width, 0.35), color=GREY),
            Part("chain", "pan", _box(length, width * 0.8, 0.05), (0, 0, 0.35),
                 Joint("prismatic", (1, 0, 0), "chain_travel_m", (-1e9, 1e9)), DARK)]


def belt_conveyor(length=20.0, width=1.2, **_) -> list[Part]:
    return [Part("frame", None, _box(length, width + 0.4, 0.8), color=GREY),
            Part("belt", "frame", _box(length, width, 0.03), (0, 0, 0.8), color=DARK),
            Part("drive_drum", "frame", _cyl(0.4, width, "y", base=False), (length / 2, 0, 0.8),
                 Joint("revolute", (0, 1, 0), "drum_turn_rad", (-1e9, 1e9)), DARK)]


def fan(diameter=2.4, length=4.0, **_) -> list[Part]:
    r = diameter / 2
    return [Part("housing", None, _cyl(r, length, "x", base=False), (0, 0, r), color=GREY),
            Part("impeller", "housing", _box(0.15, diameter * 0.9, 0.25, base=False), (0, 0, 0),
                 Joint("revolute", (1, 0, 0), "impeller_turn_rad", (-1e9, 1e9)), ORANGE)]


def pump(**_) -> list[Part]:
    return [Part("skid", None, _box(2.5, 1.0, 0.2), color=DARK),
            Part("motor", "skid", _cyl(0.35, 1.0, "x", base=False), (-0.6, 0, 0.55), color=BLUE),
            Part("casing", "skid", _cyl(0.4, 0.6, "x", base=False), (0.6, 0, 0.6), color=GREY)]


def hoist(drum_diameter=3.0, drum_width=2.0, **_) -> list[Part]:
    r = drum_diameter / 2
    return [Part("frame", None, _box(drum_width + 1.0, drum_diameter + 0.6, 0.6), color=DARK),
            Part("drum", "frame", _cyl(r, drum_width, "x", base=False), (0, 0, r + 0.6),
                 Joint("revolute", (1, 0, 0), "drum_turn_rad", (-1e9, 1e9)), GREY)]


def compressor(**_) -> list[Part]:
    return [Part("skid", None, _box(3.0, 1.4, 0.2), color=DARK),
            Part("unit", "skid", _box(1.8, 1.2, 1.4), (-0.5, 0, 0.2), color=BLUE),
            Part("tank", "skid", _cyl(0.45, 1.6, "z"), (1.0, 0, 0.2), color=GREY)]


def substation(width=3.0, **_) -> list[Part]:
    return [Part("cabinet", None, _box(width, 1.2, 1.8), color=(90, 140, 90)),
            Part("transformer", "cabinet", _box(1.0, 1.0, 1.2), (width / 2 + 0.6, 0, 0), color=GREY)]


KINDS = {"hydraulic_support": hydraulic_support, "shearer": shearer,
         "face_conveyor": face_conveyor, "belt_conveyor": belt_conveyor, "main_fan": fan,
         "local_fan": lambda **p: fan(**{"diameter": 0.6, "length": 1.5, **p}), "pump": pump,
         "hoist": hoist, "compressor": compressor, "substation": substation}


def build_equipment(kind: str, **params) -> EquipmentModel:
    if kind not in KINDS:
        raise ValueError(f"no equipment kind {kind!r}; the library has: {', '.join(KINDS)}")
    return EquipmentModel(kind, params, KINDS[kind](**params))


def replace_part(model: EquipmentModel, name: str, mesh: trimesh.Trimesh) -> EquipmentModel:
    """The same model with one part's mesh replaced (a photogrammetry mesh in the slot), its
    place and joint kept."""
    model.part(name)
    return EquipmentModel(model.kind, model.params,
                          [replace(p, mesh=mesh) if p.name == name else p for p in model.parts])


# ---------------------------------------------------------------------- live values → pose

def support_extension(pressure_mpa: float, *, setting_mpa: float = 25.0,
                      stroke_m: float = 1.2) -> float:
    """Leg extension from leg pressure: lowered (0) with no pressure, rising as the legs are
    pressurised, set against the roof (full stroke) from the setting pressure on."""
    return float(np.clip(pressure_mpa / setting_mpa, 0.0, 1.0) * stroke_m)


def arm_angle(drum_height_m: float, *, pivot_height_m: float = 0.75, arm_length_m: float = 2.8,
              drum_radius_m: float = 0.9) -> float:
    """Ranging-arm angle (radians, up positive) putting the drum's top at the cutting height
    ``drum_height_m`` above the floor (the shearer's drum-height sensor)."""
    rise = drum_height_m - drum_radius_m - pivot_height_m
    return float(math.asin(np.clip(rise / arm_length_m, -1.0, 1.0)))


def drum_arm_values(model: EquipmentModel, side: str, drum_height_m: float) -> dict[str, float]:
    """The joint value moving a shearer's ``side`` ("left" | "right") ranging arm so that
    drum's top is at ``drum_height_m`` above the floor, from the model's own geometry (arm
    pivot height, arm length, drum diameter)."""
    arm, drum = model.part(f"arm_{side}"), model.part(f"drum_{side}")
    radius = float(model.params.get("drum_diameter", 1.8)) / 2
    return {arm.joint.value: arm_angle(drum_height_m, pivot_height_m=float(arm.translation[2]),
                                       arm_length_m=abs(float(drum.translation[0])),
                                       drum_radius_m=radius)}


def _quat(axis, angle) -> tuple[float, float, float, float]:
    a = np.asarray(axis, float)
    a /= np.linalg.norm(a)
    s = math.sin(angle / 2)
    return (float(a[0] * s), float(a[1] * s), float(a[2] * s), float(math.cos(angle / 2)))


def pose(model: EquipmentModel, values: dict[str, float]) -> dict[str, tuple]:
    """Each part's local (translation, rotation quaternion xyzw) for the given joint values
    (a value not given leaves its joint at rest; values are clamped to the joint's limits)."""
    out = {}
    for p in model.parts:
        t = np.asarray(p.translation, float)
        r = (0.0, 0.0, 0.0, 1.0)
        if p.joint is not None and p.joint.value in values:
            v = float(np.clip(values[p.joint.value], *p.joint.limits))
            if p.joint.kind == "prismatic":
                t = t + v * np.asarray(p.joint.axis, float)
            else:
                r = _quat(p.joint.axis, v)
        out[p.name] = (tuple(float(x) for x in t), r)
    return out


# ---------------------------------------------------------------------- the scene

def add_to_scene(scene, store, node_id: str, model: EquipmentModel,
                 cache: dict | None = None) -> list[str]:
    """The model's parts as child nodes of ``node_id`` (``<node>/part/<name>``), their meshes
    in the asset store (identical parts share one asset; ``cache`` skips re-encoding the
    parts of models built with the same parameters). Returns the part node ids."""
    from scene import MeshRef

    ids = []
    rest = pose(model, {})
    cache = {} if cache is None else cache
    for p in model.parts:
        key = (p.name, p.color, hashlib.sha1(np.ascontiguousarray(p.mesh.vertices).tobytes()
                                             + np.ascontiguousarray(p.mesh.faces).tobytes()
                                             ).hexdigest())
        asset = cache.get(key)
        if asset is None:
            asset = cache[key] = store.put_glb(
                glb_from_mesh(p.mesh, p.color, p.name),
                {"kind": "equipment part", "equipment": model.kind, "part": p.name,
                 "units": "m", "bounds": list(mesh_bounds(p.mesh))})
        parent = node_id if p.parent is None else f"{node_id}/part/{p.parent}"
        pid = f"{node_id}/part/{p.name}"
        t, r = rest[p.name]
        scene.add(pid, parent, name=p.name, tags=["equipment-part", f"part:{p.name}"],
                  translation=t, rotation=r,
                  mesh=MeshRef(asset, (), tuple(mesh_bounds(p.mesh))))
        ids.append(pid)
    return ids


def apply_pose(scene, node_id: str, model: EquipmentModel, values: dict[str, float]) -> None:
    """Move the parts whose joints ``values`` drive (the others keep their pose, so one
    drum's height does not reset the other arm)."""
    driven = {p.name for p in model.parts if p.joint is not None and p.joint.value in values}
    for name, (t, r) in pose(model, values).items():
        if name not in driven:
            continue
        pid = f"{node_id}/part/{name}"
        scene.set_translation(pid, t)
        scene.set_rotation(pid, r)
