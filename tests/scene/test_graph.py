"""The scene graph's API: structure, transforms, world matrices, tags, typed properties,
visual state, compare-before-write, batch setters and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from scene import (DuplicateNodeError, HierarchyError, MeshRef, NodeNotFoundError,
                   PropertyTypeError, Scene, SceneError, UncommittedChangesError, Visual)

from .histories import step


def brute_world(scene: Scene, node_id: str) -> np.ndarray:
    """World matrix by walking to the root, built with scipy's rotations (independent of
    the scene's own maths)."""
    m = np.eye(4)
    chain = []
    n = node_id
    while n is not None:
        chain.append(n)
        n = scene.parent_of(n)
    for k in reversed(chain):
        local = np.eye(4)
        local[:3, :3] = Rotation.from_quat(scene.rotation(k)).as_matrix() * scene.scale(k)
        local[:3, 3] = scene.translation(k)
        m = m @ local
    return m


def test_add_builds_an_ordered_tree_with_one_parent_per_node():
    s = Scene()
    s.add("roadway/1201-return", name="1201回风巷", tags=["roadway"])
    s.add("sensor/001", "roadway/1201-return", tags=["sensor"])
    s.add("sensor/003", "roadway/1201-return")
    s.add("sensor/002", "roadway/1201-return", index=1)
    assert s.children_of("roadway/1201-return") == ("sensor/001", "sensor/002", "sensor/003")
    assert s.parent_of("sensor/002") == "roadway/1201-return"
    assert s.parent_of("roadway/1201-return") is None
    assert list(s) == ["roadway/1201-return", "sensor/001", "sensor/002", "sensor/003"]
    assert s.node("roadway/1201-return").name == "1201回风巷"
    with pytest.raises(DuplicateNodeError, match="sensor/001"):
        s.add("sensor/001")
    with pytest.raises(NodeNotFoundError, match="nope"):
        s.add("x", "nope")
    with pytest.raises(SceneError):
        s.add("")


def test_remove_takes_the_subtree_and_handles_are_never_reused():
    s = Scene()
    a = s.add("a").handle
    s.add("a/b", "a")
    s.add("a/b/c", "a/b")
    s.add("d")
    assert s.remove("a") == 3
    assert list(s) == ["d"] and "a/b/c" not in s
    e = s.add("a").handle
    assert e != a
    with pytest.raises(NodeNotFoundError):
        s.handle(a)


def test_move_refuses_cycles_and_attach_keeps_the_world_pose():
    s = Scene()
    s.add("a", translation=(10, 0, 0), rotation=Rotation.from_euler("z", 90, degrees=True).as_quat())
    s.add("b", "a", translation=(1, 2, 3))
    s.add("c", translation=(-5, 5, 0), scale=(2, 2, 2))
    with pytest.raises(HierarchyError, match="own subtree"):
        s.move("a", "b")
    before = s.world_matrix("b")
    s.attach("b", "c")
    assert s.parent_of("b") == "c"
    np.testing.assert_allclose(s.world_matrix("b"), before, atol=1e-9)
    s.move("b", "a")   # keeps the local transform instead
    np.testing.assert_allclose(s.translation("b"), [6.5, -2.0, 1.5])


def test_writing_the_same_value_records_nothing():
    s = Scene()
    s.add("a", translation=(1, 2, 3), properties={"ch4": (0.5, "%")})
    s.commit(1)
    s.set_translation("a", (1, 2, 3))
    s.set_property("a", "ch4", 0.5)
    s.set_visual("a", color=0xFFFFFF, opacity=1.0, label=None)
    s.set_tags("a", [])
    assert not s.has_changes
    assert s.set_translations(s.handles(["a"]), np.array([[1.0, 2, 3]])) == 0
    assert s.set_values(s.handles(["a"]), "ch4", np.array([0.5])) == 0
    assert s.commit(2).is_empty


