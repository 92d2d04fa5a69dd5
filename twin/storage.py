"""The embedded databases' one way in (DESIGN.md "Storage and scale": observation history,
alarms, the upload inbox's ledger and the uplink's outbox are SQLite files)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["open_sqlite"]


def open_sqlite(path: str | Path, schema: str, *, synchronous: str | None = None
                ) -> sqlite3.Connection:
    """A connection to ``path`` (``":memory:"`` for none) in WAL mode — readers never block
    the writer — with ``schema`` (``CREATE … IF NOT EXISTS`` statements) applied. Its folder
    is made when missing. ``synchronous``: SQLite's ``PRAGMA synchronous`` (``"NORMAL"``
    where losing the last transactions on power loss is acceptable, e.g. the history)."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path))
    db.execute("PRAGMA journal_mode=WAL")
    if synchronous is not None:
        db.execute(f"PRAGMA synchronous={synchronous}")
    db.executescript(schema)
    db.commit()
    return db
