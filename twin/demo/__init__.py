"""The demo mine: the generator that writes a complete mine folder (``generator.py``,
deterministic by seed) and the hidden geological truth it samples (``truth.py``), which
tests and benchmarks measure the model against."""

from .generator import generate_demo

__all__ = ["generate_demo"]