def test_a_field_written_many_times_in_a_tick_is_reported_once_with_the_last_value():
    s = Scene()
    s.add("p")
    s.commit(1)
    for x in range(5):
        s.set_translation("p", (x, 0, 0))
    cs = s.commit(2)
    assert list(cs.fields) == ["t"]
    assert cs.fields["t"].values.tolist() == [[4.0, 0.0, 0.0]]


def test_tags_index_nodes_by_layer():
    s = Scene()
    s.add("sensor/1", tags=["sensor"])
    s.add("sensor/2", tags=["sensor", "alarm"])
    s.add("person/1", tags=["person"])
    assert s.tagged("sensor") == {"sensor/1", "sensor/2"}
    s.remove_tags("sensor/2", "sensor")
    s.remove("person/1")
    assert s.tagged("sensor") == {"sensor/1"}
    assert s.tagged("person") == frozenset()
    assert s.tagged("alarm") == {"sensor/2"}


def test_properties_are_typed_and_carry_units():
    s = Scene()
    s.add("sensor/1")
    s.set_property("sensor/1", "ch4", 0.52, unit="%")
    s.set_property("sensor/1", "co", 12, unit="ppm")   # first use of an int: an int property
    s.set_property("sensor/1", "location", "1201回风巷 50 m")
    props = s.properties("sensor/1")
    assert props["ch4"].value == 0.52 and props["ch4"].unit == "%"
    assert props["location"].unit is None
    assert s.schema["co"].kind == "int"
    with pytest.raises(PropertyTypeError, match="ppm"):
        s.set_property("sensor/1", "ch4", 0.6, unit="ppm")
    with pytest.raises(PropertyTypeError, match="number"):
        s.set_property("sensor/1", "ch4", "high")
    with pytest.raises(SceneError, match="finite"):
        s.set_property("sensor/1", "ch4", float("nan"))
    with pytest.raises(PropertyTypeError):
        s.define_property("ch4", "float", "ppm")
    s.unset_property("sensor/1", "co")
    assert "co" not in s.properties("sensor/1")


def test_visual_state_defaults_and_validation():
    s = Scene()
    n = s.add("sensor/1", visual=Visual(color=0xFF0000, blink=2.0, label="1.20%"))
    assert n.visual == Visual(color=0xFF0000, opacity=1.0, visible=True, emissive=0,
                              blink=2.0, label="1.20%")
    with pytest.raises(SceneError, match="0xRRGGBB"):
        s.set_visual("sensor/1", color=0x1000000)
    with pytest.raises(SceneError, match="opacity"):
        s.set_visual("sensor/1", opacity=1.5)


