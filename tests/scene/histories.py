"""Random edit histories of a scene, drawn step by step through hypothesis' ``data``.

Every kind of mutation the scene's API offers appears, including the batch paths, reparenting
with and without keeping the world pose, property type definitions and unsets, and removals
of whole subtrees, mixed with commits.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from scene import MeshRef, Scene

finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)
vec3 = st.tuples(finite, finite, finite)
scale3 = st.tuples(*[st.floats(min_value=0.1, max_value=10, allow_nan=False)] * 3)
TAGS = ["roadway", "sensor", "person", "equipment", "hazard", "strata"]
ASSETS = ["a" * 64, "b" * 64, "c" * 64]


@st.composite
def quaternions(draw):
    v = np.array(draw(st.tuples(*[st.floats(min_value=-1, max_value=1, allow_nan=False)] * 4)))
    n = np.linalg.norm(v)
    if n < 1e-3:
        return (0.0, 0.0, 0.0, 1.0)
    return tuple((v / n).tolist())


@st.composite
def mesh_refs(draw):
    lo = np.array(draw(st.tuples(*[st.floats(-50, 0, allow_nan=False)] * 3)))
    size = np.array(draw(st.tuples(*[st.floats(0, 300, allow_nan=False)] * 3)))
    return MeshRef(draw(st.sampled_from(ASSETS)),
                   tuple(draw(st.lists(st.sampled_from(ASSETS), max_size=2))),
                   tuple(lo.tolist()) + tuple((lo + size).tolist()))


OPS = ["add", "add", "add", "remove", "move", "attach", "translate", "rotate", "scale",
       "batch_t", "prop", "values", "unset", "visual", "tags", "mesh", "name", "commit",
       "commit", "noop"]


def step(data, scene: Scene, counter: list[int]) -> str:
    """Apply one random operation; returns its name."""
    ids = list(scene)
    op = data.draw(st.sampled_from(OPS if ids else ["add", "commit"]), label="op")
    pick = lambda: data.draw(st.sampled_from(ids), label="node")  # noqa: E731
    if op == "add":
        counter[0] += 1
        parent = data.draw(st.sampled_from([None] + ids), label="parent")
        index = data.draw(st.one_of(st.none(), st.integers(-3, 3)), label="index")
        scene.add(f"n/{counter[0]}", parent, index=index,
                  name=data.draw(st.sampled_from(["", "回风巷", "belt"]), label="name"),
                  tags=data.draw(st.sets(st.sampled_from(TAGS), max_size=2), label="tags"),
                  translation=data.draw(vec3, label="t"))
    elif op == "remove":
        scene.remove(pick())
    elif op in ("move", "attach"):
        node = pick()
        sub = set(scene.subtree(node))
        targets = [None] + [i for i in ids if i not in sub]
        parent = data.draw(st.sampled_from(targets), label="parent")
        index = data.draw(st.one_of(st.none(), st.integers(-3, 3)), label="index")
        if op == "move":
            scene.move(node, parent, index=index)
        else:
            scene.attach(node, parent, index=index)
    elif op == "translate":
        scene.set_translation(pick(), data.draw(vec3, label="t"))
    elif op == "rotate":
        scene.set_rotation(pick(), data.draw(quaternions(), label="r"))
    elif op == "scale":
        scene.set_scale(pick(), data.draw(scale3, label="s"))
    elif op == "batch_t":
        chosen = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=8), label="ids")
        xyz = np.array(data.draw(st.lists(vec3, min_size=len(chosen), max_size=len(chosen)),
                                 label="xyz"))
        scene.set_translations(scene.handles(chosen), xyz)
    elif op == "prop":
        name, value, unit = data.draw(st.sampled_from([
            ("ch4", 0.5, "%"), ("ch4", 1.25, "%"), ("co", 12.0, "ppm"), ("count", 3, None),
            ("count", 4, None), ("state", "运行", None), ("state", "停止", None),
            ("on", True, None), ("on", False, None)]), label="prop")
        scene.set_property(pick(), name, value, unit)
    elif op == "values":
        scene.define_property("ch4", "float", "%")
        chosen = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=8), label="ids")
        vals = data.draw(st.lists(st.sampled_from([0.1, 0.5, 1.0, 1.5]), min_size=len(chosen),
                                  max_size=len(chosen)), label="vals")
        scene.set_values(scene.handles(chosen), "ch4", np.array(vals))
    elif op == "unset":
        scene.unset_property(pick(), data.draw(st.sampled_from(["ch4", "co", "state", "on"]),
                                               label="prop"))
    elif op == "visual":
        scene.set_visual(pick(), color=data.draw(st.sampled_from([0xFFFFFF, 0xFF0000, 0x00FF00])),
                         opacity=data.draw(st.sampled_from([1.0, 0.5, 0.25])),
                         visible=data.draw(st.booleans()),
                         blink=data.draw(st.sampled_from([0.0, 2.0])),
                         label=data.draw(st.sampled_from([None, "0.52%", "CH4 1.2%"])))
    elif op == "tags":
        scene.set_tags(pick(), data.draw(st.sets(st.sampled_from(TAGS), max_size=3)))
    elif op == "mesh":
        scene.set_mesh(pick(), data.draw(st.one_of(st.none(), mesh_refs()), label="mesh"))
    elif op == "name":
        scene.set_name(pick(), data.draw(st.sampled_from(["a", "b", "运输巷"]), label="name"))
    return op
