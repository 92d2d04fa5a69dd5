"""Panda3D: the scene mirror and the offscreen renderer (``renderer.py``), the native wall
client (``wall.py``), alarm snapshots rendered by a worker process (``snapshots.py``) and the
shift report (``report.py``). It reads the scene through the streaming client and the
asset store. docs/rendering.md.
"""

from .renderer import PandaMirror, RenderError, Renderer

__all__ = ["PandaMirror", "RenderError", "Renderer"]
