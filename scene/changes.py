"""Changesets: what one committed tick changed, and snapshots, which are the same thing seen
from an empty scene.

A ``Changeset`` says what changed, not what is (DESIGN.md "Diffs"): the nodes added (their
handle and id; their non-default fields travel in ``fields`` like any change), the handles
removed, and per field the handles whose value changed with the last value written in the
tick. A snapshot is a changeset of kind ``"snapshot"`` whose ``added`` holds every node: a
replica resets and applies it the same way.

Fields are columnar (one handle array and one value array per field), which keeps commit,
merge and encoding vectorised. Handles are small integers the scene gives each node when it is
added; they are never reused within a scene, so they never change meaning in a session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

__all__ = [
    "PropertyType", "MeshRef", "FieldSpec", "FieldChange", "Changeset", "merge",
    "CORE_FIELDS", "PROPERTY_PREFIX", "property_field", "field_spec",
]

PROPERTY_PREFIX = "p:"
_KINDS = ("float", "int", "bool", "str")


@dataclass(frozen=True, slots=True)
class PropertyType:
    """The type of a named property: its kind and, for numbers, its unit (SI, or % / ppm for
    gas concentrations as the regulations write them). One type per name in a scene."""

    kind: str
    unit: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"property kind must be one of {_KINDS}, not {self.kind!r}")
        if self.unit is not None and not isinstance(self.unit, str):
            raise ValueError(f"a unit is a string, not {self.unit!r}")


@dataclass(frozen=True, slots=True)
class MeshRef:
    """A node's mesh: the content hash of its GLB in the asset store, its LODs (finest first,
    each an asset id) and the mesh's bounds in the node's local frame (min xyz, max xyz)."""

    asset: str
    lods: tuple[str, ...] = ()
    bounds: tuple[float, float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if not isinstance(self.asset, str) or not self.asset:
            raise ValueError("MeshRef.asset must be a non-empty asset id")
        object.__setattr__(self, "lods", tuple(self.lods))
        b = tuple(float(v) for v in self.bounds)
        if len(b) != 6 or not all(np.isfinite(b)) or any(b[i] > b[i + 3] for i in range(3)):
            raise ValueError(f"MeshRef.bounds must be finite (min xyz, max xyz), got {self.bounds!r}")
        object.__setattr__(self, "bounds", b)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How a field is stored: numpy dtype (``object`` for Python values), width per node
    (0 for a scalar) and the default value that is not serialised."""

    dtype: Any
    width: int
    default: Any


#: The fields every node has. ``parent`` is the parent's handle (0: the root) and ``kids`` the
#: ordered tuple of child handles; a reparented node changes its ``parent`` and the ``kids``
#: of its old and new parents, a reordering only ``kids``.
CORE_FIELDS: dict[str, FieldSpec] = {
    "name": FieldSpec(object, 0, ""),
    "tags": FieldSpec(object, 0, frozenset()),
    "mesh": FieldSpec(object, 0, None),
    "parent": FieldSpec(np.int64, 0, 0),
    "kids": FieldSpec(object, 0, ()),
    "t": FieldSpec(np.float64, 3, (0.0, 0.0, 0.0)),
    "r": FieldSpec(np.float64, 4, (0.0, 0.0, 0.0, 1.0)),
    "s": FieldSpec(np.float64, 3, (1.0, 1.0, 1.0)),
    "color": FieldSpec(np.uint32, 0, 0xFFFFFF),
    "opacity": FieldSpec(np.float32, 0, 1.0),
    "visible": FieldSpec(np.bool_, 0, True),
    "emissive": FieldSpec(np.uint32, 0, 0x000000),
    "blink": FieldSpec(np.float32, 0, 0.0),
    "label": FieldSpec(object, 0, None),
}

_PROPERTY_DTYPES = {"float": np.float64, "int": np.int64, "bool": np.bool_, "str": object}


def property_field(name: str) -> str:
    return PROPERTY_PREFIX + name


def field_spec(name: str, schema: Mapping[str, PropertyType]) -> FieldSpec:
    """The storage of a core field or of a property field ``p:<name>``."""
    spec = CORE_FIELDS.get(name)
    if spec is not None:
        return spec
    if name.startswith(PROPERTY_PREFIX) and name[len(PROPERTY_PREFIX):] in schema:
        kind = schema[name[len(PROPERTY_PREFIX):]].kind
        return FieldSpec(_PROPERTY_DTYPES[kind], 0, None)
    raise KeyError(name)


def objarray(values: Iterable[Any]) -> np.ndarray:
    """A 1-d object array, one element per value (np.array would turn a list of equal-length
    tuples into a 2-d array)."""
    values = list(values)
    return np.fromiter(values, dtype=object, count=len(values))


@dataclass(frozen=True, slots=True, eq=False)
class FieldChange:
    """New values of one field: ``handles`` (int64, ascending) and ``values`` aligned with them
    (shape (n,) or (n, width))."""

    handles: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        if len(self.handles) != len(self.values):
            raise ValueError(f"{len(self.handles)} handles but {len(self.values)} values")

    def __len__(self) -> int:
        return len(self.handles)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldChange):
            return NotImplemented
        return (np.array_equal(self.handles, other.handles)
                and _values_equal(self.values, other.values))

    def __repr__(self) -> str:
        return f"FieldChange(handles={self.handles.tolist()}, values={self.values.tolist()})"


