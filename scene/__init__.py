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
from ._backoff import Backoff
from ._lazy import lazy_exports

__all__ = ["Backoff", "Scene", "Node", "Visual", "PropertyValue", "PropertyType", "MeshRef", "ROOT",
           "ROOT_ID", "Changeset", "FieldChange", "merge", "Replica", "scenes_equal",
           "SceneError", "LocalError", "RemoteError", "NodeNotFoundError", "DuplicateNodeError",
           "HierarchyError", "PropertyTypeError", "UncommittedChangesError", "ReplicaError",
           "GltfError", "WireError", "lazy_exports", "objarray", "export_glb", "import_gltf",
           "WireDecoder", "WireEncoder"]

#: What other rooms use from inside this one, loaded when first asked for (so importing
#: the room stays cheap): name -> the module that defines it.
_LAZY = {
    "objarray": "changes",
    "export_glb": "gltf",
    "import_gltf": "gltf",
    "WireDecoder": "wire",
    "WireEncoder": "wire",
}

__getattr__ = lazy_exports(__name__, _LAZY)
