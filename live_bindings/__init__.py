"""Feed adapters (pure decoders plus thin transports) and the bindings that turn
observations into scene changes. Built by the live-bindings issue."""

__all__: list[str] = []
