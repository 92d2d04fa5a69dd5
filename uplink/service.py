"""The uplink in the running twin (``[uplink]``, docs/uplink.md): the live records follow the
tick (:meth:`UplinkService.observe`, :meth:`UplinkService.alarms` — dictionary updates
only); between ticks the exporter builds each set that is due by scene time (definitions at
start, key-equipment definitions whenever a point appears, real-time sets every
``realtime_every_s``, statistics every
``stats_every_s``), a worker thread self-checks and writes it, and the files are queued in the
outbox for every destination; a sender drains the outbox every ``send_every_s``. A failing
destination delays only its own files; the tick never waits for any of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from pathlib import Path

from .outbox import Outbox, drain, load_destinations
from uplink.files import (DEFINITIONS, LAYOUT_TYPES, REALTIME, STANDARD, Dialect, UplinkError,
                     build_files, write_checked)
from uplink.live import LiveRecords

__all__ = ["UplinkService"]

log = logging.getLogger("minetwin.uplink")


class UplinkService:
    def __init__(self, model, scene, cfg, resolve, gas_source=None):
        """``cfg``: the ``[uplink]`` section; ``resolve``: config-relative paths;
        ``gas_source(coal_rank)``: the gas-geology records (called on a worker thread)."""
        from uplink.gas import GasExportError, GasFormat
        from uplink.security import load_key, load_sm2_key
        self.model, self.scene, self.cfg = model, scene, cfg
        self.dialect = Dialect.load(resolve(cfg.dialect)) if cfg.dialect else STANDARD
        eq = self.dialect.equipment_types()
        self.types = tuple(t.strip() for t in cfg.types.split(",") if t.strip()) or \
            DEFINITIONS + REALTIME + LAYOUT_TYPES + tuple(eq)
        self._eq_defs = tuple(t for t, (k, _) in eq.items() if k == "definition")
        self._eq_rt = tuple(t for t, (k, _) in eq.items() if k == "realtime")
        known = DEFINITIONS + REALTIME + LAYOUT_TYPES + tuple(eq)
        bad = [t for t in self.types if t not in known]
        if bad:
            raise UplinkError(f"uplink.types: {bad} are not types we export ({', '.join(known)})")
        try:
            self.destinations = load_destinations(resolve(cfg.destinations)) \
                if cfg.destinations else {}
        except ValueError as exc:
            raise UplinkError(str(exc)) from None
        self.key = load_key(cfg.encrypt_key) if cfg.encrypt_key else None
        self.sign = load_sm2_key(cfg.sign_key) if cfg.sign_key else None
        if self.sign and not cfg.manifest:
            raise UplinkError("uplink.sign_key signs the manifest: set uplink.manifest too")
        try:
            self.gas_format = GasFormat.load(resolve(cfg.gas_format)) if cfg.gas_format \
                else GasFormat()
        except GasExportError as exc:
            raise UplinkError(str(exc)) from None
        self.gas_source = gas_source if cfg.gas_every_h > 0 else None
        self._next_gas = 0.0
        self.out = resolve(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        db = resolve(cfg.outbox)
        db.parent.mkdir(parents=True, exist_ok=True)
        self.outbox = Outbox(db)
        self.live = LiveRecords(model, stats_window_s=cfg.stats_every_s)
        self._defs_sent = False
        self._eq_rows: dict | None = None
        self._next_realtime = 0
        self._next_stats = 0
        self._last_realtime = 0
        self._last_stamp = ""
        self.counts = {"sets": 0, "written": 0, "held": 0, "sent": 0, "send_errors": 0}
        self.last_error: dict[str, str | None] = {n: None for n in self.destinations}

    # ------------------------------------------------------------------ in the tick

    def observe(self, batch) -> None:
        self.live.observe(batch)

    def alarms(self, changed) -> None:
        self.live.alarms(changed)

    # ------------------------------------------------------------------ between ticks

    def due(self, now_ms: int) -> tuple[str, ...]:
        """The types due at scene time ``now_ms`` (and the schedule moved on)."""
        types = []
        if not self._defs_sent:             # the model does not change while the twin runs
            self._defs_sent = True
            types += [t for t in self.types if t in DEFINITIONS]
        if self._eq_defs:                   # key-equipment points appear as machines report
            from uplink.equipment import equipment_rows
            systems = {ks.system: ks for _, ks in self.dialect.equipment_types().values()}
            rows = equipment_rows(self.model, self.scene, systems, "", "definition")
            if rows != self._eq_rows:
                self._eq_rows = rows
                types += self._eq_defs
        if now_ms >= self._next_realtime:
            self._next_realtime = now_ms + int(self.cfg.realtime_every_s * 1000)
            types += [t for t in self.types
                      if t in REALTIME or t in ("YCBJ", "RYCS", "RYCY") or t in self._eq_rt]
        if "TJSJ" in self.types and now_ms >= self._next_stats:
            w = int(self.cfg.stats_every_s * 1000)
            self._next_stats = now_ms - now_ms % w + w
            types.append("TJSJ")
        return tuple(types)

    async def export(self, now_ms: int) -> dict | None:
        """Build what is due (in the loop, between ticks), check and write it on a worker
        thread, queue it for every destination."""
        types = self.due(now_ms)
        if not types:
            return None
        when = datetime.fromtimestamp(now_ms / 1000, self.live.tz).replace(tzinfo=None,
                                                                           microsecond=0)
        stamp = when.strftime(self.dialect.name_time)
        if stamp == self._last_stamp:      # the same name twice in one second: wait a tick
            return None
        files = build_files(self.model, self.scene, when, self.dialect, types, self.live,
                            since_ms=self._last_realtime, shift_system=self.cfg.shift_system)
        if any(t in REALTIME for t in types):
            self._last_realtime = now_ms
        self._last_stamp = stamp
        result = await asyncio.to_thread(write_checked, files, self.out, self.model, when,
                                         self.dialect, self.key, self.cfg.manifest or None,
                                         self.sign)
        self._queue(result)
        self.counts["sets"] += 1
        return result

    def _queue(self, result: dict) -> None:
        for name in result["written"]:
            for dest in self.destinations:
                self.outbox.enqueue(dest, self.out / name)
        self.counts["written"] += len(result["written"])
        self.counts["held"] += len(result["held"])
        for name, problems in result["held"].items():
            log.error("uplink: %s held back (not sent): %s", name, "; ".join(problems[:3]))

    async def export_gas(self, now_ms: int) -> dict | None:
        """The gas-geology table when due (at start, then every ``gas_every_h``)."""
        if self.gas_source is None or time.monotonic() < self._next_gas:
            return None
        self._next_gas = time.monotonic() + self.cfg.gas_every_h * 3600
        when = datetime.fromtimestamp(now_ms / 1000, self.live.tz).replace(tzinfo=None,
                                                                           microsecond=0)
        result = await asyncio.to_thread(self._write_gas, when)
        self._queue(result)
        self.counts["written"] += len(result["written"])
        self.counts["held"] += len(result["held"])
        for name, problems in result["held"].items():
            log.error("uplink: %s held back (not sent): %s", name, "; ".join(problems[:3]))
        return result

    def _write_gas(self, when: datetime) -> dict:
        from uplink.gas import check_gas, render_gas
        from uplink.files import write_atomic, hold_back
        m = self.model.mine
        records = self.gas_source(self.gas_format.coal_rank)
        name, data = render_gas(records, m.code, m.name, when, self.gas_format)
        problems = check_gas(name, data, self.gas_format, len(records))
        if problems:
            hold_back(self.out, name, data, problems)
            return {"written": [], "held": {name: problems}}
        if self.key is not None:
            from uplink.security import sm4_encrypt
            name, data = f"{name}.sm4", sm4_encrypt(data, self.key)
        write_atomic(self.out / name, data)
        return {"written": [name], "held": {}}

    async def send(self) -> None:
        """One drain of every destination, one after another; errors stay with theirs."""
        for name, dest in self.destinations.items():
            r = await drain(self.outbox, name, dest)
            self.counts["sent"] += r["sent"]
            if r["error"]:
                self.counts["send_errors"] += 1
                if r["error"] != self.last_error[name]:
                    log.warning("uplink to %s: %s (files stay queued)", name, r["error"])
                self.last_error[name] = r["error"]
            elif r["sent"] and self.last_error[name]:   # (a head backing off says nothing)
                log.info("uplink to %s: delivering again", name)
                self.last_error[name] = None

    def prune(self, now_ms: int | None = None) -> int:
        """Remove files delivered everywhere more than ``keep_days`` ago (and their rows)."""
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        cutoff = now - int(self.cfg.keep_days * 86_400_000)
        paths = self.outbox.prune(cutoff)
        for p in paths:
            Path(p).unlink(missing_ok=True)
        return len(paths)

    async def run(self, stop: asyncio.Event, now_ms) -> None:
        """The exporter and the sender until ``stop``. ``now_ms()`` is the export clock: the
        data's (the app gives the newest observation's time, or the wall clock when that
        is later — so a simulator running ahead exports in its time, and feeds that stop
        still leave real-time files saying so)."""
        async def pause(seconds):
            try:
                await asyncio.wait_for(stop.wait(), seconds)
            except asyncio.TimeoutError:
                pass

        async def exporter():
            while not stop.is_set():
                t = now_ms()
                if t:
                    try:
                        await self.export(t)
                        await self.export_gas(t)
                    except (UplinkError, OSError, ValueError) as exc:   # bad mine data too
                        log.error("uplink export failed: %s", exc)
                await pause(0.5)

        async def sender():
            next_prune = 0.0
            while not stop.is_set():
                if self.destinations:
                    await self.send()
                if time.monotonic() >= next_prune:
                    n = self.prune()
                    if n:
                        log.info("uplink: %d delivered files older than %g days removed",
                                 n, self.cfg.keep_days)
                    next_prune = time.monotonic() + 3600
                await pause(self.cfg.send_every_s)
        await asyncio.gather(exporter(), sender())

    # ------------------------------------------------------------------ reporting

    def status(self, now_ms: int | None = None) -> dict:
        per = self.outbox.status(now_ms)
        dests = {}
        for name in self.destinations:
            d = per.get(name, {"backlog": 0, "delivered": 0, "failed_attempts": 0,
                               "oldest_undelivered_s": None})
            age = d["oldest_undelivered_s"]
            dests[name] = {**d, "last_error": self.last_error.get(name),
                           "stale": age is not None and age > self.cfg.stale_after_s}
        return {"enabled": True, "types": list(self.types), "out": str(self.out),
                "destinations": dests, "held": self.counts["held"], "counts": dict(self.counts),
                "stale_after_s": self.cfg.stale_after_s}

    def close(self) -> None:
        self.outbox.close()
