"""Filtered views of the scene: a subscription to some layers (tags) and/or an area box.

A view holds the nodes that carry one of its tags (all nodes when it names none) and whose
world position lies in its box (when it has one), **plus all their ancestors**, so a client's
replica is always a well-formed tree. Each tick the view turns the scene's changeset into its
own: nodes entering the view arrive whole (``added`` with all their fields), nodes leaving it
are ``removed``, nodes staying carry the changes the scene's changeset has for them, and
child lists are filtered to the view. A client that applies a view's snapshot and its diffs
holds exactly the scene's state restricted to the view (tests/streaming/test_views.py).

One view serves every client with the same filter: its diff is computed and encoded once.
"""

from __future__ import annotations

import numpy as np

from scene import Changeset, FieldChange, ROOT, Scene, objarray

__all__ = ["View", "view_key"]


def view_key(tags: list[str] | None, box: list[float] | None) -> tuple:
    return (tuple(sorted(tags)) if tags else None, tuple(box) if box else None)


class View:
    def __init__(self, scene: Scene, tags: list[str] | None = None,
                 box: list[float] | None = None):
        if box is not None and (len(box) != 6 or any(box[i] > box[i + 3] for i in range(3))):
            raise ValueError("box is [xmin, ymin, zmin, xmax, ymax, zmax]")
        self.scene = scene
        self.tags = frozenset(tags) if tags else None
        self.box = np.asarray(box, dtype=float) if box is not None else None
        self.members = np.zeros(0, dtype=np.int64)
        self._kids: dict[int, tuple[int, ...]] = {}     # filtered child lists as sent
        self._parent: dict[int, int] = {}               # child -> parent as sent

    # ------------------------------------------------------------------ membership

    def _members(self) -> np.ndarray:
        s = self.scene
        if self.tags is None:
            chosen = s.live_handles()
        else:
            chosen = np.unique(np.concatenate(
                [s.tagged_handles(t) for t in self.tags] + [np.zeros(0, np.int64)]))
        if self.box is not None and len(chosen):
            pos = s.world_matrices(chosen)[:, :3, 3]
            inside = ((pos >= self.box[:3]) & (pos <= self.box[3:])).all(axis=1)
            chosen = chosen[inside]
        # Ancestors, level by level (vectorised): the tree must stay whole.
        members = set(chosen.tolist())
        frontier = chosen
        while len(frontier):
            parents = s.parent_handles(frontier)
            parents = parents[parents > ROOT]
            fresh = [p for p in np.unique(parents).tolist() if p not in members]
            members.update(fresh)
            frontier = np.asarray(fresh, dtype=np.int64)
        return np.asarray(sorted(members), dtype=np.int64)

    def _filtered_kids(self, h: int, member: set[int]) -> tuple[int, ...]:
        return tuple(k for k in self.scene.child_handles(h) if k in member)

    # ------------------------------------------------------------------ frames

    def snapshot(self, store: bool = True) -> Changeset:
        """The view's whole state now (its clients start here). ``store=False`` leaves the
        view's memory of what its clients hold untouched (a late joiner between ticks)."""
        s = self.scene
        members = self._members()
        member = set(members.tolist())
        fields = s.state_of(members)
        holders = [ROOT] + members.tolist()
        kids = {h: self._filtered_kids(h, member) for h in holders}
        with_kids = [h for h in holders if kids[h]]
        fields.pop("kids", None)
        if with_kids:
            fields["kids"] = FieldChange(np.asarray(with_kids, dtype=np.int64),
                                         objarray(kids[h] for h in with_kids))
        if store:
            self.members = members
            self._kids = {h: k for h, k in kids.items() if k}
            self._parent = {c: h for h, ks in self._kids.items() for c in ks}
        return Changeset(kind="snapshot", base=None, revision=s.revision, time_ms=s.time_ms,
                         schema=tuple(s.schema.items()), added=members,
                         added_ids=tuple(s.ids_of(members.tolist())),
                         removed=np.zeros(0, dtype=np.int64), fields=fields)

    def diff(self, cs: Changeset) -> Changeset:
        """The scene's changeset as this view's clients see it."""
        s = self.scene
        old, new = self.members, self._members()
        member = set(new.tolist())
        removed = np.setdiff1d(old, new)
        added = np.setdiff1d(new, old)
        stayed = np.intersect1d(old, new)
        fields: dict[str, FieldChange] = {}
        for name, fc in cs.fields.items():
            if name == "kids":
                continue
            keep = np.isin(fc.handles, stayed)
            if keep.any():
                fields[name] = FieldChange(fc.handles[keep], fc.values[keep])
        for name, fc in s.state_of(added).items():
            if name == "kids":
                continue
            if name in fields:
                h = np.concatenate([fields[name].handles, fc.handles])
                order = np.argsort(h, kind="stable")
                v = np.concatenate([fields[name].values, fc.values])
                fields[name] = FieldChange(h[order], v[order])
            else:
                fields[name] = fc
        # Child lists that may differ from what the view's clients hold.
        candidates = {ROOT}
        candidates.update(self._parent.get(r, ROOT) for r in removed.tolist())
        candidates.update(s.parent_handles(added).tolist())
        candidates.update(added.tolist())
        if "kids" in cs.fields:
            candidates.update(cs.fields["kids"].handles.tolist())
        if "parent" in cs.fields:
            for h in cs.fields["parent"].handles.tolist():
                if h in member:
                    candidates.add(int(s.parent_handles([h])[0]))
                candidates.add(self._parent.get(h, ROOT))
        kid_h, kid_v = [], []
        for h in sorted(c for c in candidates if c == ROOT or c in member):
            k = self._filtered_kids(h, member)
            if k != self._kids.get(h, ()):
                kid_h.append(h)
                kid_v.append(k)
                if k:
                    self._kids[h] = k
                else:
                    self._kids.pop(h, None)
        for r in removed.tolist():
            self._kids.pop(r, None)
        if kid_h:
            fields["kids"] = FieldChange(np.asarray(kid_h, dtype=np.int64), objarray(kid_v))
        self._parent = {c: h for h, ks in self._kids.items() for c in ks}
        unset = {}
        for name, h in cs.unset.items():
            keep = h[np.isin(h, stayed)]
            if len(keep):
                unset[name] = keep
        self.members = new
        return Changeset(kind="diff", base=cs.base, revision=cs.revision, time_ms=cs.time_ms,
                         schema=cs.schema, added=added,
                         added_ids=tuple(s.ids_of(added.tolist())), removed=removed,
                         fields=fields, unset=unset)
