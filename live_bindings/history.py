"""Observation history in SQLite (WAL), with retention, and range queries downsampled for
charts (the viewer's "last hours" of a sensor).

Series: a monitoring point's numeric value (key = point code), each numeric equipment
parameter (key = ``<equipment id>/<param>``), the window figures a mine's system reports
(TJSJ: ``<point>/max``, ``<point>/min``, ``<point>/mean``) and values the twin derives, such as headcounts
(``headcount/<area code>``, ``headcount/underground``). Each tick's batch is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from twin import Observation, open_sqlite

__all__ = ["History", "Sample", "Bucket"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    series TEXT NOT NULL, t INTEGER NOT NULL, value REAL NOT NULL, state INTEGER NOT NULL,
    PRIMARY KEY (series, t)) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class Sample:
    t: int
    value: float
    state: int


@dataclass(frozen=True, slots=True)
class Bucket:
    """A time bucket of a downsampled series: its start, the min, max and mean, and how
    many samples it holds."""

    t: int
    min: float
    max: float
    mean: float
    count: int


class History:
    def __init__(self, path: str | Path = ":memory:", *, retention_days: float = 90.0):
        self.db = open_sqlite(path, _SCHEMA, synchronous="NORMAL")
        self.retention_ms = int(retention_days * 86_400_000)

    @staticmethod
    def _rows(observations: Iterable[Observation]):
        for o in observations:
            v = o.value
            if isinstance(v, bool):
                v = 1.0 if v else 0.0
            elif not isinstance(v, (int, float)):
                continue
            if o.kind == "point":
                yield (o.key, o.time_ms, float(v), o.state)
            elif o.kind in ("equipment", "statistic") and o.param:
                yield (f"{o.key}/{o.param}", o.time_ms, float(v), o.state)

    def record(self, observations: Iterable[Observation]) -> int:
        """Store a batch (one transaction); a repeated (series, time) keeps the last value."""
        rows = list(self._rows(observations))
        if rows:
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO samples VALUES (?,?,?,?)", rows)
        return len(rows)

    def record_values(self, rows: Iterable[tuple[str, int, float]]) -> int:
        """Store derived values (series, time, value) in one transaction."""
        rows = [(k, int(t), float(v), 0) for k, t, v in rows]
        if rows:
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO samples VALUES (?,?,?,?)", rows)
        return len(rows)

    def query(self, series: str, t0: int, t1: int, max_points: int = 500
              ) -> list[Sample] | list[Bucket]:
        """Samples of ``series`` in [t0, t1]; when there are more than ``max_points``, buckets
        of equal duration (min/max/mean per bucket) instead, at most ``max_points`` of them."""
        if t1 < t0 or max_points < 1:
            raise ValueError("need t0 <= t1 and max_points >= 1")
        (n,) = self.db.execute("SELECT count(*) FROM samples WHERE series=? AND t BETWEEN ? AND ?",
                               (series, t0, t1)).fetchone()
        if n <= max_points:
            return [Sample(*r) for r in self.db.execute(
                "SELECT t, value, state FROM samples WHERE series=? AND t BETWEEN ? AND ? "
                "ORDER BY t", (series, t0, t1))]
        width = -(-(t1 - t0 + 1) // max_points)       # ceiling: at most max_points buckets
        return [Bucket(t0 + b * width, lo, hi, mean, count) for b, lo, hi, mean, count in
                self.db.execute(
                    "SELECT (t - ?) / ?, min(value), max(value), avg(value), count(*) "
                    "FROM samples WHERE series=? AND t BETWEEN ? AND ? GROUP BY 1 ORDER BY 1",
                    (t0, width, series, t0, t1))]

    def latest(self, series: Iterable[str]) -> dict[str, Sample]:
        """The newest sample of each of ``series`` that has one (an index lookup each)."""
        out = {}
        for k in series:
            row = self.db.execute("SELECT t, value, state FROM samples WHERE series=? "
                                  "ORDER BY t DESC LIMIT 1", (k,)).fetchone()
            if row is not None:
                out[k] = Sample(*row)
        return out

    def series(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT series FROM samples ORDER BY 1")]

    def prune(self, now_ms: int) -> int:
        """Drop samples older than the retention; returns how many went."""
        with self.db:
            cur = self.db.execute("DELETE FROM samples WHERE t < ?", (now_ms - self.retention_ms,))
        return cur.rowcount

    def close(self) -> None:
        self.db.close()
