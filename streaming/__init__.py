"""The streaming protocol (pure, ``protocol.py``), the server (``server.py``, the only
server-side module that imports websockets) and the Python client (``client.py``).
docs/protocol.md describes the protocol; the scene's wire frames it carries are in
docs/wire.md. HTTP endpoints, recording and replay, and the Redis gateway arrive with the
rest of the streaming issue.
"""

from .protocol import PROTOCOL_VERSION, ROLES, SUBPROTOCOL, ProtocolError

__all__ = ["PROTOCOL_VERSION", "SUBPROTOCOL", "ROLES", "ProtocolError"]
