"""The scene graph: nodes, transforms, visual state, typed properties, tags and the change log.

Storage is columnar (struct of arrays): a node is a *handle*, an index into one array per
field. Handles are given out in order and never reused, so a handle means one node for the
scene's whole life (removed nodes leave a dead row; the arrays grow only with node churn).
This is what makes the hot paths vectorised: moving 10 000 people is one numpy assignment,
not 10 000 method calls.

Local translation / rotation / scale are the truth; world matrices are derived, marked dirty
down the subtree on write (three.js/Godot style) and recomputed lazily: ``update_world()`` is
the per-tick top-down pass, and ``world_matrix(id)`` pulls only the node's dirty ancestors.

Every mutation goes through this API, compares before it writes (writing the same value is
free and records nothing, as Bevy's change detection) and marks the field dirty.
``commit()`` closes the tick into a ``Changeset`` with a new revision; ``snapshot()`` gives the
whole committed state in the same form.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from . import _math
from .changes import (CORE_FIELDS, PROPERTY_PREFIX, Changeset, FieldChange, FieldSpec,
                      MeshRef, PropertyType, field_spec, objarray, property_field)
from .errors import (DuplicateNodeError, HierarchyError, NodeNotFoundError, PropertyTypeError,
                     ReplicaError, SceneError, UncommittedChangesError)
from .tolerances import QUATERNION_NORM_TOLERANCE

__all__ = ["Scene", "Node", "Visual", "PropertyValue", "ROOT", "ROOT_ID"]

ROOT = 0          #: the root's handle; it always exists and has no id on the wire
ROOT_ID = ""      #: the root's id
_UNSET = object()
_TRANSFORM_FIELDS = ("t", "r", "s")
_VISUAL_FIELDS = ("color", "opacity", "visible", "emissive", "blink", "label")


@dataclass(frozen=True, slots=True)
class Visual:
    """How a node is drawn on top of its mesh: ``color`` (0xRRGGBB tint, white = as modelled),
    ``opacity`` 0..1, ``visible``, ``emissive`` (0xRRGGBB glow, 0 = none), ``blink`` (Hz,
    0 = steady) and a text ``label`` (None = none)."""

    color: int = 0xFFFFFF
    opacity: float = 1.0
    visible: bool = True
    emissive: int = 0x000000
    blink: float = 0.0
    label: str | None = None


@dataclass(frozen=True, slots=True)
class PropertyValue:
    """A property's value with its unit (None for unitless and text)."""

    value: Any
    unit: str | None


class _Column:
    """One field's storage: values, and the dirty flags of the open tick."""

    __slots__ = ("spec", "data", "dirty", "any_dirty", "present")

    def __init__(self, spec: FieldSpec, capacity: int, optional: bool):
        self.spec = spec
        shape = (capacity, spec.width) if spec.width else (capacity,)
        if spec.dtype is object:
            self.data = np.empty(shape, dtype=object)
            self.data[:] = None
            if spec.default is not None:
                self.data.fill(spec.default)
        else:
            self.data = np.empty(shape, dtype=spec.dtype)
            self.data[:] = spec.default if spec.default is not None else 0
        self.dirty = np.zeros(capacity, dtype=bool)
        self.any_dirty = False
        # Properties are optional: absent is their default. Core fields are always present.
        self.present = np.zeros(capacity, dtype=bool) if optional else None

    def grow(self, capacity: int) -> None:
        old = self.data.shape[0]
        spec = self.spec
        shape = (capacity - old, spec.width) if spec.width else (capacity - old,)
        if spec.dtype is object:
            extra = np.empty(shape, dtype=object)
            if spec.default is not None:
                extra.fill(spec.default)
        else:
            extra = np.empty(shape, dtype=spec.dtype)
            extra[:] = spec.default if spec.default is not None else 0
        self.data = np.concatenate([self.data, extra])
        self.dirty = np.concatenate([self.dirty, np.zeros(capacity - old, dtype=bool)])
        if self.present is not None:
            self.present = np.concatenate([self.present, np.zeros(capacity - old, dtype=bool)])

    def mark(self, handles: np.ndarray | int) -> None:
        self.dirty[handles] = True
        self.any_dirty = True

    def reset(self, handle: int) -> None:
        """Back to the default (a property: absent)."""
        spec = self.spec
        if spec.dtype is object:
            self.data[handle] = spec.default
        else:
            self.data[handle] = spec.default if spec.default is not None else 0
        if self.present is not None:
            self.present[handle] = False


