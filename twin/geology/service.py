"""The geological model inside the running twin: exposure observations in, new seam meshes
and predictions out — worked on a thread of its own, never in the tick.

Feeds report an exposure as an Observation of kind ``exposure``: ``key`` the seam,
``position`` (x, y, floor elevation) in the local grid, ``value`` the thickness (or None),
``param`` the source (``face:<id>``, ``roadway:<id>`` …). Face and heading advances
(``advanced_m`` of ``face:<id>`` / ``heading:<id>``) move the prediction ahead. The tick calls
:meth:`GeologyService.offer` with every batch and :meth:`GeologyService.apply` once; what the
worker finished meanwhile goes into the scene as ordinary edits (new mesh assets, new
properties), so viewers see the model change through the usual diffs.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter

import numpy as np

from .exposure import Exposures, GeologyModel, write_exposures
from .meshes import GeologyScene, apply_edits

__all__ = ["GeologyService"]

log = logging.getLogger("minetwin.geology")

#: A working's advance that makes its forecast again (m).
FORECAST_MOVE_M = 1.0


class GeologyService:
    def __init__(self, geo: GeologyModel, scene_maker: GeologyScene, *,
                 coalesce_s: float = 0.5, save_to=None, origin=(0.0, 0.0, 0.0),
                 tz: str = "Asia/Shanghai"):
        self.geo, self.maker = geo, scene_maker
        self.coalesce_s = coalesce_s
        self.save_to, self.origin, self.tz = save_to, origin, tz
        self._in: queue.SimpleQueue = queue.SimpleQueue()
        self._out: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.stats: Counter = Counter()
        self.last_update_s = 0.0
        self._pending = 0                      # items put and not yet worked through
        self._pending_lock = threading.Lock()
        self.forecasts: tuple = ()             # what lies ahead of each working (forecast.py)
        self.forecast_s = 0.0
        self._forecast_at: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name="geology", daemon=True)
        self._count(1)
        self._in.put(("forecast", None))       # the first forecasts, off the caller's thread
        self._thread.start()

    def _count(self, n: int) -> None:
        with self._pending_lock:
            self._pending += n

    # ---------------------------------------------------------------- tick side

    def offer(self, observations) -> None:
        """Take the exposures and advances out of a batch (cheap: the tick's part)."""
        rows, moved, fires = [], {}, []
        for o in observations:
            if o.kind == "event" and o.param == "fire" and o.place:
                fires.append((o.place, o.time_ms))
                continue
            if o.kind == "exposure":
                p = o.position
                if p is None or len(p) != 3 or not all(np.isfinite(p)):
                    self.stats["refused: exposure without a position"] += 1
                    continue
                th = o.value if isinstance(o.value, (int, float)) and not isinstance(
                    o.value, bool) else None
                rows.append((o.key, p[0], p[1], p[2], np.nan if th is None else float(th),
                             o.param or o.source, o.time_ms))
            elif o.kind == "equipment" and o.param == "advanced_m" and \
                    o.key.partition(":")[0] in ("face", "heading"):
                try:
                    moved[o.key] = float(o.value)
                except (TypeError, ValueError):
                    continue
        if rows:
            seam, x, y, z, th, src, t = zip(*rows)
            self._count(1)
            self._in.put(("exposures", Exposures.of(np.array(seam, object), np.c_[x, y], z, th,
                                                    np.array(src, object),
                                                    np.array(t, np.int64))))
            self.stats["exposure points"] += len(rows)
        if moved:
            self._count(1)
            self._in.put(("advance", moved))
        if fires:
            self._count(1)
            self._in.put(("fires", fires))

    def apply(self, scene, now_ms: int = 0) -> None:
        """A tick system: put what the worker finished into the scene."""
        while True:
            try:
                edits = self._out.get_nowait()
            except queue.Empty:
                return
            self.stats["scene updates"] += apply_edits(scene, edits)

    # ---------------------------------------------------------------- worker side

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._in.get(timeout=0.2)
            except queue.Empty:
                continue
            items = [first]
            deadline = time.monotonic() + self.coalesce_s
            while time.monotonic() < deadline:          # one update for a burst
                try:
                    items.append(self._in.get(timeout=max(deadline - time.monotonic(), 0.0)))
                except queue.Empty:
                    break
            try:
                self._update(items)
            except Exception:
                self.stats["update failures"] += 1
                log.exception("geology update failed")
            finally:
                self._count(-len(items))

    def _update(self, items) -> None:
        t0 = time.perf_counter()
        batch = Exposures.empty()
        fires = []
        for kind, payload in items:
            if kind == "exposures":
                batch = batch + payload
            elif kind == "fires":
                fires += payload
            elif kind == "advance":
                with self._lock:
                    self.maker.advance.update(payload)
        seams = []
        with self._lock:
            for b in batch.batches():
                for entry in self.geo.add(b):
                    if "refused" in entry:
                        self.stats["refused: unknown seam"] += entry["points"]
                        log.warning("exposure refused: %s", entry["refused"])
                    else:
                        seams.append(entry["seam"])
                        log.info("exposure %s %s: %d points, floor error before use %.3f m",
                                 entry["source"], entry["seam"], entry["points"],
                                 entry["floor_rmse_m"])
            if len(batch) and self.save_to is not None:
                write_exposures(self.save_to, self.geo.exposed, self.origin, self.tz)
            edits = self.maker.edits(sorted(set(seams)))
            for place, t in fires:
                self.stats["fire events"] += 1
                node = self.maker.fire_event_node(place, t, self.stats["fire events"])
                if node is not None:
                    edits.append(node)
                    log.warning("fire zone at %s", place)
            moved = any(abs(v - self._forecast_at.get(k, -1e9)) >= FORECAST_MOVE_M
                        for k, v in self.maker.advance.items())
            if seams or fires or not self.stats["forecasts"]:
                self._forecast()
            elif moved:
                self._forecast(everything=False)
        self._out.put(edits)
        self.last_update_s = time.perf_counter() - t0
        self.stats["updates"] += 1

    def _forecast(self, everything: bool = True) -> None:
        """What lies ahead of the workings now (under the lock: the model as it stands):
        of every one after a model update, else of those moved FORECAST_MOVE_M since."""
        from .forecast import forecast_workings
        t0 = time.perf_counter()
        work = {w[0].replace("-", ":", 1): w for w in self.maker.workings()}  # face:<id> …
        done = {f.working: f for f in self.forecasts}
        todo = {k: w for k, w in work.items() if everything or k not in done or
                abs(w[5] - self._forecast_at.get(k, -1e9)) >= FORECAST_MOVE_M}
        done.update((f.working, f) for f in forecast_workings(
            self.geo, self.maker.mine, list(todo.values()), list(self.maker.zones.values()),
            self.maker.zone_grid))
        self.forecasts = tuple(done[k] for k in work if k in done)
        self._forecast_at.update((k, w[5]) for k, w in todo.items())
        self.forecast_s = time.perf_counter() - t0
        self.stats["forecasts"] += 1

    def read(self, fn):
        """``fn(boreholes, model)`` on the model as it stands, between updates (the uplink's
        gas-geology table reads it so, from a worker thread)."""
        with self._lock:
            return fn(self.geo.holes, self.geo.model)

    def report(self) -> dict:
        with self._lock:
            rep = self.geo.report()
            rep["accuracy_log"] = list(self.geo.log[-50:])
        rep["last_update_s"] = round(self.last_update_s, 3)
        return rep

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """For tests and tools: True once nothing is queued and no update is running."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._pending <= 0:
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
