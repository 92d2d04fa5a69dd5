"""The wire protocol, the server, HTTP for the viewer and assets, fan-out, recording and
replay. Built by the streaming issue; it sends the scene's wire form (``scene.wire``)."""

__all__: list[str] = []