def _values_equal(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype == object or b.dtype == object:
        return a.shape == b.shape and all(x == y for x, y in zip(a.tolist(), b.tolist()))
    return a.shape == b.shape and np.array_equal(a, b)


_EMPTY_HANDLES = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True, eq=False)
class Changeset:
    """One committed tick (``kind="diff"``) or a whole state (``kind="snapshot"``).

    ``base`` is the revision a diff applies on top of (a snapshot has ``base=None``);
    ``revision`` the revision after it. ``schema`` lists the property types it introduces
    (a snapshot: all of them). ``unset`` lists, per property field, nodes that lost it.
    """

    kind: str
    base: int | None
    revision: int
    time_ms: int
    schema: tuple[tuple[str, PropertyType], ...] = ()
    added: np.ndarray = field(default_factory=lambda: _EMPTY_HANDLES)
    added_ids: tuple[str, ...] = ()
    removed: np.ndarray = field(default_factory=lambda: _EMPTY_HANDLES)
    fields: Mapping[str, FieldChange] = field(default_factory=dict)
    unset: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ("diff", "snapshot"):
            raise ValueError(f"kind must be 'diff' or 'snapshot', not {self.kind!r}")
        if (self.kind == "snapshot") != (self.base is None):
            raise ValueError("a snapshot has base=None and a diff has an integer base")
        if len(self.added) != len(self.added_ids):
            raise ValueError("added and added_ids differ in length")

    @property
    def is_empty(self) -> bool:
        return (not len(self.added) and not len(self.removed) and not self.fields
                and not self.unset and not self.schema)

    def changed_count(self) -> int:
        """How many (node, field) values this changeset carries."""
        return sum(len(f) for f in self.fields.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Changeset):
            return NotImplemented
        return (self.kind == other.kind and self.base == other.base
                and self.revision == other.revision and self.time_ms == other.time_ms
                and dict(self.schema) == dict(other.schema)
                and np.array_equal(self.added, other.added) and self.added_ids == other.added_ids
                and np.array_equal(self.removed, other.removed)
                and dict(self.fields) == dict(other.fields)
                and self.unset.keys() == other.unset.keys()
                and all(np.array_equal(v, other.unset[k]) for k, v in self.unset.items()))

    def __repr__(self) -> str:
        return (f"Changeset({self.kind} {self.base}->{self.revision} t={self.time_ms} "
                f"+{len(self.added)} -{len(self.removed)} "
                f"fields={ {k: len(v) for k, v in self.fields.items()} } "
                f"unset={ {k: len(v) for k, v in self.unset.items()} })")


def merge(changesets: Iterable[Changeset]) -> Changeset:
    """One changeset equal to applying ``changesets`` in order (they must be consecutive).

    Nodes added and removed inside the range vanish; fields keep the last write; a property
    set and later unset (or the reverse) keeps what happened last. Starting with a snapshot
    gives a snapshot.
    """
    css = list(changesets)
    if not css:
        raise ValueError("merge() needs at least one changeset")
    for a, b in zip(css, css[1:]):
        if b.kind == "snapshot":
            raise ValueError(f"cannot merge across a snapshot (revision {b.revision})")
        if b.base != a.revision:
            raise ValueError(f"changesets are not consecutive: {a.revision} then base {b.base}")
    if len(css) == 1:
        return css[0]
    first, last = css[0], css[-1]

    removed_all = np.concatenate([c.removed for c in css])
    added_all = np.concatenate([c.added for c in css])
    added_ids = [i for c in css for i in c.added_ids]
    gone = np.unique(removed_all)
    keep_added = ~np.isin(added_all, gone)
    added = added_all[keep_added]
    added_ids_kept = [i for i, k in zip(added_ids, keep_added) if k]
    order = np.argsort(added, kind="stable")
    added = added[order]
    added_ids_kept = tuple(added_ids_kept[i] for i in order)
    removed = np.setdiff1d(gone, added_all)  # removed nodes that existed before the range
    fresh = added if first.kind == "diff" else None  # nodes whose absence is the default

    names = list(dict.fromkeys(n for c in css for n in list(c.fields) + list(c.unset)))
    fields: dict[str, FieldChange] = {}
    unset: dict[str, np.ndarray] = {}
    for name in names:
        segments: list[tuple[np.ndarray, np.ndarray | None]] = []
        template = None
        for c in css:
            fc = c.fields.get(name)
            if fc is not None:
                segments.append((fc.handles, fc.values))
                template = fc.values
            un = c.unset.get(name)
            if un is not None and len(un):
                segments.append((un, None))
        h = np.concatenate([s[0] for s in segments])
        flags = np.concatenate([np.full(len(s[0]), s[1] is None) for s in segments])
        # Last write per handle: unique over the reversed sequence finds last occurrences.
        rev_idx = len(h) - 1 - np.unique(h[::-1], return_index=True)[1]
        h_last = h[rev_idx]
        alive = ~np.isin(h_last, gone)
        rev_idx, h_last = rev_idx[alive], h_last[alive]
        un_mask = flags[rev_idx]
        if un_mask.any() and first.kind == "diff":
            keep_unset = un_mask & ~np.isin(h_last, fresh)
            if keep_unset.any():
                unset[name] = h_last[keep_unset]
        set_mask = ~un_mask
        if template is None or not set_mask.any():
            continue
        parts = [v if v is not None else _placeholder(len(hh), template) for hh, v in segments]
        if template.dtype == object:
            allv = objarray(x for p in parts for x in p)
        else:
            allv = np.concatenate(parts)
        fields[name] = FieldChange(h_last[set_mask], allv[rev_idx[set_mask]])

    schema = tuple(s for c in css for s in c.schema)
    return Changeset(kind=first.kind, base=first.base, revision=last.revision,
                     time_ms=last.time_ms, schema=schema, added=added,
                     added_ids=added_ids_kept, removed=removed, fields=fields, unset=unset)


def _placeholder(n: int, template: np.ndarray) -> np.ndarray:
    return np.zeros((n,) + template.shape[1:], dtype=template.dtype)
