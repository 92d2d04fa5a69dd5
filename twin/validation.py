"""One validation of every observation, before bindings, rules and history alike.

Every feed (upload files, MQTT, Redis Streams, the simulator) hands the tick observations;
the tick passes them through :class:`ObservationGate` first, and what it refuses reaches
*none* of the scene, the rules, the alarm book, the uplink or the history: a reading the
picture does not show must not raise an alarm either. A refusal is counted by source and
reason (``minetwin_observations_refused_total{source,reason}``), logged once per burst, and
the raw observation is kept (``refused.jsonl``) where it can be looked at.

| reason | refused when |
| --- | --- |
| ``unknown point`` / ``unknown reader`` / ``unknown outstation`` / ``unknown equipment`` | the key is not in the mine model (an unknown *card* is still a person underground: it passes, and the bindings count it) |
| ``unknown area`` | a reported overcrowding (RYCY) names an area the model does not have |
| ``not a number`` | an analog point's value, or a statistic, is not a finite number; a report's peak is neither empty nor a finite number |
| ``outside the sensor's range`` | below the sensor's range low, or above its range high without the over-range bit (its CDDY definition); without a range, outside what the unit allows (0–100 %, ≥ 0 ppm) |
| ``in the future`` | dated more than ``max_future_s`` after now (the wall clock, or the simulator's clock when it runs ahead) |
| ``time out of range`` | dated before 2000-01-01 or not an integer of epoch milliseconds |
| ``bad state`` | a state outside 0 … 255 for points, 0 … 2³¹ − 1 otherwise |
| ``bad position`` | a position or distance that is not finite |
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterable

from .kj_format import KEY_SYSTEMS
from .model import MineModel
from .observation import POINT_STATE, Observation
from .sensor_types import quantity_of

__all__ = ["ObservationGate", "REFUSAL_REASONS", "source_kind"]

log = logging.getLogger("minetwin.validation")

REFUSAL_REASONS = ("unknown point", "unknown reader", "unknown outstation", "unknown equipment",
                   "unknown area", "not a number", "outside the sensor's range", "in the future",
                   "time out of range", "bad state", "bad position")
#: 2000-01-01T00:00:00Z: nothing a mine's systems send today is older.
EARLIEST_MS = 946_684_800_000
_MAX_STATE = 2**31 - 1
#: What a unit allows when the sensor's definition gives no range (an editable default).
_UNIT_BOUNDS = {"%": (0.0, 100.0), "ppm": (0.0, 1_000_000.0), "mg/m³": (0.0, None)}
_LOG_EVERY_S = 10.0


def source_kind(source: str) -> str:
    """The label a source is counted under: ``mqtt``, ``redis``, ``file``, ``sim`` …"""
    return source.split(":", 1)[0] or "unknown"


class ObservationGate:
    """Checks observations against the mine model and the clock; see the module doc."""

    def __init__(self, model: MineModel, *, max_future_s: float = 300.0,
                 clock: Callable[[], int] | None = None, keep: str | Path | None = None,
                 keep_max_bytes: int = 50_000_000):
        self.model = model
        self.max_future_ms = int(max_future_s * 1000)
        self._clock = clock or (lambda: int(time.time() * 1000))
        self.refused: Counter[tuple[str, str]] = Counter()     # (source kind, reason) -> n
        self.accepted = 0
        self._keep = Path(keep) if keep is not None else None
        self._keep_max = keep_max_bytes
        self._next_log = 0.0
        self._unlogged = 0
        self._points = {}
        for code, s in model.sensors.items():
            q = quantity_of(s.type_code)
            lo, hi = s.range
            if q.kind == "analog" and lo is None and hi is None:
                lo, hi = _UNIT_BOUNDS.get(s.unit or q.unit or "", (None, None))
            self._points[code] = (q.kind in ("analog", "cumulative"), lo, hi)
        self._known = {"reader": model.readers, "outstation": model.outstations,
                       "equipment": model.equipment}
        self._faces, self._headings = model.longwalls, model.headings

    def _working(self, key: str) -> bool:
        """A face's or heading's own reports (its advance, its goaf) come as equipment
        ``face:<id>`` / ``heading:<id>``."""
        kind, _, ident = key.partition(":")
        return ident in (self._faces if kind == "face" else
                         self._headings if kind == "heading" else ())

    def reason(self, o: Observation, now_ms: int) -> str | None:
        """Why ``o`` is refused, or None when it passes."""
        t = o.time_ms
        if not isinstance(t, int) or isinstance(t, bool) or t < EARLIEST_MS:
            return "time out of range"
        if t > now_ms + self.max_future_ms:
            return "in the future"
        if not isinstance(o.state, int) or not 0 <= o.state <= (
                255 if o.kind == "point" else _MAX_STATE):
            return "bad state"
        if o.position is not None and not all(
                isinstance(c, (int, float)) and math.isfinite(c) for c in o.position):
            return "bad position"
        if o.distance_m is not None and not math.isfinite(o.distance_m):
            return "bad position"
        if o.kind == "point":
            p = self._points.get(o.key)
            if p is None:
                return "unknown point"
            numeric, lo, hi = p
            if numeric:
                v = o.value
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    return "not a number"
                if lo is not None and v < lo or \
                        hi is not None and v > hi and not o.state & POINT_STATE["over_range"]:
                    return "outside the sensor's range"
        elif o.kind == "statistic":
            if o.key not in self._points:
                return "unknown point"
            v = o.value
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                return "not a number"
        elif o.kind == "report":
            return self._report(o)
        elif o.kind in self._known and o.key not in self._known[o.kind] and \
                not (o.kind == "equipment" and self._working(o.key)):
            return f"unknown {o.kind}"
        return None

    def _report(self, o: Observation) -> str | None:
        """A mine system's abnormal or alarm record: about a known point (or outstation:
        YCBJ 005/006), area (RYCY), machine (a key-equipment system's ``TF/<point>`` …), or
        any card (an unknown card is still a person)."""
        ftype = (o.param or "").split("/", 1)[0]
        if ftype == "YCBJ" and o.key not in self._points and \
                o.key not in self.model.outstations:
            return "unknown point"
        if ftype == "RYCY" and o.key not in self.model.areas:
            return "unknown area"
        if ftype in KEY_SYSTEMS and o.key not in self.model.equipment:    # MT/T 1201.2
            return "unknown equipment"
        v = o.value
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                              or not math.isfinite(v)):
            return "not a number"
        return None

    def check(self, observations: Iterable[Observation]) -> list[Observation]:
        """The observations that pass; the others are counted, kept and logged."""
        now_ms = self._clock()
        out, bad = [], []
        for o in observations:
            r = self.reason(o, now_ms)
            if r is None:
                out.append(o)
            else:
                bad.append((o, r))
        self.accepted += len(out)
        if bad:
            self._refuse(bad)
        return out

    def _refuse(self, bad: list[tuple[Observation, str]]) -> None:
        for o, r in bad:
            self.refused[(source_kind(o.source), r)] += 1
        self._unlogged += len(bad)
        now = time.monotonic()
        if now >= self._next_log:          # once per burst, not once per reading
            o, r = bad[0]
            log.warning("refused %d observation(s) (e.g. %s %s %r from %s: %s)%s",
                        self._unlogged, o.kind, o.key, o.value, o.source, r,
                        f"; kept in {self._keep}" if self._keep else "")
            self._unlogged = 0
            self._next_log = now + _LOG_EVERY_S
        if self._keep is None:
            return
        try:
            self._keep.parent.mkdir(parents=True, exist_ok=True)
            if self._keep.exists() and self._keep.stat().st_size > self._keep_max:
                self._keep.replace(self._keep.with_name(self._keep.name + ".1"))  # one old file
            with open(self._keep, "a", encoding="utf-8") as f:
                for o, r in bad:
                    f.write(json.dumps({"reason": r, **asdict(o)}, ensure_ascii=False,
                                       default=repr) + "\n")
        except OSError as exc:
            log.error("cannot keep refused observations in %s: %s", self._keep, exc)

    def refused_total(self) -> int:
        return sum(self.refused.values())
