"""The one place where MineTwin's z-up mine grid meets glTF's y-up convention.

The scene is right-handed with x east, y north, z up (DESIGN.md "Coordinates"); glTF 2.0 is
right-handed y-up (glTF 2.0 §3.4). The change is a rotation of -90° about x:
(x, y, z)_scene → (x, z, -y)_glTF. It is applied to the *top-level* nodes of a glTF scene
only: everything below them (child transforms, mesh vertices) stays in its own local frame,
so meshes are stored as they are and a round trip is exact.

The browser viewer applies the same rotation once, to the group that holds the scene.
"""

from __future__ import annotations

import numpy as np

from . import _math

__all__ = ["SCENE_TO_GLTF", "GLTF_TO_SCENE", "scene_to_gltf_trs", "gltf_to_scene_trs"]

_H = np.sqrt(0.5)
#: Quaternion (x, y, z, w) taking scene (z-up) coordinates to glTF (y-up) ones.
SCENE_TO_GLTF = np.array([-_H, 0.0, 0.0, _H])
#: Its inverse.
GLTF_TO_SCENE = np.array([_H, 0.0, 0.0, _H])

_M_SCENE_TO_GLTF = _math.quat_to_matrix(SCENE_TO_GLTF[None])[0]


def _apply(q_axes: np.ndarray, t, r, s):
    m = _math.quat_to_matrix(q_axes[None])[0]
    t2 = m @ np.asarray(t, float)
    r2 = _math.quat_multiply(q_axes, np.asarray(r, float))
    r2 /= np.linalg.norm(r2)
    if r2[3] < 0:  # q and -q are the same rotation; keep w >= 0 for stable comparisons
        r2 = -r2
    return t2, r2, np.asarray(s, float)


def scene_to_gltf_trs(t, r, s):
    """A top-level node's TRS in the scene → its TRS in a glTF file."""
    return _apply(SCENE_TO_GLTF, t, r, s)


def gltf_to_scene_trs(t, r, s):
    """A top-level glTF node's TRS → its TRS in the scene."""
    return _apply(GLTF_TO_SCENE, t, r, s)