def test_batch_setters_validate_and_last_write_wins_on_duplicates():
    s = Scene()
    for i in range(4):
        s.add(f"person/{i}", tags=["person"])
    s.define_property("ch4", "float", "%")
    h = s.handles([f"person/{i}" for i in range(4)])
    dup = np.array([h[1], h[0], h[1]])
    s.set_translations(dup, np.array([[1.0, 0, 0], [2, 0, 0], [3, 0, 0]]))
    assert s.translation("person/1").tolist() == [3, 0, 0]
    assert s.set_values(h, "ch4", np.array([0.1, 0.2, 0.3, 0.4])) == 4
    np.testing.assert_array_equal(s.values(h, "ch4"), [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(SceneError, match="not finite"):
        s.set_translations(h[:1], np.array([[np.nan, 0, 0]]))
    with pytest.raises(SceneError, match="not finite"):
        s.set_values(h[:1], "ch4", np.array([np.inf]))
    with pytest.raises(NodeNotFoundError):
        s.set_translations(np.array([999]), np.zeros((1, 3)))
    with pytest.raises(NodeNotFoundError):     # the root is not a batch target
        s.set_translations(np.array([0]), np.zeros((1, 3)))
    with pytest.raises(SceneError, match="2 handles but 1 values"):
        s.set_values(h[:2], "ch4", np.array([1.0]))
    with pytest.raises(PropertyTypeError, match="not defined"):
        s.set_values(h, "co", np.zeros(4))


def test_rotation_must_be_a_unit_quaternion():
    s = Scene()
    s.add("a")
    with pytest.raises(SceneError, match="unit quaternion"):
        s.set_rotation("a", (0, 0, 0, 2))
    with pytest.raises(SceneError, match="unit quaternions"):
        s.set_rotations(s.handles(["a"]), np.array([[1.0, 1, 0, 0]]))


def test_snapshot_refuses_uncommitted_changes():
    s = Scene()
    s.add("a")
    with pytest.raises(UncommittedChangesError):
        s.snapshot()
    s.commit(1)
    assert s.snapshot().added_ids == ("a",)


def test_snapshot_writes_only_non_default_fields():
    s = Scene()
    s.add("a")
    s.add("b", translation=(1, 0, 0), mesh=MeshRef("f" * 64, (), (0, 0, 0, 1, 1, 1)))
    s.commit(1)
    snap = s.snapshot()
    assert set(snap.fields) == {"kids", "t", "mesh"}
    assert snap.fields["t"].handles.tolist() == [s.handle("b")]


@settings(max_examples=40)
@given(st.data())
def test_world_matrices_match_brute_force_after_random_edits(data):
    s = Scene()
    counter = [0]
    for i in range(40):
        step(data, s, counter)
        if data.draw(st.integers(0, 4), label="query") == 0 and len(s):
            # One-off query: pulls only dirty ancestors, mid-tick.
            node = data.draw(st.sampled_from(list(s)), label="q")
            np.testing.assert_allclose(s.world_matrix(node), brute_world(s, node),
                                       rtol=1e-9, atol=1e-6)
    s.update_world()          # the per-tick full pass
    for node in s:
        np.testing.assert_allclose(s.world_matrix(node), brute_world(s, node),
                                   rtol=1e-9, atol=1e-6)
    assert not s._wdirty[: s._count].any()


def test_dirty_flags_reach_the_whole_subtree():
    s = Scene()
    s.add("a")
    s.add("b", "a", translation=(0, 1, 0))
    s.add("c", "b", translation=(0, 0, 1))
    s.update_world()
    s.set_translation("a", (100, 0, 0))
    np.testing.assert_allclose(s.world_position("c"), [100, 1, 1])
    s.set_scale("b", (2, 2, 2))
    assert s.update_world() == 2      # b and c; a was already clean
    np.testing.assert_allclose(s.world_position("c"), [100, 1, 2])


def test_a_reparent_is_reported_as_parent_and_both_child_lists():
    s = Scene()
    s.add("a")
    s.add("b")
    s.add("c", "a")
    s.add("d", "b")
    s.commit(1)
    s.move("c", "b")
    cs = s.commit(2)
    assert cs.fields["parent"].handles.tolist() == [s.handle("c")]
    assert cs.fields["parent"].values.tolist() == [s.handle("b")]
    assert sorted(cs.fields["kids"].handles.tolist()) == [s.handle("a"), s.handle("b")]
    s.move("c", "b", index=0)     # a reorder changes only the parent's child list
    cs = s.commit(3)
    assert list(cs.fields) == ["kids"] and s.children_of("b") == ("c", "d")


def test_a_replica_refuses_parent_and_kids_that_disagree():
    from scene import FieldChange, Replica, ReplicaError
    from scene.changes import Changeset
    s = Scene()
    s.add("a")
    s.add("b", "a")
    cs = s.commit(1)
    fields = dict(cs.fields)
    fields["parent"] = FieldChange(fields["parent"].handles, np.array([0, 0]))
    bad = Changeset(kind="diff", base=0, revision=1, time_ms=1, added=cs.added,
                    added_ids=cs.added_ids, fields=fields)
    r = Replica()
    r.apply(Scene().snapshot())
    with pytest.raises(ReplicaError, match="disagree"):
        r.apply(bad)
