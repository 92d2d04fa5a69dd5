"""MineTwin's scene graph: nodes, transforms, components, tags, change log, revisions,
snapshots, diffs and replicas, spatial queries, the wire form and glTF import/export.

It knows nothing of mines: node ids, tags and properties are the twin's business.
"""

from .changes import Changeset, FieldChange, MeshRef, PropertyType, merge
from .errors import (DuplicateNodeError, GltfError, HierarchyError, LocalError,
                     NodeNotFoundError, PropertyTypeError, RemoteError, ReplicaError,
                     SceneError, UncommittedChangesError, WireError)
from .graph import ROOT, ROOT_ID, Node, PropertyValue, Scene, Visual
from .replica import Replica, scenes_equal

__all__ = [
    "Scene", "Node", "Visual", "PropertyValue", "PropertyType", "MeshRef", "ROOT", "ROOT_ID",
    "Changeset", "FieldChange", "merge", "Replica", "scenes_equal",
    "SceneError", "LocalError", "RemoteError", "NodeNotFoundError", "DuplicateNodeError",
    "HierarchyError", "PropertyTypeError", "UncommittedChangesError", "ReplicaError",
    "GltfError", "WireError",
]
