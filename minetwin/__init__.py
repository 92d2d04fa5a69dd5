"""The composition root: the one room that wires the others into one process (``app.py``,
the running twin), the ``minetwin`` command (``cli/``, one module per command group), the
configuration (``config.py``, read once into frozen values) and the Prometheus metrics
(``metrics.py``). Every other room imports only the rooms DESIGN.md's table names
(import-linter checks it: ``lint-imports``)."""

from .config import Config, ConfigError, load_config

__all__ = ["Config", "ConfigError", "load_config"]
