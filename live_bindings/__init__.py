"""Feed adapters (pure decoders plus thin transports) and the bindings that turn
observations into scene changes.

Today: the default bindings derived from the mine model (``DefaultBindings``). Upload-file
decoders, MQTT and Redis Streams transports, declarative bindings, rules and alarms are the
live-bindings issue's remaining work.
"""

from .defaults import SENSOR_COLORS, DefaultBindings

__all__ = ["DefaultBindings", "SENSOR_COLORS"]
