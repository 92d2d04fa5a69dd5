"""Alarm snapshots (docs/rendering.md): when an alarm is raised, a picture of where it
happened — framed on the alarm's node, the sensors and people near it labelled, a banner
saying what — attached to the alarm record, served over HTTP and shown in the viewer.

The pictures are rendered in a worker **process** with its own Panda3D (the tick never waits
and the GIL is not shared): the tick hands it the scene's changesets (wire-encoded, through
a queue that never blocks — a snapshot at start, then each committed diff), so the worker's
replica is the scene as it was when the alarm rose, and asks for pictures; the finished
ones come back through another queue that the tick polls.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import time
from pathlib import Path

__all__ = ["SnapshotWorker"]

log = logging.getLogger("minetwin.snapshots")


def _worker(frames, results, store_root: str, out_dir: str, size, software, plan) -> None:
    """The worker process: a replica from the frames, a Panda3D mirror, pictures on request
    (an area's in plan, when the mine's plan was given: an area is its roadways)."""
    from assets import AssetStore
    from scene import Replica
    from scene import WireDecoder
    from render.plan import plan_hidden, plan_picture, plan_region
    from render.renderer import PandaMirror, Renderer, RenderError, node_picture
    store = AssetStore(store_root)
    replica, decoder = Replica(), WireDecoder()
    renderer = Renderer(size, software=software)
    results.put(("ready", renderer.driver))
    mirror = None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    while True:
        msg = frames.get()
        kind = msg[0]
        if kind == "stop":
            break
        if kind == "frame":
            cs = decoder.decode(msg[1])
            if cs.kind == "diff" and cs.base != replica.revision:
                continue                               # (never a diff on the wrong base)
            replica.apply(cs)
            if mirror is None or cs.kind == "snapshot":
                if mirror is not None:
                    mirror.root.remove_node()
                mirror = PandaMirror(replica.scene, renderer.render.attach_new_node("scene"),
                                     store.path, hide=plan_hidden)
            else:
                mirror.apply(cs)
        elif kind == "snap":
            _, alarm_id, node, banner = msg
            t0 = time.perf_counter()
            try:
                if mirror is None:
                    raise RenderError("no scene yet")
                name = f"alarm-{alarm_id}.png"
                area = next((a for a in (plan or {}).get("areas", ())
                             if a["node"] == node and a["roadways"]), None)
                if area is not None:
                    im = plan_picture(renderer, mirror, plan, banner=banner, legend=False,
                                      region=plan_region(plan, set(area["roadways"]), 40.0),
                                      highlight_area=area["code"])
                else:
                    im = node_picture(renderer, mirror, node, banner=banner)
                im.save(out / name)
                results.put(("done", alarm_id, name, time.perf_counter() - t0))
            except Exception as exc:                  # a picture must never stop the worker
                results.put(("error", alarm_id, f"{type(exc).__name__}: {exc}", 0.0))
    renderer.close()


class SnapshotWorker:
    def __init__(self, scene, store_root: str | Path, out_dir: str | Path, size=(960, 540),
                 software: bool | None = None, min_interval_s: float = 60.0,
                 precision: int = 8, plan: dict | None = None):
        """``plan``: the mine in plan (twin/plan.py): an area's alarm is pictured in plan,
        its roadways highlighted (without it, framed on the area's roadways in 3D)."""
        from scene import WireEncoder
        self.scene = scene
        self.out = Path(out_dir)
        self.encoder = WireEncoder(precision)
        self._args = (str(store_root), str(out_dir), tuple(size), software, plan)
        self._ctx = mp.get_context("spawn")
        self.min_interval_ms = int(min_interval_s * 1000)
        self._last: dict[str, int] = {}               # node -> when its last picture was asked
        self.pending: dict[int, float] = {}           # alarm id -> when asked (monotonic)
        self._asks: list[tuple] = []                  # sent after the tick's own changes
        self.driver: str | None = None
        self.stats = {"asked": 0, "done": 0, "failed": 0, "skipped": 0, "max_s": 0.0,
                      "restarts": 0}
        self._restarts: list[float] = []
        self.proc = None
        self._start()

    def _start(self) -> None:
        """A fresh worker fed a snapshot of the scene as it stands."""
        self.frames, self.results = self._ctx.Queue(), self._ctx.Queue()
        self.proc = self._ctx.Process(target=_worker, name="minetwin-snapshots", daemon=True,
                                      args=(self.frames, self.results, *self._args))
        self.proc.start()
        self.frames.put(("frame", self.encoder.encode(self.scene.snapshot())))

    def _alive(self) -> bool:
        """Restart a worker that died (at most 3 times an hour); False while there is none.
        Pictures it had been asked for are reported failed."""
        if self.proc is not None and self.proc.is_alive():
            return True
        if self.proc is None:
            return False
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < 3600]
        for aid in list(self.pending):
            self.pending.pop(aid)
            self.stats["failed"] += 1
        for q in (self.frames, self.results):
            q.cancel_join_thread()
            q.close()
        if len(self._restarts) >= 3:
            log.error("the snapshot worker died again (exit %s): no more alarm pictures "
                      "until the twin restarts", self.proc.exitcode)
            self.proc = None
            return False
        log.warning("the snapshot worker died (exit %s): starting a new one",
                    self.proc.exitcode)
        self._restarts.append(now)
        self.stats["restarts"] += 1
        self._start()
        return True

    def publish(self, cs) -> None:
        """Every committed changeset (a tick consumer); never blocks."""
        if not self._alive():
            self._asks.clear()
            return
        if not cs.is_empty:
            self.frames.put(("frame", self.encoder.encode(cs)))
        for ask in self._asks:            # after the frame: the picture shows the alarm's tick
            self.frames.put(ask)
        self._asks.clear()

    def ask(self, alarm, now_ms: int, banner: str) -> bool:
        """A picture for a newly raised alarm, unless its node had one within
        ``min_interval_s`` (a flapping point must not flood the worker)."""
        if self.proc is None:                         # gave up on the worker
            return False
        last = self._last.get(alarm.node)
        if last is not None and now_ms - last < self.min_interval_ms:
            self.stats["skipped"] += 1
            return False
        self._last[alarm.node] = now_ms
        self.pending[alarm.id] = time.monotonic()
        self._asks.append(("snap", alarm.id, alarm.node, banner))
        self.stats["asked"] += 1
        return True

    def poll(self) -> list[tuple[int, str | None, str | None]]:
        """Finished pictures: (alarm id, file name or None, error or None)."""
        out = []
        if self.proc is None:
            return out
        while True:
            try:
                msg = self.results.get_nowait()
            except queue.Empty:
                return out
            if msg[0] == "ready":
                self.driver = msg[1]
                log.info("alarm snapshots rendered by %s", msg[1])
                continue
            _, aid, what, took = msg
            self.pending.pop(aid, None)
            if msg[0] == "done":
                self.stats["done"] += 1
                self.stats["max_s"] = max(self.stats["max_s"], took)
                out.append((aid, what, None))
            else:
                self.stats["failed"] += 1
                log.warning("alarm %d snapshot: %s", aid, what)
                out.append((aid, None, what))

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            self.frames.put(("stop",))
            self.proc.join(timeout=10)
        finally:
            if self.proc.is_alive():
                self.proc.kill()
            self.frames.cancel_join_thread()
            self.results.cancel_join_thread()
