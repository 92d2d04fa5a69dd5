"""Reading the project's TOML files (a mine's bindings, rules, scenarios, hazards and views;
the uplink's dialects, destinations and gas formats): one way to read, one way to refuse a key
nobody reads — a misspelt key is an error naming the file and the key, never a silently
ignored setting (DESIGN.md "Config")."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Iterable, Mapping

__all__ = ["read_toml", "check_keys"]


def read_toml(path: str | Path, error: type[Exception]) -> dict[str, Any]:
    """The document in ``path``; a missing, unreadable or invalid file raises ``error``
    naming the file."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise error(f"{path}: {exc}") from None


def check_keys(table: Mapping[str, Any], allowed: Iterable[str], where: str,
               error: type[Exception]) -> None:
    """Raise ``error`` (``where: unknown keys [...] (expected ...)``) if ``table`` has a key
    that is not ``allowed``."""
    allowed = sorted(allowed)
    bad = sorted(set(table) - set(allowed))
    if bad:
        raise error(f"{where}: unknown keys {bad} (expected {', '.join(allowed)})")
