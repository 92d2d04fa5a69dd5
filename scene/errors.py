"""Errors raised by the scene graph.

Whose fault it is decides the class (as h11 does): a ``LocalError`` is a misuse of the API by
our own code; a ``RemoteError`` is bad input from outside (a file, a peer's frame)::

    SceneError
    ├── LocalError
    │   ├── NodeNotFoundError     (also a KeyError) an id or handle that is not in the scene
    │   ├── DuplicateNodeError    an id that is already in the scene
    │   ├── HierarchyError        a move that would make a cycle, or touches the root
    │   ├── PropertyTypeError     a property set with a kind or unit other than its type
    │   ├── UncommittedChangesError  snapshot() with changes not yet committed
    │   └── ReplicaError          a changeset that does not follow the replica's revision
    └── RemoteError
        ├── GltfError             a glTF/GLB file that cannot be imported
        └── WireError             a frame that cannot be decoded
"""

from __future__ import annotations

__all__ = [
    "SceneError", "LocalError", "RemoteError", "NodeNotFoundError", "DuplicateNodeError",
    "HierarchyError", "PropertyTypeError", "UncommittedChangesError", "ReplicaError",
    "GltfError", "WireError",
]


class SceneError(Exception):
    """Base of every scene error."""


class LocalError(SceneError):
    """Our own code used the API wrongly."""


class RemoteError(SceneError):
    """Input from outside (a file, a peer) is malformed."""


class NodeNotFoundError(LocalError, KeyError):
    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "node not found"


class DuplicateNodeError(LocalError):
    pass


class HierarchyError(LocalError):
    pass


class PropertyTypeError(LocalError, TypeError):
    pass


class UncommittedChangesError(LocalError):
    pass


class ReplicaError(LocalError):
    pass


class GltfError(RemoteError):
    pass


class WireError(RemoteError):
    pass
