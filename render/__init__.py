"""Panda3D: the scene mirror and the offscreen renderer (``renderer.py``), the native wall
client (``wall.py``), alarm snapshots rendered by a worker process (``snapshots.py``) and the
shift report (``report.py``). It reads the scene through the streaming client and the
asset store. docs/rendering.md.
"""

from .renderer import PandaMirror, RenderError, Renderer

__all__ = ["PandaMirror", "RenderError", "Renderer", "CameraSpec", "draw_labels", "node_picture",
           "overview", "thumbnail", "ReportError", "build_report", "shift_window", "write_pdf",
           "SnapshotWorker", "run_wall"]

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
}


def __getattr__(name: str):
    """PEP 562: the names of ``_LAZY``, imported on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module
    value = getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
