"""The mine twin: configuration, the tick loop that drives the scene, and the CLI.

The mine model, geology, rules and alarms, the simulator and the demo mine arrive with their
issues; the scene graph they drive lives in ``scene/``.
"""

from .config import Config, ConfigError, load_config
from .tick import TickLoop, TickStats

__all__ = ["Config", "ConfigError", "load_config", "TickLoop", "TickStats"]
