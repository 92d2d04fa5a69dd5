"""Observations: the one type every feed produces (upload files, MQTT, Redis Streams, the
simulator), and the bounded queue the tick drains.

The tick never blocks on a feed: producers ``put`` into a bounded ``FeedQueue`` and the tick
``drain``s what is there. A full queue refuses the observation and counts it — the producer
knows, and the metrics show it; nothing is dropped silently.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Iterable

__all__ = ["Observation", "FeedQueue", "KINDS", "POINT_STATE", "CARD_STATE"]

KINDS = ("point", "card", "equipment", "reader", "outstation", "event", "exposure", "report",
         "statistic")

#: CDSS point state bits (REFERENCE.md §3).
POINT_STATE = {"alarm": 1, "power_off": 2, "calibrating": 4, "over_range": 8,
               "outstation_fault": 16, "not_polled": 32, "paused": 64, "sensor_fault": 128}

#: Card state bits of our own (personnel files carry vendor-specific alarm kinds).
CARD_STATE = {"sos": 1}


@dataclass(frozen=True, slots=True)
class Observation:
    """One reading.

    ``kind`` says what ``key`` names: a monitoring ``point`` code, a person's ``card`` code,
    an ``equipment`` id (with ``param``), a ``reader`` or ``outstation`` code (``value``:
    online; ``state``: run state | power state << 4), or an ``event`` (a scenario happening:
    ``param`` its type, ``place`` where). ``value`` is a number, a bool (switches)
    or text; ``unit`` as the source states it; ``state`` the source's status bits.
    Personnel observations carry where the card was seen: ``reader`` and ``distance_m``
    (signed, metres along the reader's roadway), ``area``, and ``position`` (x, y, z in local
    metres) when precise positioning gives one; ``value`` is True while underground.

    What a mine's own systems report as records (upload files YCBJ, RYCS, RYCY, RYXZ, RYQJ,
    TJSJ; REFERENCE.md §3a): a ``report`` is an abnormal or alarm the system raised — ``key``
    the point, card or area it is about, ``param`` ``"<file type>/<type code>"`` (``YCBJ/001``,
    ``RYCS``), ``since_ms`` when it began, ``state`` 1 while it lasts and 0 once it has
    ended (``time_ms`` then its end), ``value`` its peak or headcount (None for a switch);
    a ``statistic`` is a point's window figure — ``param`` ``max``/``min``/``mean``,
    ``since_ms`` the window's start, ``time_ms`` its end (or the time of the max/min).
    """

    source: str
    kind: str
    key: str
    time_ms: int
    value: float | bool | str | None
    unit: str | None = None
    state: int = 0
    param: str | None = None
    reader: str | None = None
    distance_m: float | None = None
    area: str | None = None
    position: tuple[float, float, float] | None = None
    place: str | None = None
    since_ms: int | None = None


class FeedQueue:
    """A bounded, thread-safe queue of observations between feeds and the tick."""

    def __init__(self, maxsize: int = 1_000_000):
        self.maxsize = maxsize
        self._q: deque[Observation] = deque()
        self._lock = threading.Lock()
        self.accepted = 0
        self.refused = 0
        self.taken = 0              # observations drained so far (their positions: 0 … taken)

    def put(self, obs: Observation) -> bool:
        with self._lock:
            if len(self._q) >= self.maxsize:
                self.refused += 1
                return False
            self._q.append(obs)
            self.accepted += 1
            return True

    def put_many(self, items: Iterable[Observation]) -> int:
        """Queue as many as fit; returns how many were accepted (the rest are counted)."""
        return self.put_many_at(items)[0]

    def put_many_at(self, items: Iterable[Observation]) -> tuple[int, int]:
        """``put_many``, and the position just past the last one queued: once ``taken``
        reaches it (and the tick that took them is done), they were all processed — what a
        feed waits for before it acknowledges a message to its source."""
        with self._lock:
            n = 0
            for obs in items:
                if len(self._q) >= self.maxsize:
                    self.refused += 1
                    continue
                self._q.append(obs)
                n += 1
            self.accepted += n
            return n, self.accepted

    def drain(self, max_items: int | None = None) -> list[Observation]:
        with self._lock:
            n = len(self._q) if max_items is None else min(max_items, len(self._q))
            self.taken += n
            return [self._q.popleft() for _ in range(n)]

    def __len__(self) -> int:
        return len(self._q)
