"""The mine: its model (``model.py``) loaded from a mine folder (``minefolder.py``), the
roadway network, the KJ upload-file format (``kj_format.py``), observations and the feed
queue, the geological model and hazard zones (``geology/``), the simulator (``sim/``) and the
demo mine (``demo/``), the mine's scene (``scene_build.py``) and the tick loop (``tick.py``).
The wiring of all rooms into one process is ``minetwin/``.
"""

from .tick import TickLoop, TickStats

__all__ = ["TickLoop", "TickStats"]
