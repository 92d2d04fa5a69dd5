"""A replica: a scene rebuilt from a snapshot and the changesets after it.

This is what every client of the stream keeps (the Python client, the wall renderer, tests).
The core invariant (DESIGN.md "Revisions"): a replica that applied ``snapshot(r)`` and every
later changeset compares equal to the authority, at every revision.
"""

from __future__ import annotations

import numpy as np

from .changes import PROPERTY_PREFIX, Changeset
from .errors import ReplicaError
from .graph import ROOT, Scene

__all__ = ["Replica", "scenes_equal"]


class Replica:
    """Applies changesets to its own ``scene`` (which it owns and never commits)."""

    def __init__(self, *, history_limit: int = 1):
        self._history_limit = history_limit
        self.scene = Scene(history_limit=history_limit)
        self.revision: int | None = None   # None until a snapshot has been applied

    @property
    def time_ms(self) -> int:
        return self.scene._time_ms

    def apply(self, cs: Changeset) -> None:
        """Apply a snapshot (resets the replica) or the diff that follows its revision."""
        if cs.kind == "snapshot":
            self.scene = Scene(history_limit=self._history_limit,
                               capacity=int(cs.added.max()) + 1 if len(cs.added) else 64)
        elif self.revision is None:
            raise ReplicaError("a replica needs a snapshot before diffs")
        elif cs.base != self.revision:
            raise ReplicaError(f"diff {cs.base}->{cs.revision} does not follow revision "
                               f"{self.revision}; resynchronise with a snapshot")
        _apply(self.scene, cs)
        self.revision = cs.revision

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Replica):
            return self.revision == other.revision and scenes_equal(self.scene, other.scene)
        if isinstance(other, Scene):
            return self.revision == other.revision and scenes_equal(self.scene, other)
        return NotImplemented


def scenes_equal(a: Scene, b: Scene) -> bool:
    """Two scenes hold the same committed state (ids, handles, hierarchy, every field)."""
    return a.snapshot() == b.snapshot()


def _apply(scene: Scene, cs: Changeset) -> None:
    s = scene
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
