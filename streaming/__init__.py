"""The streaming protocol (pure, ``protocol.py``), the server (``server.py``, the only
server-side module that imports websockets) and the Python client (``client.py``).
docs/protocol.md describes the protocol; the scene's wire frames it carries are in
docs/wire.md. HTTP endpoints, recording and replay, and the Redis gateway arrive with the
rest of the streaming issue.
"""

from .protocol import PROTOCOL_VERSION, ROLES, SUBPROTOCOL, ProtocolError
from scene import lazy_exports

__all__ = ["PROTOCOL_VERSION", "SUBPROTOCOL", "ROLES", "ProtocolError", "StreamClient",
           "FramePublisher", "Gateway", "HttpApi", "Recorder", "StreamServer"]

#: What other rooms use from inside this one, loaded when first asked for (so importing
#: the room stays cheap): name -> the module that defines it.
_LAZY = {
    "StreamClient": "client",
    "FramePublisher": "gateway",
    "Gateway": "gateway",
    "HttpApi": "http",
    "Recorder": "recording",
    "StreamServer": "server",
}

__getattr__ = lazy_exports(__name__, _LAZY)
