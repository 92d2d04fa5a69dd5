"""A replica: a scene rebuilt from a snapshot and the changesets after it.

This is what every client of the stream keeps (the Python client, the wall renderer, tests).
The core invariant (DESIGN.md "Revisions"): a replica that applied ``snapshot(r)`` and every
later changeset compares equal to the authority, at every revision.
"""

from __future__ import annotations

from .changes import Changeset
from .errors import ReplicaError
from .graph import Scene

__all__ = ["Replica", "scenes_equal"]


class Replica:
    """Applies changesets to its own ``scene`` (which it owns and never commits)."""

    def __init__(self, *, history_limit: int = 1):
        self._history_limit = history_limit
        self.scene = Scene(history_limit=history_limit)
        self.revision: int | None = None   # None until a snapshot has been applied

    @property
    def time_ms(self) -> int:
        return self.scene.time_ms

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
        self.scene.apply_changeset(cs)
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
