"""The parametric equipment library: every kind builds a whole part tree whose GLBs validate;
live values move the parts (support legs with pressure, shearer arms with drum height); the
tree goes into the scene and a photogrammetry mesh can take a part's slot."""

from __future__ import annotations

import numpy as np
import trimesh

from assets import AssetStore
from assets.equipment import (KINDS, add_to_scene, apply_pose, arm_angle, build_equipment,
                              pose, replace_part, support_extension)
from assets.sweep import glb_from_mesh
from scene import Scene
from twin.observation import Observation


def _world(model, values, part):
    """The part's origin in the equipment's frame, composing the parents' poses."""
    poses = pose(model, values)
    chain, p = [], model.part(part)
    while p is not None:
        chain.append(p.name)
        p = model.part(p.parent) if p.parent else None
    m = np.eye(4)
    for name in reversed(chain):
        t, q = poses[name]
        local = trimesh.transformations.quaternion_matrix([q[3], q[0], q[1], q[2]])
        local[:3, 3] = t
        m = m @ local
    return m


def test_every_kind_builds_a_whole_tree_of_valid_glbs(tmp_path, gltf_validator):
    paths = []
    for kind in KINDS:
        model = build_equipment(kind)
        names = {p.name for p in model.parts}
        assert all(p.parent is None or p.parent in names for p in model.parts), kind
        assert sum(p.parent is None for p in model.parts) == 1, kind
        for p in model.parts:
            path = tmp_path / f"{kind}-{p.name}.glb"
            path.write_bytes(glb_from_mesh(p.mesh, p.color, p.name))
            paths.append(path)
    assert all(r.errors == 0 for r in gltf_validator(paths))


def test_support_legs_extend_with_pressure_and_arms_follow_drum_height():
    support = build_equipment("hydraulic_support", min_height=1.2, max_height=2.4)
    heights = [_world(support, {"leg_extension_m": support_extension(p)}, "canopy")[2, 3]
               for p in (0.0, 10.0, 25.0, 40.0)]
    assert heights[0] < heights[1] < heights[2] == heights[3]     # set from 25 MPa on
    assert abs(heights[2] - heights[0] - 1.2) < 1e-9              # the whole stroke
    shearer = build_equipment("shearer", height=1.5, arm_length=2.8, drum_diameter=1.8)
    for h in (2.0, 2.6, 3.2):
        a = arm_angle(h, pivot_height_m=0.75, arm_length_m=2.8, drum_radius_m=0.9)
        drum = _world(shearer, {"arm_right_rad": a}, "drum_right")
        assert abs(drum[2, 3] + 0.9 - h) < 0.01                   # the drum's top at h


def test_the_tree_goes_into_the_scene_and_moves(tmp_path):
    scene, store = Scene(), AssetStore(tmp_path / "store")
    scene.add("equipment/support-1")
    model = build_equipment("hydraulic_support")
    ids = add_to_scene(scene, store, "equipment/support-1", model)
    assert scene.parent_of("equipment/support-1/part/canopy") == "equipment/support-1/part/legs"
    assert set(scene.tagged("equipment-part")) == set(ids)
    scene.commit()
    z0 = scene.world_position("equipment/support-1/part/canopy")[2]
    apply_pose(scene, "equipment/support-1", model, {"leg_extension_m": support_extension(30)})
    scene.commit()
    assert abs(scene.world_position("equipment/support-1/part/canopy")[2] - z0 - 1.2) < 1e-9
    # a second support shares the part assets
    before = len(list(store))
    scene.add("equipment/support-2")
    add_to_scene(scene, store, "equipment/support-2", model)
    assert len(list(store)) == before


def test_a_photogrammetry_mesh_takes_a_parts_slot():
    model = build_equipment("shearer")
    scanned = trimesh.creation.icosphere(radius=0.9)
    swapped = replace_part(model, "drum_right", scanned)
    assert swapped.part("drum_right").mesh is scanned
    assert swapped.part("drum_right").joint == model.part("drum_right").joint
    assert pose(swapped, {"arm_right_rad": 0.3}) == pose(model, {"arm_right_rad": 0.3})


def test_the_demo_minas_supports_and_shearer_are_articulated_and_legs_follow_pressure(demo_model, tmp_path):
    from live_bindings import DefaultBindings
    from twin.observation import Observation
    from twin.scene_build import build_scene
    s = build_scene(demo_model, AssetStore(tmp_path / "store"))
    support = next(e for e in demo_model.equipment.values() if e.kind == "hydraulic_support")
    face = next(f for f in demo_model.longwalls.values() if f.id in support.id)
    canopy = f"equipment/{support.id}/part/canopy"
    assert canopy in s and "equipment/shearer-11901/part/drum_right" in s
    b = DefaultBindings(demo_model, s)
    s.commit()
    rest = s.world_position(canopy)[2]

    def legs(mpa):
        b.apply([Observation("test", "equipment", support.id, 1_000, mpa, "MPa",
                             param="leg_pressure_MPa")])
        s.commit()
        return s.world_position(canopy)[2]

    set_z = legs(32.0)
    assert abs(set_z - rest - 0.5) < 1e-6                    # the whole stroke: set to the roof
    canopy_top = set_z + 0.25 - s.world_position(f"equipment/{support.id}")[2]
    assert abs(canopy_top - face.mining_height_m) < 1e-6
    assert rest < legs(10.0) < set_z and abs(legs(0.0) - rest) < 1e-9


def test_the_demo_shearer_arms_follow_the_simulated_drum_heights(demo_model, tmp_path):
    from datetime import datetime

    from live_bindings import DefaultBindings
    from twin.scene_build import build_scene
    from twin.sim import Simulator
    s = build_scene(demo_model, AssetStore(tmp_path / "store"))
    b = DefaultBindings(demo_model, s)
    s.commit()
    node = "equipment/shearer-11901"
    face = next(iter(demo_model.longwalls.values()))
    base_z = s.world_position(node)[2]

    def drum_top(side):
        return s.world_position(f"{node}/part/drum_{side}")[2] + 0.9 - base_z

    def drums(sim):
        out = sim.advance(5.0)
        return [o for o in out if o.key == "shearer-11901" and o.param.startswith("drum_")]

    day = Simulator(demo_model, seed=3, start=datetime(2026, 11, 2, 9, 0))
    assert day.producing()
    for _ in range(30):                   # a few minutes of cutting, 5 s at a time
        feed = drums(day)
        b.apply(feed)
        s.commit()
        values = {o.param: o.value for o in feed}
        for side in ("left", "right"):                # each drum's top where the feed says
            assert abs(drum_top(side) - values[f"drum_{side}_height_m"]) < 0.01
        lead, trail = max(values.values()), min(values.values())
        assert abs(lead - face.mining_height_m) <= 0.15 + 1e-9    # at the roof
        assert trail < 2.0                                        # cleaning up the floor
    # one drum's value moves only its own arm
    left = drum_top("left")
    b.apply([Observation("test", "equipment", "shearer-11901", 1_000, 3.0, "m",
                         param="drum_right_height_m")])
    s.commit()
    assert abs(drum_top("right") - 3.0) < 0.01 and abs(drum_top("left") - left) < 1e-9
    # the night shift maintains: both drums rest on the floor
    night = Simulator(demo_model, seed=3, start=datetime(2026, 11, 2, 2, 0))
    assert {o.value for o in drums(night)} == {1.8}