class Scene:
    """The authoritative scene graph. See the module docstring."""

    def __init__(self, *, history_limit: int = 600, capacity: int = 64):
        if history_limit < 1:
            raise ValueError("history_limit must be >= 1")
        cap = max(int(capacity), 2)
        self._cap = cap
        self._count = 1                      # next handle; handle 0 is the root
        self._ids: list[str | None] = [ROOT_ID]
        self._handle_of: dict[str, int] = {ROOT_ID: ROOT}
        self._alive = np.zeros(cap, dtype=bool)
        self._alive[ROOT] = True
        self._nkids = np.zeros(cap, dtype=np.int64)
        self._depth = np.zeros(cap, dtype=np.int64)
        self._world = np.zeros((cap, 4, 4))
        self._world[:] = np.eye(4)
        self._wdirty = np.zeros(cap, dtype=bool)
        self._cols: dict[str, _Column] = {
            name: _Column(spec, cap, optional=False) for name, spec in CORE_FIELDS.items()}
        self._cols["kids"].data[ROOT] = []
        self._cols["parent"].data[ROOT] = -1
        self._schema: dict[str, PropertyType] = {}
        self._tags: dict[str, set[int]] = {}
        # Open tick.
        self._added: list[int] = []
        self._removed: list[int] = []
        self._schema_new: list[str] = []
        self._unset: dict[str, set[int]] = {}
        self._dirty = False
        # Committed history.
        self._revision = 0
        self._time_ms = 0
        self._history: deque[Changeset] = deque(maxlen=history_limit)
        self._spatial_stamp = 0   # bumps on anything that moves world bounds

    @property
    def _parent(self) -> np.ndarray:
        """Parent handle per node (-1 for the root); the storage of the ``parent`` field."""
        return self._cols["parent"].data

    # ------------------------------------------------------------------ lookup

    def __len__(self) -> int:
        """Number of nodes, not counting the root."""
        return len(self._handle_of) - 1

    def __contains__(self, node_id: object) -> bool:
        return isinstance(node_id, str) and node_id != ROOT_ID and node_id in self._handle_of

    def __iter__(self) -> Iterator[str]:
        """Node ids in depth-first order (parents before children, children in order)."""
        for h in self._walk(ROOT):
            if h != ROOT:
                yield self._ids[h]  # type: ignore[misc]

    @property
    def revision(self) -> int:
        """The last committed revision (0 before the first commit)."""
        return self._revision

    @property
    def time_ms(self) -> int:
        """The time of the last commit (UTC epoch milliseconds)."""
        return self._time_ms

    @property
    def schema(self) -> Mapping[str, PropertyType]:
        return dict(self._schema)

    @property
    def history(self) -> tuple[Changeset, ...]:
        """The bounded history of committed changesets, oldest first."""
        return tuple(self._history)

    @property
    def has_changes(self) -> bool:
        """True when the open tick holds changes not yet committed."""
        return self._dirty

    def handle(self, node: str | int) -> int:
        """The handle of a node id (a handle is returned as is, after a liveness check)."""
        if isinstance(node, str):
            h = self._handle_of.get(node)
            if h is None:
                raise NodeNotFoundError(f"no node {node!r} in the scene")
            return h
        h = int(node)
        if not 0 <= h < self._count or not self._alive[h]:
            raise NodeNotFoundError(f"no node with handle {h} in the scene")
        return h

    def handles(self, nodes: Iterable[str | int]) -> np.ndarray:
        """Handles of many nodes, as an int64 array for the batch setters."""
        get = self._handle_of.get
        out = []
        missing = []
        for n in nodes:
            h = get(n) if isinstance(n, str) else self.handle(n)
            if h is None:
                missing.append(n)
            else:
                out.append(h)
        if missing:
            more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
            raise NodeNotFoundError(f"no nodes {missing[:5]!r}{more} in the scene")
        return np.asarray(out, dtype=np.int64)

    def id_of(self, handle: int) -> str:
        return self._ids[self.handle(handle)]  # type: ignore[return-value]

    def node(self, node: str | int) -> "Node":
        """A live view of one node (reads and writes go to the scene)."""
        return Node(self, self.handle(node))

    def tagged(self, tag: str) -> frozenset[str]:
        """Ids of the nodes carrying ``tag`` (Godot's groups; O(1) lookup of the set)."""
        return frozenset(self._ids[h] for h in self._tags.get(tag, ()))  # type: ignore[misc]

    def tagged_handles(self, tag: str) -> np.ndarray:
        return np.fromiter(sorted(self._tags.get(tag, ())), dtype=np.int64)

    def tags(self) -> frozenset[str]:
        """Every tag in use."""
        return frozenset(t for t, hs in self._tags.items() if hs)

    # ------------------------------------------------------------------ structure

    def add(self, node_id: str, parent: str | int | None = None, *, name: str | None = None,
            tags: Iterable[str] = (), translation: Sequence[float] | None = None,
            rotation: Sequence[float] | None = None, scale: Sequence[float] | None = None,
            mesh: MeshRef | None = None, properties: Mapping[str, Any] | None = None,
            visual: Visual | None = None, index: int | None = None) -> "Node":
        """Add a node under ``parent`` (default: the root) at ``index`` among its children
        (default: last). A node has one parent: adding an id that exists is an error.

        ``properties`` maps a name to a value or to ``(value, unit)``.
        """
        if not isinstance(node_id, str) or not node_id or node_id != node_id.strip():
            raise SceneError(f"a node id is a non-empty string without outer spaces, "
                             f"not {node_id!r}")
        if node_id in self._handle_of:
            raise DuplicateNodeError(f"node {node_id!r} is already in the scene "
                                     f"(one parent per node; use move() or attach())")
        p = ROOT if parent is None else self.handle(parent)
        if self._count == self._cap:
            self._grow(self._cap * 2)
        h = self._count
        self._count += 1
        self._ids.append(node_id)
        self._handle_of[node_id] = h
        self._alive[h] = True
        self._cols["kids"].data[h] = []
        self._link(h, p, index)
        self._added.append(h)
        self._dirty = True
        self._wdirty[h] = True
        self._spatial_stamp += 1
        node = Node(self, h)
        if name is not None:
            self.set_name(h, name)
        if tags:
            self.set_tags(h, tags)
        if translation is not None:
            self.set_translation(h, translation)
        if rotation is not None:
            self.set_rotation(h, rotation)
        if scale is not None:
            self.set_scale(h, scale)
        if mesh is not None:
            self.set_mesh(h, mesh)
        if visual is not None:
            self.set_visual(h, color=visual.color, opacity=visual.opacity,
                            visible=visual.visible, emissive=visual.emissive,
                            blink=visual.blink, label=visual.label)
        for key, value in (properties or {}).items():
            if isinstance(value, tuple) and len(value) == 2:
                self.set_property(h, key, value[0], unit=value[1])
            else:
                self.set_property(h, key, value)
        return node

    def remove(self, node: str | int) -> int:
        """Remove a node and its whole subtree; returns how many nodes went."""
        h = self.handle(node)
        if h == ROOT:
            raise HierarchyError("the root cannot be removed")
        doomed = list(self._walk(h))
        self._unlink(h)
        added = set(self._added)
        for d in doomed:
            self._kill(d)
            if d not in added:
                self._removed.append(d)
        if added:
            gone = set(doomed)
            self._added = [a for a in self._added if a not in gone]
        self._dirty = True
        self._spatial_stamp += 1
        return len(doomed)

    def move(self, node: str | int, parent: str | int | None = None, *,
             index: int | None = None, keep_world: bool = False) -> None:
        """Reparent a node (with its subtree) under ``parent`` at ``index``. The local
        transform is kept unless ``keep_world``, which keeps the world pose instead."""
        h = self.handle(node)
        p = ROOT if parent is None else self.handle(parent)
        if h == ROOT:
            raise HierarchyError("the root cannot be moved")
        a = p
        while a != -1:
            if a == h:
                raise HierarchyError(f"cannot move {self._ids[h]!r} under its own subtree "
                                     f"({self._ids[p]!r})")
            a = int(self._parent[a])
        world = self._pull_world(h).copy() if keep_world else None
        if self._parent[h] == p:
            kids = self._cols["kids"].data[p]
            before = list(kids)
            kids.remove(h)
            kids.insert(len(kids) if index is None else _clamp_index(index, len(kids)), h)
            if kids != before:
                self._cols["kids"].mark(p)
                self._dirty = True
            return
        self._unlink(h)
        self._link(h, p, index)
        self._set_depths(h)
        self._mark_world_dirty(np.array([h]))
        self._dirty = True
        self._spatial_stamp += 1
        if world is not None:
            local = np.linalg.inv(self._pull_world(p)) @ world
            t, q, s = _math.decompose(local)
            self.set_translation(h, t)
            self.set_rotation(h, q)
            self.set_scale(h, s)

    def attach(self, node: str | int, parent: str | int | None = None, *,
               index: int | None = None) -> None:
        """Reparent keeping the world pose (three.js ``attach``)."""
        self.move(node, parent, index=index, keep_world=True)

    def parent_of(self, node: str | int) -> str | None:
        """The parent's id, or None for a top-level node."""
        p = int(self._parent[self.handle(node)])
        return None if p <= ROOT else self._ids[p]

    def children_of(self, node: str | int | None = None) -> tuple[str, ...]:
        h = ROOT if node is None else self.handle(node)
        return tuple(self._ids[k] for k in self._cols["kids"].data[h])  # type: ignore[misc]

    def subtree(self, node: str | int) -> list[str]:
        """Ids of a node and all its descendants, depth first."""
        return [self._ids[h] for h in self._walk(self.handle(node))]  # type: ignore[misc]

    # ------------------------------------------------------------------ per-node setters

    def set_name(self, node: str | int, name: str) -> None:
        if not isinstance(name, str):
            raise SceneError(f"a name is a string, not {name!r}")
        self._set_object(self.handle(node), "name", name)

    def set_tags(self, node: str | int, tags: Iterable[str]) -> None:
        h = self.handle(node)
        new = frozenset(tags)
        for t in new:
            if not isinstance(t, str) or not t:
                raise SceneError(f"a tag is a non-empty string, not {t!r}")
        col = self._cols["tags"]
        old = col.data[h]
        if old == new:
            return
        for t in old - new:
            self._tags[t].discard(h)
        for t in new - old:
            self._tags.setdefault(t, set()).add(h)
        col.data[h] = new
        col.mark(h)
        self._dirty = True

    def add_tags(self, node: str | int, *tags: str) -> None:
        h = self.handle(node)
        self.set_tags(h, self._cols["tags"].data[h] | frozenset(tags))

    def remove_tags(self, node: str | int, *tags: str) -> None:
        h = self.handle(node)
        self.set_tags(h, self._cols["tags"].data[h] - frozenset(tags))

    def set_mesh(self, node: str | int, mesh: MeshRef | None) -> None:
        if mesh is not None and not isinstance(mesh, MeshRef):
            raise SceneError(f"a mesh is a MeshRef or None, not {mesh!r}")
        if self._set_object(self.handle(node), "mesh", mesh):
            self._spatial_stamp += 1

    def set_translation(self, node: str | int, xyz: Sequence[float]) -> None:
        self._set_vector(self.handle(node), "t", _finite_vector(xyz, 3, "translation"))

    def set_rotation(self, node: str | int, xyzw: Sequence[float]) -> None:
        self._set_vector(self.handle(node), "r", _unit_quaternion(xyzw))

    def set_scale(self, node: str | int, xyz: Sequence[float]) -> None:
        self._set_vector(self.handle(node), "s", _finite_vector(xyz, 3, "scale"))

    def set_visual(self, node: str | int, *, color: int | None = None,
                   opacity: float | None = None, visible: bool | None = None,
                   emissive: int | None = None, blink: float | None = None,
                   label: Any = _UNSET) -> None:
        """Change some of a node's visual state (arguments left out keep their value)."""
        h = self.handle(node)
        for fname, value in (("color", color), ("emissive", emissive)):
            if value is not None:
                if not isinstance(value, (int, np.integer)) or not 0 <= value <= 0xFFFFFF:
                    raise SceneError(f"{fname} is an integer 0xRRGGBB, not {value!r}")
                self._set_scalar(h, fname, int(value))
        if opacity is not None:
            if not (0.0 <= float(opacity) <= 1.0):
                raise SceneError(f"opacity is between 0 and 1, not {opacity!r}")
            self._set_scalar(h, "opacity", np.float32(opacity))
        if visible is not None:
            self._set_scalar(h, "visible", bool(visible))
        if blink is not None:
            if not (math.isfinite(float(blink)) and float(blink) >= 0):
                raise SceneError(f"blink is a frequency >= 0 Hz, not {blink!r}")
            self._set_scalar(h, "blink", np.float32(blink))
        if label is not _UNSET:
            if label is not None and not isinstance(label, str):
                raise SceneError(f"a label is a string or None, not {label!r}")
            self._set_object(h, "label", label)

    def define_property(self, name: str, kind: str, unit: str | None = None) -> PropertyType:
        """Declare a property's type. Defining it again the same way is a no-op; another
        kind or unit is a PropertyTypeError (one type per name in a scene)."""
        ptype = PropertyType(kind, unit)
        old = self._schema.get(name)
        if old is not None:
            if old != ptype:
                raise PropertyTypeError(f"property {name!r} is {old.kind}"
                                        f"{' in ' + old.unit if old.unit else ''}; "
                                        f"cannot redefine it as {kind}"
                                        f"{' in ' + unit if unit else ''}")
            return old
        if not isinstance(name, str) or not name:
            raise PropertyTypeError(f"a property name is a non-empty string, not {name!r}")
        self._schema[name] = ptype
        self._schema_new.append(name)
        self._dirty = True
        spec = field_spec(property_field(name), self._schema)
        self._cols[property_field(name)] = _Column(spec, self._cap, optional=True)
        return ptype

    def set_property(self, node: str | int, name: str, value: Any,
                     unit: str | None = None) -> None:
        """Set a typed property. The first use of a name defines its type (kind from the
        value, unit as given); later uses must match it."""
        h = self.handle(node)
        ptype = self._schema.get(name)
        if ptype is None:
            ptype = self.define_property(name, _kind_of(value, name), unit)
        elif unit is not None and unit != ptype.unit:
            raise PropertyTypeError(f"property {name!r} is in {ptype.unit!r}, not {unit!r}")
        value = _check_value(name, ptype.kind, value)
        col = self._cols[property_field(name)]
        pending = self._unset.get(name)
        if col.present[h] and col.data[h] == value:
            return
        col.data[h] = value
        col.present[h] = True
        col.mark(h)
        if pending:
            pending.discard(h)
        self._dirty = True

    def unset_property(self, node: str | int, name: str) -> None:
        h = self.handle(node)
        col = self._cols.get(property_field(name))
        if col is None or not col.present[h]:
            return
        col.reset(h)
        col.dirty[h] = False
        self._unset.setdefault(name, set()).add(h)
        self._dirty = True

    # ------------------------------------------------------------------ batch setters

    def set_translations(self, handles: np.ndarray, xyz: np.ndarray) -> int:
        """Set many translations at once; returns how many actually changed."""
        values = np.asarray(xyz, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != 3:
            raise SceneError(f"translations are an (n, 3) array, not shape {values.shape}")
        if not np.isfinite(values).all():
            raise SceneError(f"{int((~np.isfinite(values).all(axis=1)).sum())} translations "
                             f"are not finite")
        return self._set_batch("t", handles, values)

    def set_rotations(self, handles: np.ndarray, xyzw: np.ndarray) -> int:
        values = np.asarray(xyzw, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != 4:
            raise SceneError(f"rotations are an (n, 4) array, not shape {values.shape}")
        norms = np.linalg.norm(values, axis=1)
        bad = ~np.isfinite(norms) | (np.abs(norms - 1.0) > QUATERNION_NORM_TOLERANCE)
        if bad.any():
            raise SceneError(f"{int(bad.sum())} rotations are not unit quaternions")
        return self._set_batch("r", handles, values / norms[:, None])

    def set_scales(self, handles: np.ndarray, xyz: np.ndarray) -> int:
        values = np.asarray(xyz, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != 3 or not np.isfinite(values).all():
            raise SceneError("scales are a finite (n, 3) array")
        return self._set_batch("s", handles, values)

    def set_values(self, handles: np.ndarray, name: str, values: np.ndarray) -> int:
        """Set a numeric (float/int/bool) property on many nodes: the sensor-value hot path.
        The property must be defined. Returns how many values actually changed."""
        ptype = self._schema.get(name)
        if ptype is None:
            raise PropertyTypeError(f"property {name!r} is not defined; define_property() it")
        if ptype.kind == "str":
            raise PropertyTypeError(f"property {name!r} is text; set it per node")
        col = self._cols[property_field(name)]
        values = np.asarray(values)
        if values.ndim != 1:
            raise SceneError(f"values are a 1-d array, not shape {values.shape}")
        if ptype.kind == "float":
            values = values.astype(np.float64, copy=False)
            if not np.isfinite(values).all():
                raise SceneError(f"{int((~np.isfinite(values)).sum())} values of {name!r} "
                                 f"are not finite")
        else:
            values = values.astype(col.data.dtype, copy=False)
        h, values = self._batch_handles(handles, values)
        changed = ~col.present[h] | (col.data[h] != values)
        h = h[changed]
        if len(h):
            col.data[h] = values[changed]
            col.present[h] = True
            col.mark(h)
            pending = self._unset.get(name)
            if pending:
                pending.difference_update(h.tolist())
            self._dirty = True
        return len(h)

    def set_visuals(self, handles: np.ndarray, *, color: np.ndarray | None = None,
                    opacity: np.ndarray | None = None, visible: np.ndarray | None = None,
                    emissive: np.ndarray | None = None, blink: np.ndarray | None = None) -> int:
        """Set visual fields of many nodes at once (each argument one value per handle)."""
        total = 0
        for fname, values in (("color", color), ("opacity", opacity), ("visible", visible),
                              ("emissive", emissive), ("blink", blink)):
            if values is None:
                continue
            spec = CORE_FIELDS[fname]
            arr = np.asarray(values)
            if fname in ("color", "emissive") and ((arr < 0) | (arr > 0xFFFFFF)).any():
                raise SceneError(f"{fname} values are 0xRRGGBB integers")
            if fname == "opacity" and ((arr < 0) | (arr > 1) | ~np.isfinite(arr)).any():
                raise SceneError("opacity values are between 0 and 1")
            if fname == "blink" and ((arr < 0) | ~np.isfinite(arr)).any():
                raise SceneError("blink values are frequencies >= 0 Hz")
            total += self._set_batch(fname, handles, arr.astype(spec.dtype))
        return total

    # ------------------------------------------------------------------ reading

    def translation(self, node: str | int) -> np.ndarray:
        return _readonly(self._cols["t"].data[self.handle(node)].copy())

    def rotation(self, node: str | int) -> np.ndarray:
        return _readonly(self._cols["r"].data[self.handle(node)].copy())

    def scale(self, node: str | int) -> np.ndarray:
        return _readonly(self._cols["s"].data[self.handle(node)].copy())

    def visual(self, node: str | int) -> Visual:
        h = self.handle(node)
        c = self._cols
        return Visual(int(c["color"].data[h]), float(c["opacity"].data[h]),
                      bool(c["visible"].data[h]), int(c["emissive"].data[h]),
                      float(c["blink"].data[h]), c["label"].data[h])

    def properties(self, node: str | int) -> dict[str, PropertyValue]:
        h = self.handle(node)
        out = {}
        for name, ptype in self._schema.items():
            col = self._cols[property_field(name)]
            if col.present[h]:
                out[name] = PropertyValue(_py(col.data[h]), ptype.unit)
        return out

    def property(self, node: str | int, name: str, default: Any = None) -> Any:
        h = self.handle(node)
        col = self._cols.get(property_field(name))
        if col is None or not col.present[h]:
            return default
        return _py(col.data[h])

    def values(self, handles: np.ndarray, name: str) -> np.ndarray:
        """A numeric property for many nodes (NaN / 0 / False where absent)."""
        col = self._cols[property_field(name)]
        h = np.asarray(handles, dtype=np.int64)
        out = col.data[h].copy()
        if out.dtype == np.float64:
            out[~col.present[h]] = np.nan
        return _readonly(out)

    def translations(self, handles: np.ndarray) -> np.ndarray:
        return _readonly(self._cols["t"].data[np.asarray(handles, dtype=np.int64)].copy())

    def get_field(self, node: str | int, field: str) -> Any:
        """The raw stored value of any field (``name``, ``t``, ``color``, ``p:<prop>`` …)."""
        h = self.handle(node)
        if field == "kids":
            return tuple(self._cols["kids"].data[h])
        col = self._cols[field]
        if col.present is not None and not col.present[h]:
            return None
        v = col.data[h]
        return v.copy() if isinstance(v, np.ndarray) else _py(v)

    # ------------------------------------------------------------------ world transforms

    def world_matrix(self, node: str | int) -> np.ndarray:
        """The node's world matrix, pulling only its dirty ancestors (one-off queries)."""
        return _readonly(self._pull_world(self.handle(node)).copy())

    def world_position(self, node: str | int) -> np.ndarray:
        return _readonly(self._pull_world(self.handle(node))[:3, 3].copy())

    def update_world(self) -> int:
        """The per-tick top-down pass: recompute every dirty world matrix, level by level
        (vectorised per depth). Returns how many were recomputed."""
        dirty = np.flatnonzero(self._wdirty[: self._count])
        if not len(dirty):
            return 0
        self._compute_world(dirty)
        return len(dirty)

    def world_matrices(self, handles: np.ndarray) -> np.ndarray:
        self.update_world()
        return _readonly(self._world[np.asarray(handles, dtype=np.int64)].copy())

    # Read-only views by handle, for the scene's readers (spatial index, streaming views).

    def live_handles(self) -> np.ndarray:
        """Every live node's handle, the root excluded, ascending."""
        alive = self._alive[: self._count].copy()
        alive[ROOT] = False
        return np.flatnonzero(alive)

    def parent_handles(self, handles: np.ndarray) -> np.ndarray:
        """The parents' handles (the root's is -1)."""
        return _readonly(self._parent[np.asarray(handles, dtype=np.int64)].copy())

    def child_handles(self, handle: int) -> tuple[int, ...]:
        """A node's children in order, by handle."""
        return tuple(self._cols["kids"].data[handle] or ())

    def meshes(self, handles: np.ndarray) -> np.ndarray:
        """The MeshRef (or None) of each node, as an object array."""
        return self._cols["mesh"].data[np.asarray(handles, dtype=np.int64)].copy()

    def ids_of(self, handles: Iterable[int]) -> list[str]:
        """Node ids by handle."""
        ids = self._ids
        return [ids[h] for h in handles]

    def spatial_stamp(self) -> int:
        """Changes whenever a node's transform, mesh or hierarchy may have moved anything (the
        spatial index rebuilds when it differs from the one it was built at)."""
        return self._spatial_stamp

    def _compute_world(self, dirty: np.ndarray) -> None:
        depth = self._depth[dirty]
        order = np.argsort(depth, kind="stable")
        dirty, depth = dirty[order], depth[order]
        bounds = np.flatnonzero(np.diff(depth)) + 1
        c = self._cols
        for level in np.split(dirty, bounds):
            local = _math.compose(c["t"].data[level], c["r"].data[level], c["s"].data[level])
            self._world[level] = self._world[self._parent[level]] @ local
            self._wdirty[level] = False

    def _pull_world(self, h: int) -> np.ndarray:
        chain = []
        while h != ROOT and self._wdirty[h]:
            chain.append(h)
            h = int(self._parent[h])
        c = self._cols
        for k in reversed(chain):
            local = _math.compose(c["t"].data[k:k + 1], c["r"].data[k:k + 1],
                                  c["s"].data[k:k + 1])[0]
            self._world[k] = self._world[self._parent[k]] @ local
            self._wdirty[k] = False
        return self._world[chain[0] if chain else h]

    def _mark_world_dirty(self, handles: np.ndarray) -> None:
        # Invariant: a dirty node's whole subtree is dirty, so we only descend from nodes
        # that were clean, and only from those that have children.
        was = self._wdirty[handles]
        fresh = handles[~was]
        if not len(fresh):
            return
        self._wdirty[fresh] = True
        self._spatial_stamp += 1
        stack = fresh[self._nkids[fresh] > 0].tolist()
        kids = self._cols["kids"].data
        wdirty = self._wdirty
        while stack:
            for k in kids[stack.pop()]:
                if not wdirty[k]:
                    wdirty[k] = True
                    if self._nkids[k]:
                        stack.append(k)

    # ------------------------------------------------------------------ revisions

    def commit(self, time_ms: int | None = None) -> Changeset:
        """Close the open tick into a changeset with a new revision (last write wins)."""
        if time_ms is None:
            time_ms = int(time.time() * 1000)
        rev = self._revision + 1
        removed = np.asarray(sorted(self._removed), dtype=np.int64)
        added = np.asarray(self._added, dtype=np.int64)
        fields: dict[str, FieldChange] = {}
        n = self._count
        for fname, col in self._cols.items():
            if not col.any_dirty:
                continue
            h = np.flatnonzero(col.dirty[:n] & self._alive[:n])
            col.dirty[:n] = False
            col.any_dirty = False
            if len(h):
                fields[fname] = FieldChange(h, self._column_values(fname, col, h))
        unset = {}
        fresh = set(self._added)
        for name, hs in self._unset.items():
            hs_alive = [h for h in hs if self._alive[h] and h not in fresh]
            if hs_alive:
                unset[property_field(name)] = np.asarray(sorted(hs_alive), dtype=np.int64)
        cs = Changeset(
            kind="diff", base=self._revision, revision=rev, time_ms=int(time_ms),
            schema=tuple((name, self._schema[name]) for name in self._schema_new),
            added=added, added_ids=tuple(self._ids[h] for h in self._added),  # type: ignore
            removed=removed, fields=fields, unset=unset)
        self._added, self._removed, self._schema_new = [], [], []
        self._unset = {}
        self._dirty = False
        self._revision = rev
        self._time_ms = int(time_ms)
        self._history.append(cs)
        return cs

    def snapshot(self) -> Changeset:
        """The whole committed state as a changeset of kind ``snapshot`` at ``revision``.
        Only non-default fields are included."""
        if self._dirty:
            raise UncommittedChangesError("the scene has uncommitted changes; commit() first")
        n = self._count
        alive = self._alive[:n].copy()
        alive[ROOT] = False
        handles = np.flatnonzero(alive)
        fields = self.state_of(handles)
        if self._nkids[ROOT]:                     # the root's children: the top level
            root = self._column_values("kids", self._cols["kids"], np.array([ROOT]))
            old = fields.get("kids")
            fields["kids"] = FieldChange(
                np.concatenate([[ROOT], old.handles]) if old else np.array([ROOT]),
                objarray(list(root) + (old.values.tolist() if old else [])))
        return Changeset(
            kind="snapshot", base=None, revision=self._revision, time_ms=self._time_ms,
            schema=tuple(self._schema.items()), added=handles,
            added_ids=tuple(self._ids[h] for h in handles.tolist()),  # type: ignore[misc]
            removed=np.zeros(0, dtype=np.int64), fields=fields, unset={})

    def state_of(self, handles: np.ndarray) -> dict[str, FieldChange]:
        """The non-default fields of live nodes (ascending handles, root excluded), as a
        snapshot carries them: what a node added to a view needs to arrive whole."""
        handles = np.asarray(handles, dtype=np.int64)
        fields: dict[str, FieldChange] = {}
        for fname, col in self._cols.items():
            if fname == "kids":
                h = handles[self._nkids[handles] > 0]
            elif col.present is not None:
                h = handles[col.present[handles]]
            else:
                h = handles[_not_default(col, handles)]
            if len(h):
                fields[fname] = FieldChange(h, self._column_values(fname, col, h))
        return fields

    def apply_changeset(self, cs: Changeset) -> None:
        """Apply a changeset another scene committed — the whole of a snapshot to an empty
        scene, or the diff that follows this scene's revision — and take its revision. The
        one way a replica (scene/replica.py) changes a scene; it records nothing itself."""
        s = self
        for name, ptype in cs.schema:
            s.define_property(name, ptype.kind, ptype.unit)
        kids_col = s._cols["kids"]
        # Removed nodes: every node of a removed subtree is listed, so kill them one by one;
        # the surviving parents' new child lists arrive as ``kids`` changes.
        for h in cs.removed.tolist():
            if not (0 < h < s._count and s._alive[h]):
                raise ReplicaError(f"changeset {cs.revision} removes unknown handle {h}")
            p = int(s._parent[h])
            if p >= 0 and s._alive[p] and kids_col.data[p] is not None and h in kids_col.data[p]:
                kids_col.data[p].remove(h)
                s._nkids[p] -= 1
            s._kill(h)
        for h, node_id in zip(cs.added.tolist(), cs.added_ids):
            if h < s._count and s._alive[h] or node_id in s._handle_of:
                raise ReplicaError(f"changeset {cs.revision} adds {node_id!r} (handle {h}) twice")
            s._ensure_handle(h)
            s._ids[h] = node_id
            s._handle_of[node_id] = h
            s._alive[h] = True
            kids_col.data[h] = []
            s._parent[h] = -1      # placed by its parent's ``kids`` below
            s._wdirty[h] = True
        moved: list[int] = []
        for fname in sorted(cs.fields, key=lambda n: n != "kids"):
            fc = cs.fields[fname]
            h = fc.handles
            if len(h) and (h.max() >= s._count or not s._alive[h].all()):
                raise ReplicaError(f"changeset {cs.revision} sets {fname} on unknown nodes")
            if fname == "kids":
                for parent, kids in zip(h.tolist(), fc.values.tolist()):
                    kids_col.data[parent] = list(kids)
                    s._nkids[parent] = len(kids)
                    for k in kids:
                        if s._parent[k] != parent:
                            s._parent[k] = parent
                            moved.append(k)
                continue
            if fname == "parent":
                # ``kids`` placed every moved node already; the two must agree.
                if not np.array_equal(s._parent[h], fc.values):
                    raise ReplicaError(f"changeset {cs.revision}: parent and kids disagree")
                continue
            col = s._cols[fname]
            if fname == "tags":
                for k, new in zip(h.tolist(), fc.values.tolist()):
                    for t in col.data[k] - new:
                        s._tags[t].discard(k)
                    for t in new - col.data[k]:
                        s._tags.setdefault(t, set()).add(k)
            col.data[h] = fc.values
            if col.present is not None:
                col.present[h] = True
            if fname in ("t", "r", "s"):
                s._mark_world_dirty(h)
            s._spatial_stamp += 1
        for fname, h in cs.unset.items():
            if not fname.startswith(PROPERTY_PREFIX):
                raise ReplicaError(f"changeset {cs.revision} unsets core field {fname!r}")
            col = s._cols[fname]
            for k in h.tolist():
                col.reset(k)
        if moved:
            for k in moved:
                s._set_depths(k)
            s._mark_world_dirty(np.asarray(moved, dtype=np.int64))
        # A replica records nothing: clear the open tick and take the authority's revision.
        for col in s._cols.values():
            col.dirty[:] = False
            col.any_dirty = False
        s._added, s._removed, s._schema_new, s._unset = [], [], [], {}
        s._dirty = False
        s._revision = cs.revision
        s._time_ms = cs.time_ms
        assert s._parent[ROOT] == -1

    def changes_since(self, revision: int) -> Changeset | None:
        """One merged diff from ``revision`` to now, or None when the bounded history no
        longer reaches back that far (the caller then sends a snapshot)."""
        from .changes import merge
        if revision == self._revision:
            return Changeset(kind="diff", base=revision, revision=revision,
                             time_ms=self._time_ms)
        hist = self._history
        if not hist or revision < hist[0].base or revision > self._revision:
            return None
        start = revision - hist[0].base
        return merge(list(hist)[start:])

    # ------------------------------------------------------------------ internals

    def _column_values(self, fname: str, col: _Column, h: np.ndarray) -> np.ndarray:
        if fname == "kids":
            data = col.data
            return objarray(tuple(data[k]) for k in h.tolist())
        return col.data[h].copy()

    def _grow(self, cap: int) -> None:
        old = self._cap
        extra = cap - old
        self._alive = np.concatenate([self._alive, np.zeros(extra, dtype=bool)])
        self._nkids = np.concatenate([self._nkids, np.zeros(extra, dtype=np.int64)])
        self._depth = np.concatenate([self._depth, np.zeros(extra, dtype=np.int64)])
        world = np.zeros((extra, 4, 4))
        world[:] = np.eye(4)
        self._world = np.concatenate([self._world, world])
        self._wdirty = np.concatenate([self._wdirty, np.zeros(extra, dtype=bool)])
        for col in self._cols.values():
            col.grow(cap)
        self._cap = cap

    def _ensure_handle(self, h: int) -> None:
        """Make room for handle ``h`` (replicas create nodes with the authority's handles)."""
        if h >= self._cap:
            cap = self._cap
            while cap <= h:
                cap *= 2
            self._grow(cap)
        while len(self._ids) <= h:
            self._ids.append(None)
        self._count = max(self._count, h + 1)

    def _link(self, h: int, p: int, index: int | None) -> None:
        kids = self._cols["kids"].data[p]
        kids.insert(len(kids) if index is None else _clamp_index(index, len(kids)), h)
        self._cols["kids"].mark(p)
        self._nkids[p] += 1
        self._parent[h] = p
        self._cols["parent"].mark(h)
        self._depth[h] = self._depth[p] + 1

    def _unlink(self, h: int) -> None:
        p = int(self._parent[h])
        self._cols["kids"].data[p].remove(h)
        self._cols["kids"].mark(p)
        self._nkids[p] -= 1
        self._parent[h] = -1

    def _kill(self, h: int) -> None:
        node_id = self._ids[h]
        del self._handle_of[node_id]  # type: ignore[arg-type]
        for t in self._cols["tags"].data[h]:
            self._tags[t].discard(h)
        self._alive[h] = False
        self._parent[h] = -1
        self._nkids[h] = 0
        self._wdirty[h] = False
        for col in self._cols.values():
            col.reset(h)
            col.dirty[h] = False
        self._cols["kids"].data[h] = None
        for hs in self._unset.values():
            hs.discard(h)

    def _set_depths(self, h: int) -> None:
        kids = self._cols["kids"].data
        stack = [h]
        while stack:
            k = stack.pop()
            self._depth[k] = self._depth[self._parent[k]] + 1
            stack.extend(kids[k])

    def _walk(self, h: int) -> Iterator[int]:
        kids = self._cols["kids"].data
        stack = [h]
        while stack:
            k = stack.pop()
            yield k
            stack.extend(reversed(kids[k]))

    def _set_object(self, h: int, fname: str, value: Any) -> bool:
        col = self._cols[fname]
        if col.data[h] == value and type(col.data[h]) is type(value):
            return False
        col.data[h] = value
        col.mark(h)
        self._dirty = True
        return True

    def _set_scalar(self, h: int, fname: str, value: Any) -> None:
        col = self._cols[fname]
        if col.data[h] == value:
            return
        col.data[h] = value
        col.mark(h)
        self._dirty = True

    def _set_vector(self, h: int, fname: str, value: list[float]) -> None:
        col = self._cols[fname]
        data = col.data
        if data[h].tolist() == value:
            return
        data[h] = value
        col.dirty[h] = True
        col.any_dirty = True
        self._dirty = True
        # The per-node path of _mark_world_dirty, without building arrays for one node.
        if not self._wdirty[h]:
            self._wdirty[h] = True
            self._spatial_stamp += 1
            if self._nkids[h]:
                self._wdirty[h] = False
                self._mark_world_dirty(np.array([h]))

    def _batch_handles(self, handles: np.ndarray, values: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
        h = np.asarray(handles, dtype=np.int64)
        if h.ndim != 1 or len(h) != len(values):
            raise SceneError(f"{len(h)} handles but {len(values)} values")
        if len(h) == 0:
            return h, values
        if h.min() < 1 or h.max() >= self._count or not self._alive[h].all():
            raise NodeNotFoundError("some handles are not nodes of this scene "
                                    "(removed, unknown, or the root)")
        if len(h) > 1 and not (np.diff(h) > 0).all():
            # Duplicates: the last write wins, as for the per-node setters.
            last = len(h) - 1 - np.unique(h[::-1], return_index=True)[1]
            h, values = h[last], values[last]
        return h, values

    def _set_batch(self, fname: str, handles: np.ndarray, values: np.ndarray) -> int:
        h, values = self._batch_handles(handles, values)
        col = self._cols[fname]
        old = col.data[h]
        changed = old != values
        if changed.ndim > 1:
            changed = changed.any(axis=1)
        h = h[changed]
        if len(h):
            col.data[h] = values[changed]
            col.mark(h)
            self._dirty = True
            if fname in _TRANSFORM_FIELDS:
                self._mark_world_dirty(h)
        return len(h)


class Node:
    """A live view of one node: attribute reads and writes go straight to the scene."""

    __slots__ = ("_scene", "handle")

    def __init__(self, scene: Scene, handle: int):
        self._scene = scene
        self.handle = handle

    def __repr__(self) -> str:
        return f"Node({self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and other._scene is self._scene and \
            other.handle == self.handle

    def __hash__(self) -> int:
        return hash((id(self._scene), self.handle))

    @property
    def id(self) -> str:
        return self._scene.id_of(self.handle)

    @property
    def name(self) -> str:
        return self._scene.get_field(self.handle, "name")

    @name.setter
    def name(self, value: str) -> None:
        self._scene.set_name(self.handle, value)

    @property
    def parent(self) -> str | None:
        return self._scene.parent_of(self.handle)

    @property
    def children(self) -> tuple[str, ...]:
        return self._scene.children_of(self.handle)

    @property
    def tags(self) -> frozenset[str]:
        return self._scene.get_field(self.handle, "tags")

    @tags.setter
    def tags(self, value: Iterable[str]) -> None:
        self._scene.set_tags(self.handle, value)

    @property
    def translation(self) -> np.ndarray:
        return self._scene.translation(self.handle)

    @translation.setter
    def translation(self, value: Sequence[float]) -> None:
        self._scene.set_translation(self.handle, value)

    @property
    def rotation(self) -> np.ndarray:
        return self._scene.rotation(self.handle)

    @rotation.setter
    def rotation(self, value: Sequence[float]) -> None:
        self._scene.set_rotation(self.handle, value)

    @property
    def scale(self) -> np.ndarray:
        return self._scene.scale(self.handle)

    @scale.setter
    def scale(self, value: Sequence[float]) -> None:
        self._scene.set_scale(self.handle, value)

    @property
    def mesh(self) -> MeshRef | None:
        return self._scene.get_field(self.handle, "mesh")

    @mesh.setter
    def mesh(self, value: MeshRef | None) -> None:
        self._scene.set_mesh(self.handle, value)

    @property
    def visual(self) -> Visual:
        return self._scene.visual(self.handle)

    @property
    def properties(self) -> dict[str, PropertyValue]:
        return self._scene.properties(self.handle)

    @property
    def world_matrix(self) -> np.ndarray:
        return self._scene.world_matrix(self.handle)

    @property
    def world_position(self) -> np.ndarray:
        return self._scene.world_position(self.handle)

    def set_visual(self, **kwargs: Any) -> None:
        self._scene.set_visual(self.handle, **kwargs)

    def set_property(self, name: str, value: Any, unit: str | None = None) -> None:
        self._scene.set_property(self.handle, name, value, unit)

    def property(self, name: str, default: Any = None) -> Any:
        return self._scene.property(self.handle, name, default)


# ---------------------------------------------------------------------- helpers

def _clamp_index(index: int, length: int) -> int:
    if index < 0:
        index += length + 1
    return max(0, min(index, length))


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _finite_vector(v: Sequence[float], n: int, what: str) -> list[float]:
    try:
        a = [float(x) for x in v]
    except (TypeError, ValueError):
        raise SceneError(f"a {what} is {n} finite numbers, not {v!r}") from None
    if len(a) != n or not all(map(math.isfinite, a)):
        raise SceneError(f"a {what} is {n} finite numbers, not {v!r}")
    return a


def _unit_quaternion(v: Sequence[float]) -> list[float]:
    q = _finite_vector(v, 4, "rotation (quaternion x, y, z, w)")
    norm = math.sqrt(sum(x * x for x in q))
    if abs(norm - 1.0) > QUATERNION_NORM_TOLERANCE:
        raise SceneError(f"a rotation is a unit quaternion; {v!r} has norm {norm:.6g}")
    return [x / norm for x in q]


def _kind_of(value: Any, name: str) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, str):
        return "str"
    raise PropertyTypeError(f"property {name!r}: values are float, int, bool or str, "
                            f"not {type(value).__name__}")


def _check_value(name: str, kind: str, value: Any) -> Any:
    if kind == "float":
        if isinstance(value, (bool, np.bool_)) or not isinstance(
                value, (int, float, np.integer, np.floating)):
            raise PropertyTypeError(f"property {name!r} is a number, not {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise SceneError(f"property {name!r}: {value!r} is not a finite number")
        return value
    if kind == "int":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise PropertyTypeError(f"property {name!r} is an integer, not {value!r}")
        return int(value)
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise PropertyTypeError(f"property {name!r} is true/false, not {value!r}")
        return bool(value)
    if not isinstance(value, str):
        raise PropertyTypeError(f"property {name!r} is text, not {value!r}")
    return value


def _not_default(col: _Column, handles: np.ndarray) -> np.ndarray:
    spec = col.spec
    data = col.data[handles]
    if spec.dtype is object:
        d = spec.default
        return np.fromiter((v != d for v in data.tolist()), dtype=bool, count=len(handles))
    diff = data != np.asarray(spec.default, dtype=spec.dtype)
    return diff.any(axis=1) if diff.ndim > 1 else diff
