"""Panda3D: the scene mirror and the offscreen renderer (``renderer.py``), the native wall
client (``wall.py``), the mine in plan as a picture (``plan.py``), alarm snapshots rendered by a worker process (``snapshots.py``) and the
shift report (``report.py``). It reads the scene through the streaming client and the
asset store. docs/rendering.md.
"""

from .renderer import PandaMirror, RenderError, Renderer
from scene import lazy_exports

__all__ = ["PandaMirror", "RenderError", "Renderer", "CameraSpec", "draw_labels", "node_picture",
           "overview", "thumbnail", "ReportError", "build_report", "shift_window", "write_pdf",
           "SnapshotWorker", "run_wall", "plan_picture", "plan_hidden", "plan_region"]

#: What other rooms use from inside this one, loaded when first asked for (so importing
#: the room stays cheap): name -> the module that defines it.
_LAZY = {
    "CameraSpec": "renderer",
    "draw_labels": "renderer",
    "node_picture": "renderer",
    "overview": "renderer",
    "thumbnail": "renderer",
    "ReportError": "report",
    "build_report": "report",
    "shift_window": "report",
    "write_pdf": "report",
    "SnapshotWorker": "snapshots",
    "run_wall": "wall",
    "plan_picture": "plan",
    "plan_hidden": "plan",
    "plan_region": "plan",
}

__getattr__ = lazy_exports(__name__, _LAZY)
