"""The running twin: everything ``minetwin serve`` wires together, in one place.

``minetwin/`` is the composition root, the one room that may import every other: the mine
(``twin``), its feeds and bindings (``live_bindings``), its safety logic (``safety``), the
streaming server (``streaming``), the uplink (``uplink``) and the alarm snapshots
(``render``), imported where they are used so a command loads only what it needs.

The tick (DESIGN.md "The tick"): 1. the simulator (a feed) and the queue drain;
2. bindings; 3. simulation systems (the simulator ran as a feed in step 1); 4. rules →
alarms; 5. ``scene.commit()``; 6. the changeset to consumers (streaming, the recorder,
the snapshot worker, the uplink). History is recorded after the rules, in the same tick.
Changesets and alarm changes go to the streaming server, which serves clients on
``[server] host:port``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from pathlib import Path

from .config import Config
from twin import FeedQueue, TickLoop

__all__ = ["TwinApp", "AppError", "load_mine_scene"]

log = logging.getLogger("minetwin")


def _opt_str(args: dict, key: str) -> str | None:
    v = args.get(key)
    if v is not None and not isinstance(v, str):
        raise ValueError(f"{key} must be text")
    return v or None


class AppError(Exception):
    """The twin cannot start (bad mine folder, bad bindings file …); the message says why."""


def load_mine_scene(config: Config, mine_dir: Path, *, generate_demo: bool = False,
                    geology: bool = False):
    """(model, asset store, scene) of a mine folder, generating the demo there first when
    asked and absent; with ``geology``, the geological model's nodes too (seams, hazard
    zones) where the folder has boreholes. A bad folder raises AppError with every problem."""
    model, store, scene, hazards = _load_mine(config, mine_dir, generate_demo=generate_demo)
    if geology:
        _add_geology(config, mine_dir, model, store, scene, hazards)
    return model, store, scene


def _add_geology(config: Config, mine_dir: Path, model, store, scene, hazards):
    """The geological model built from the folder's boreholes and added to ``scene``:
    (geology, its scene maker, the node ids added), or None when the folder has no
    boreholes or no seam."""
    from twin import BoreholeError, GeologyScene, build_geology
    if not (mine_dir / "geology" / "collars.csv").exists():
        return None
    m, cfg = model.mine, config.geology
    try:
        geo = build_geology(mine_dir, m.origin, m.time_zone)
    except BoreholeError as exc:
        raise AppError(str(exc)) from None
    if not geo.model.seams:
        return None
    maker = GeologyScene(geo, model, store, cfg.seam_step_m, cfg.ahead_m, hazards=hazards)
    return geo, maker, maker.add(scene)


def _load_mine(config: Config, mine_dir: Path, *, generate_demo: bool = False):
    """load_mine_scene, and the hazard data read on the way (the geology reuses it)."""
    from assets import AssetStore
    from scene import Scene

    from twin import generate_demo as make_demo
    from twin import MineDataError, load_mine
    from twin import build_scene

    if not mine_dir.exists() and generate_demo:
        log.info("no mine at %s: generating the demo mine (seed %d)", mine_dir,
                 config.mine.demo_seed)
        make_demo(mine_dir, config.mine.demo_seed)
    try:
        model = load_mine(mine_dir)
    except MineDataError as exc:
        raise AppError(str(exc)) from None
    from twin import BoreholeError
    from twin import load_hazard_data
    try:
        hazards = load_hazard_data(mine_dir / "geology", model.mine.origin)
    except BoreholeError as exc:
        raise AppError(str(exc)) from None
    store = AssetStore(config.resolve_path(config.assets.path))
    scene = build_scene(model, store, Scene(history_limit=config.scene.history_limit),
                        criteria=hazards.criteria)
    return model, store, scene, hazards


class TwinApp:
    def __init__(self, config: Config, mine_dir: Path, *, generate_demo: bool = False,
                 simulate: bool = True, import_file: str | None = None,
                 host: str | None = None, port: int | None = None):
        from live_bindings import BindingError, DefaultBindings, History, load_bindings
        from safety import (AlarmBook, GroundPressure, HazardRules, Limits, RuleEngine,
                            Linkage, ReportedAlarms, TubeBundle, Watchdogs, resolve_rules, rule_table)

        self.config = config
        self.mine_dir = mine_dir
        self.host = host or config.server.host
        self.port = config.server.port if port is None else port
        self.model, self.store, self.scene, hazards = _load_mine(config, mine_dir,
                                                             generate_demo=generate_demo)
        model, scene = self.model, self.scene
        if import_file:
            from scene import import_gltf
            ids = import_gltf(scene, import_file, store=self.store)
            log.info("imported %s: %d top-level nodes", import_file, len(ids))
        self.queue = FeedQueue(config.feeds.queue_size)
        self.stage_errors: dict[str, int] = {}
        self.feeds: list = []                  # the MQTT / Redis feeds, once running
        self.watcher = None                    # the upload inbox, once running
        self.supervisor = None
        self.geology = self._geology(hazards) if config.geology.enabled else None
        self.sim = None
        systems = []
        if simulate and config.sim.enabled:
            from twin import Simulator, load_scenario
            scenario = load_scenario(config.resolve_path(config.sim.scenario)) \
                if config.sim.scenario else None
            truth = None
            if (mine_dir / "truth" / "geology.toml").exists():   # the demo's hidden world
                from twin import TrueGeology
                truth = TrueGeology.load(mine_dir / "truth" / "geology.toml")
            self.sim = Simulator(model, seed=config.sim.seed, scenario=scenario,
                                 start=datetime.now(timezone.utc), truth=truth,
                                 map_every_m=config.geology.map_face_every_m)
            systems.append(self.sim.system(self.queue, rate=config.sim.rate,
                                           budget_s=config.sim.tick_budget_ms / 1000))
            log.info("simulator on: seed %d, ×%g%s", config.sim.seed, config.sim.rate,
                     f", scenario {scenario.name!r}" if scenario else "")
        from twin import ObservationGate
        f = config.feeds
        self.gate = ObservationGate(model, max_future_s=f.max_future_s, clock=self._now_ms,
                                    keep=config.resolve_path(f.refused_log) if f.refused_log
                                    else None)
        r = config.rules
        table = rule_table(mine_dir / "rules.toml")
        self.rules = RuleEngine(resolve_rules(model, table),
                                clear_hold_s=r.clear_hold_s)
        # One resolved rule per point: the colour on the screen and the alarm agree.
        self.bindings = DefaultBindings(model, scene, thresholds=self.rules.alarm_bounds())
        self.declared = None
        if (mine_dir / "bindings.toml").exists():
            try:
                self.declared = load_bindings(mine_dir / "bindings.toml", scene)
            except BindingError as exc:
                raise AppError(str(exc)) from None
            log.info("bindings from %s", mine_dir / "bindings.toml")
        self.ingest_dialect = None            # [ingest] dialect: how the mine's files differ
        if config.ingest.dialect:
            from live_bindings import DialectError, IngestDialect
            try:
                self.ingest_dialect = IngestDialect.load(config.resolve_path(config.ingest.dialect))
            except DialectError as exc:
                raise AppError(f"ingest: {exc}") from None
        self.watchdogs = Watchdogs(model, scene, Limits(
            stale_after_s=r.stale_after_s, stuck_after=r.stuck_after,
            rise_per_min=r.ch4_rise_per_min, window_s=r.ch4_rise_window_s,
            interlock_ch4=r.interlock_ch4, overtime_h=r.overtime_h), clear_hold_s=r.clear_hold_s)
        self.hazards = HazardRules(model, scene)
        self.tube_bundle = TubeBundle(model, scene, table=table)
        self.ground_pressure = GroundPressure(model, scene, table=table)
        self.linkage = Linkage(model, table=table)
        self.reported = ReportedAlarms(model, table=table)
        self.alarms = AlarmBook(model, path=config.resolve_path(config.alarms.db), scene=scene,
                                escalate_after_s=config.alarms.escalate_after_s,
                                regroup_s=config.alarms.regroup_s)
        from safety import RiskEngine, RiskError, load_register
        try:
            self.risk = RiskEngine(model, load_register(mine_dir, model))
        except RiskError as exc:
            raise AppError(f"risks.toml: {exc}") from None
        from safety import DangerBook, DangerConfigError, load_workflow
        try:
            workflow = load_workflow(mine_dir)
        except DangerConfigError as exc:
            raise AppError(f"dangers.toml: {exc}") from None
        self.dangers = DangerBook(model, workflow, path=config.resolve_path(config.dangers.db),
                                  files=config.resolve_path(config.dangers.files),
                                  area_of=self._area_of)
        self._next_overdue = 0
        self.danger_steps: dict[tuple[str, str], int] = {}   # (step, outcome) → count
        self._forecasts: tuple = ()            # the forecasts the pre-warnings were judged on
        self._next_risk = 0
        scene.define_property("risk_level", "int")
        self.history = History(config.resolve_path(config.history.db),
                               retention_days=config.history.retention_days)
        self._restore()
        self.uplink = None
        if config.uplink.enabled:
            from uplink import UplinkError
            from uplink import SecurityError
            from uplink import UplinkService
            try:
                self.uplink = UplinkService(model, scene, config.uplink, config.resolve_path,
                                            gas_source=self._gas_records)
            except (UplinkError, SecurityError, OSError) as exc:
                raise AppError(f"uplink: {exc}") from None
            log.info("uplink on: %s into %s, destinations: %s", " ".join(self.uplink.types),
                     self.uplink.out, ", ".join(self.uplink.destinations) or "none (files only)")
        self._next_prune = 0
        self._snapped: set[int] = set()
        self._data_ms = 0                      # the newest observation's time
        self._next_headcount = 0
        self.observations = 0
        systems.append(self._feed_step)
        scene.commit()
        self.server = None
        self.recorder = None
        if config.recording.enabled:
            from streaming import Recorder
            rc = config.recording
            self.recorder = Recorder(config.resolve_path(rc.folder), scene,
                                     segment_s=rc.segment_s, keyframe_s=rc.keyframe_s,
                                     fsync_every_s=rc.fsync_every_s,
                                     retention_days=rc.retention_days)
        self.snapshots = None
        if config.snapshots.enabled:
            from render import SnapshotWorker

            from twin import mine_plan
            sc = config.snapshots
            self.snapshots = SnapshotWorker(scene, self.store.root, config.resolve_path(sc.folder),
                                            (sc.width, sc.height),
                                            software=True if sc.software else None,
                                            min_interval_s=sc.min_interval_s,
                                            plan=mine_plan(model, scene))
        consumers = [self._publish]
        if self.snapshots is not None:
            consumers.append(self.snapshots.publish)
        self.publisher = None
        if config.gateway.redis_url:
            from streaming import FramePublisher
            g = config.gateway
            self.publisher = FramePublisher(g.redis_url, scene, stream=g.stream,
                                            maxlen=g.maxlen, snapshot_every_s=g.snapshot_every_s,
                                            buffer=g.publish_buffer, timeout_s=g.redis_timeout_s)
            consumers.append(self.publisher.publish)
            log.info("publishing frames to %s %s for gateways", g.redis_url, g.stream)
        # One clock (#19.6): the tick runs on the data clock — the simulator's in a drill
        # (×rate ahead of the wall), the wall's otherwise — so the scene's time, the frames'
        # time, acknowledgements, escalation and the viewer's ages all read the same clock as
        # the readings and alarms they are about.
        self.loop = TickLoop(scene, config.tick.rate_hz, systems=systems, consumers=consumers,
                             clock=lambda: self._now_ms() / 1000)
        summary = ", ".join(f"{k} {v}" for k, v in model.summary().items())
        log.info("mine %s: %s; scene of %d nodes", mine_dir, summary, len(scene))

    def _gas_records(self, coal_rank: str) -> list[dict]:
        """Gas-geology records (a worker thread): the live model's, or the mine folder's."""
        from uplink import gas_records
        from twin import build_geology
        m = self.model.mine
        if self.geology is not None:
            return self.geology.read(lambda holes, model: gas_records(holes, model, m.origin,
                                                                      coal_rank))
        if not (self.mine_dir / "geology" / "collars.csv").exists():
            return []
        geo = build_geology(self.mine_dir, m.origin, m.time_zone)
        return gas_records(geo.holes, geo.model, m.origin, coal_rank)

    def _geology(self, hazards):
        """The geological model in the scene and its live-update service; None when the
        mine has no boreholes."""
        from twin import GeologyService
        built = _add_geology(self.config, self.mine_dir, self.model, self.store, self.scene,
                             hazards)
        if built is None:
            return None
        geo, maker, ids = built
        rep = geo.report()
        log.info("geology: %d seams, %d faults, %d exposure points; held-out floor RMSE "
                 "%.2f m, face %s m; %d scene nodes", len(geo.model.seams),
                 len(geo.model.faults), rep["exposure_points"], rep["floor_rmse_m"],
                 rep["face_floor_rmse_m"], len(ids))
        return GeologyService(geo, maker)

    # ------------------------------------------------------------------ the tick

    def _feed_step(self, scene, now_ms: int) -> None:
        if self.snapshots is not None:
            for aid, name, _ in self.snapshots.poll():
                alarm = self.alarms.attach_snapshot(aid, name) if name else None
                if alarm is not None:
                    self._publish_alarm(alarm)
        # Bounded: a burst (a 50 MB upload file) is fed over several ticks, never one long one.
        batch = self.queue.drain(self.config.feeds.max_per_tick)
        self.observations += len(batch)
        # One validation before everything else: what it refuses reaches neither the scene
        # nor the rules, the alarm book, the uplink or the history.
        batch = self.gate.check(batch)
        stage = self._stage
        if self.geology is not None:
            stage("geology", self.geology.offer, batch)
            stage("geology", self.geology.apply, scene, now_ms)
            batch = [o for o in batch if o.kind != "exposure"]
        stage("bindings", self.bindings.apply, batch)
        if self.declared is not None:
            stage("bindings", self.declared.apply, batch)
        stage("alarms", self.alarms.observe, batch)
        events = []
        for name, fn, args in (("rules", self.rules.evaluate, (batch,)),
                               ("watchdogs", self.watchdogs.observe, (batch,)),
                               ("watchdogs", self.watchdogs.tick, (now_ms,)),
                               ("reported", self.reported.observe, (batch,)),
                               ("hazards", self.hazards.observe, (batch,)),
                               ("hazards", self.tube_bundle.observe, (batch,)),
                               ("hazards", self.ground_pressure.observe, (batch,))):
            events += stage(name, fn, *args) or []
        if self.geology is not None and self.geology.forecasts is not self._forecasts:
            self._forecasts = self.geology.forecasts     # pre-warnings ahead of the workings
            events += stage("risk", self.risk.prewarnings, self._forecasts, now_ms) or []
        if now_ms >= self._next_overdue:                 # hidden dangers past their deadline
            events += stage("dangers", self._overdue, now_ms) or []
            self._next_overdue = now_ms + 1000
        # the CDDY linkage judges what the rules commanded (a power-off) against the feeders
        events += stage("linkage", self.linkage.observe, batch, list(events)) or []
        changed = stage("alarms", self.alarms.apply, events) or []
        if self.uplink is not None:
            stage("uplink", self.uplink.observe, batch)
            stage("uplink", self.uplink.alarms, changed)
        for alarm in changed:
            if self.snapshots is not None and alarm.active and alarm.snapshot is None and \
                    alarm.id not in self._snapped:
                self._snapped.add(alarm.id)
                self.snapshots.ask(alarm, now_ms, self._banner(alarm))
            self._publish_alarm(alarm)
            what = "power-off" if alarm.kind == "power_off" else "alarm"
            log.warning("%s %d %s: %s %s, value %g, threshold %g (%s)", what, alarm.id,
                        "raised" if alarm.active else "cleared", alarm.node, alarm.rule,
                        alarm.value, alarm.threshold, alarm.source)
        for alarm in self.alarms.escalate(now_ms):
            self._publish_alarm(alarm)
        if now_ms >= self._next_risk:                    # the areas' levels: each second
            stage("risk", self._risk_levels, scene, now_ms)
            self._next_risk = now_ms + 1000
        stage("history", self.history.record, batch)
        # Everything this tick took is processed (judged, stored): the feeds acknowledge it
        # to their sources only now, so what the twin dies holding comes again.
        taken = self.queue.taken
        for feed in self.feeds:
            stage("feeds", feed.processed, taken)
        if self.watcher is not None:
            self.watcher.mark_processed(taken)
        if batch:
            self._data_ms = max(self._data_ms, max(o.time_ms for o in batch))
        if self._data_ms and self._data_ms >= self._next_headcount:   # for reports: each minute
            t = self._data_ms - self._data_ms % 60_000
            self.history.record_values((f"headcount/{k}", t, n)
                                       for k, n in self.watchdogs.headcounts().items())
            self._next_headcount = t + 60_000
        if now_ms >= self._next_prune:
            self.history.prune(now_ms)
            self._next_prune = now_ms + 3_600_000

    def _risk_levels(self, scene, now_ms: int) -> None:
        changed = self.risk.evaluate(now_ms, alarms=self.alarms.listing(),
                                     forecasts=self._forecasts,
                                     headcounts=self.watchdogs.headcounts(),
                                     dangers=self.dangers.risk_facts(now_ms))
        # each change kept as the series risk/<area> (0 blue … 3 red): the shift report's
        self.history.record_values((f"risk/{code}", now_ms, ar.level) for code, ar in changed.items())
        for code, ar in changed.items():
            if f"area/{code}" in scene:
                scene.set_property(f"area/{code}", "risk_level", ar.level)
            log.info("risk %s %s: %s", code, ("blue", "yellow", "orange", "red")[ar.level],
                     "; ".join(r["en"] for r in ar.reasons[:3]) or "no facts")

    # ------------------------------------------------------------------ hidden dangers

    def _area_of(self, node: str | None, position) -> str | None:
        """The area a hidden danger is in: its node's (a sensor's roadway, a face's area …), or
        the area of the roadway nearest its position (or its node's position)."""
        import numpy as np
        area = self.risk.area_of_place(node) if node else None
        if area is not None:
            return area
        if position is None and node and node in self.scene:
            position = self.scene.node(node).world_position
        if position is None:
            return None
        p = np.asarray(position, float)
        best = min(((r.project(p)[1], rid) for rid, r in self.model.roadways.items()),
                   default=None)
        return self.risk.area_of_place(f"roadway:{best[1]}") if best and best[0] < 50 else None

    def _overdue(self, now_ms: int) -> list:
        events = []
        for d, ev in self.dangers.overdue(now_ms):
            events.append(ev)
            self._publish_danger(d, now_ms)
            log.warning("hidden danger %d overdue: %s (team %s)", d.id, d.title, d.team)
        return events

    def _publish_danger(self, d, now_ms: int | None = None) -> None:
        if self.server is not None:
            self.server.publish_danger(self.dangers.record(d, now_ms or self._clock_ms()))

    def _clock_ms(self) -> int:
        return self.scene.time_ms or self._now_ms()

    def _danger_command(self, role, cmd) -> tuple[bool, str, dict]:
        from safety import DangerError, DangerRefused
        step = cmd.name.removeprefix("danger_")
        now = self._clock_ms()
        args = dict(cmd.args)
        book = self.dangers
        try:
            if step == "list":
                items = book.query(state=_opt_str(args, "state"), area=_opt_str(args, "area"),
                                   level=_opt_str(args, "level"), team=_opt_str(args, "team"),
                                   overdue=args.get("overdue") if isinstance(
                                       args.get("overdue"), bool) else None,
                                   open_only=args.get("open") is True,
                                   text=_opt_str(args, "text"), now_ms=now,
                                   limit=int(args.get("limit", 500)))
                return True, f"{len(items)} hidden dangers", {
                    "dangers": [book.record(d, now) for d in items]}
            if step == "get":
                d = book.get(args.get("danger", -1)) if isinstance(args.get("danger"), int) else None
                if d is None:
                    return False, f"no hidden danger {args.get('danger')!r}", {}
                return True, f"hidden danger {d.id}", {"danger": book.record(d, now, steps=True)}
            if step == "report" and isinstance(args.get("alarm"), int) and not args.get("node"):
                alarm = self.alarms.get(args["alarm"])          # reported from an alarm
                if alarm is None:
                    return False, f"no alarm {args['alarm']}", {}
                args["node"] = alarm.node
            who = getattr(role, "holder", "") or ""
            d = book.take(step, who, str(role), args, now)
        except (DangerError, ValueError, TypeError) as exc:
            if step not in ("list", "get"):
                k = (step, "refused" if isinstance(exc, DangerRefused) else "invalid")
                self.danger_steps[k] = self.danger_steps.get(k, 0) + 1
            zh = getattr(exc, "zh", None)            # the reason in Chinese, where it has one
            return False, str(exc), {"message_zh": zh} if zh else {}
        self.danger_steps[(step, "taken")] = self.danger_steps.get((step, "taken"), 0) + 1
        ev = book.cleared(d, now)
        if ev is not None:                          # rectified (or closed) after its deadline
            for alarm in self.alarms.apply([ev]):
                self._publish_alarm(alarm)
            d = book.get(d.id)
        self._next_risk = 0                         # its area's level at the next tick
        self._publish_danger(d)
        return True, f"hidden danger {d.id} {d.state}", {"danger": book.record(d, now)}

    def _dangers_http(self, sub: str, q: dict) -> tuple[bytes, str, dict]:
        """GET /api/dangers (list, filters), /<id> (with its steps), /<id>/files/<sha256>,
        /export.csv and /export.xlsx (the same filters)."""
        import json
        from safety import DangerError
        book, now = self.dangers, self._clock_ms()
        parts = [p for p in sub.split("/") if p]
        if not parts or parts[0] in ("export.csv", "export.xlsx"):
            overdue = {"true": True, "1": True, "false": False, "0": False}.get(q.get("overdue", ""))
            if "overdue" in q and overdue is None:
                raise ValueError("overdue must be true or false")
            try:
                items = book.query(state=q.get("state"), area=q.get("area"),
                                   level=q.get("level"), team=q.get("team"), overdue=overdue,
                                   open_only=q.get("open") in ("1", "true"), text=q.get("text"),
                                   now_ms=now, limit=100_000)
            except DangerError as exc:
                raise ValueError(str(exc)) from None
            lang = "en" if q.get("lang") == "en" else "zh"
            if parts == ["export.csv"]:
                return book.export_csv(items, now, lang), "text/csv; charset=utf-8", {
                    "Content-Disposition": 'attachment; filename="dangers.csv"'}
            if parts == ["export.xlsx"]:
                return book.export_xlsx(items, now, lang), (
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), {
                    "Content-Disposition": 'attachment; filename="dangers.xlsx"'}
            body = {"dangers": [book.record(d, now) for d in items], **book.catalog()}
            return json.dumps(body, ensure_ascii=False).encode(), "application/json; charset=utf-8", {}
        if not (parts[0].isascii() and parts[0].isdigit() and len(parts[0]) <= 12):
            raise KeyError(f"no hidden danger {parts[0]!r}")
        d = book.get(int(parts[0]))
        if d is None:
            raise KeyError(f"no hidden danger {parts[0]}")
        if len(parts) == 1:
            return (json.dumps(book.record(d, now, steps=True), ensure_ascii=False).encode(),
                    "application/json; charset=utf-8", {})
        if len(parts) == 3 and parts[1] == "files":
            data, mime, name = book.file(d.id, parts[2])
            from urllib.parse import quote
            return data, mime, {"Cache-Control": "max-age=31536000, immutable",
                                "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}"}
        raise KeyError(f"nothing at /api/dangers{sub}")

    def _risk_json(self) -> dict:
        return self.risk.record(self._forecasts)

    def _restore(self) -> None:
        """After a restart (a crash included) the rules start from what the alarm book holds
        open and the newest reading of each point, so an alarm that no longer holds is
        cleared by the readings that follow — never left standing by a blank rule state."""
        from twin import Observation
        open_rules = self.alarms.open_rules()
        latest = self.history.latest(self.model.sensors)
        n = self.rules.restore(open_rules)
        self.linkage.restore({rid.split("/", 1)[0] for rid in self.rules.powered_off},
                             {rule for rule, _ in open_rules})
        self.reported.restore(rule for rule, _ in open_rules)
        self.risk.restore(open_rules)
        self.watchdogs.restore({rule for rule, _ in open_rules},
                               {code: s.t for code, s in latest.items()})
        events = self.rules.evaluate([Observation("history", "point", code, s.t, s.value,
                                                  state=s.state)
                                      for code, s in latest.items()])
        changed = self.alarms.apply(events)
        if open_rules or changed:
            log.info("restored %d open alarm(s) (%d threshold rules) from the alarm book; "
                     "the newest readings changed %d", len(open_rules), n, len(changed))

    def _stage(self, name: str, fn, *args):
        """One step of the feed step: a failure is logged and counted, and the tick's other
        steps still run (the history still records what the rules could not judge)."""
        try:
            return fn(*args)
        except Exception:                      # noqa: BLE001 — one step must not stop the rest
            self.stage_errors[name] = self.stage_errors.get(name, 0) + 1
            self.loop.stats.system_errors += 1
            log.exception("tick step %s failed at revision %d", name, self.scene.revision)
            return None

    def _now_ms(self) -> int:
        """Now, for judging how far ahead a reading may be dated: the wall clock, or the
        simulator's clock when it runs ahead of it (×60 by default)."""
        import time
        wall = int(time.time() * 1000)
        return max(wall, self.sim.now_ms) if self.sim is not None else wall

    def health(self) -> list[str]:
        """What makes the twin unhealthy now (``/healthz`` is 503 and lists it)."""
        return self.supervisor.problems() if self.supervisor is not None else []

    def _banner(self, alarm) -> str:
        """The alarm picture's banner: when, level, where and what, in words."""
        from zoneinfo import ZoneInfo
        t = datetime.fromtimestamp(alarm.raised_ms / 1000, ZoneInfo(self.model.mine.time_zone))
        r = self.alarms.record(alarm)
        return f"{t:%m-%d %H:%M:%S} {alarm.level}级 {r['place']} {r['text']['zh']}"

    def _snapshot_png(self, alarm_id: int) -> bytes:
        a = self.alarms.get(alarm_id)
        if a is None or not a.snapshot:
            raise KeyError(alarm_id)
        return (self.config.resolve_path(self.config.snapshots.folder) / a.snapshot).read_bytes()

    def _publish(self, cs) -> None:
        if self.recorder is not None:
            self.recorder.record(cs)
        if self.server is not None:
            self.server.publish(cs)

    def _publish_alarm(self, alarm) -> None:
        record = self.alarms.record(alarm)
        if self.recorder is not None:
            self.recorder.record_alarm(self.scene.time_ms or alarm.raised_ms, record)
        if self.server is not None:
            self.server.publish_alarm(record)
        if self.publisher is not None:
            self.publisher.publish_alarm(record)     # gateways' clients get alarms too

    def _command(self, role: str, cmd) -> tuple:
        """Commands from clients (the protocol checked the role already)."""
        from safety import AlarmError
        if cmd.name.startswith("danger_"):
            return self._danger_command(role, cmd)
        if cmd.name == "ack_alarm":
            # The person who acknowledged: the token's holder where the configuration names
            # one, else the role (a shared token names no one).
            who = getattr(role, "holder", "") or role
            try:
                alarm = self.alarms.acknowledge(int(cmd.args.get("alarm", -1)), str(who),
                                                str(cmd.args.get("comment", ""))[:2000],
                                                self.scene.time_ms or 0)
            except (AlarmError, ValueError, TypeError) as exc:
                return False, str(exc)
            self._publish_alarm(alarm)
            if self.uplink is not None:
                self.uplink.alarms([alarm])        # YCBJ carries the measures taken
            return True, f"alarm {alarm.id} acknowledged"
        return False, f"unknown command {cmd.name!r}"

    # ------------------------------------------------------------------ running

    async def run(self, stop: asyncio.Event, max_ticks: int | None = None) -> None:
        """Tick until ``stop`` (or ``max_ticks``), with the feeds and watchers beside."""
        cfg = self.config

        async def pause(seconds: float) -> None:
            try:
                await asyncio.wait_for(stop.wait(), seconds)
            except asyncio.TimeoutError:
                pass

        async def report() -> None:
            while not stop.is_set():
                await pause(10)
                if not stop.is_set():
                    log.info(self.status_line())

        async def uploads() -> None:
            folder = cfg.resolve_path(cfg.sim.upload_dir)
            while not stop.is_set():
                await pause(cfg.sim.upload_every_s)
                self.sim.write_upload_files(folder)   # between ticks, in the event loop

        async def inbox() -> None:
            # The scan reads and parses files: in a worker thread of its own (the watcher's
            # SQLite stays in that thread), never in the event loop the tick runs in.
            from concurrent.futures import ThreadPoolExecutor

            from live_bindings import UploadWatcher
            loop = asyncio.get_running_loop()
            pool = ThreadPoolExecutor(1, thread_name_prefix="inbox")
            try:
                self.watcher = await loop.run_in_executor(pool, lambda: UploadWatcher(
                    cfg.resolve_path(cfg.ingest.inbox), self.queue,
                    mine_code=self.model.mine.code, tz=self.model.mine.time_zone,
                    max_future_s=cfg.ingest.max_future_s,
                    incomplete_after_s=cfg.ingest.incomplete_after_s, clock=self._now_ms,
                    wait_for_tick=True, dialect=self.ingest_dialect))
                log.info("watching %s for upload files", self.watcher.inbox)
                while not stop.is_set():
                    for o in await loop.run_in_executor(pool, self.watcher.scan):
                        if o.outcome in ("quarantined", "error"):
                            log.warning("upload file %s %s: %s", o.file, o.outcome, o.reason)
                        elif o.outcome in ("accepted", "duplicate"):
                            log.info("upload file %s %s: %d observations, %d bad records, "
                                     "%d stale", o.file, o.outcome, o.observations,
                                     o.bad_records, o.stale)
                    await pause(cfg.ingest.scan_every_s)
            finally:
                if self.watcher is not None:
                    await loop.run_in_executor(pool, self.watcher.close)
                pool.shutdown(wait=False)

        from streaming import HttpApi
        from streaming import StreamServer
        from twin import quantity_table
        api = HttpApi(self.scene, asset=self.store.get, mine=self._mine_json, plan=self._plan_json,
                      quantities=quantity_table,
                      history=self.history.query,
                      alarms=lambda: [self.alarms.record(a) for a in self.alarms.listing()],
                      alarm_history=lambda since: [self.alarms.record(a)
                                                   for a in self.alarms.history(since)],
                      metrics=self._metrics, recordings=self._recordings,
                      geology=self.geology.report if self.geology is not None else None,
                      risk=self._risk_json, dangers=self._dangers_http,
                      uplink=self.uplink.status if self.uplink is not None else None,
                      snapshot=self._snapshot_png if self.snapshots is not None else None,
                      health=self.health,
                      viewer_dir=str(cfg.resolve_path(cfg.server.viewer_dir)))
        self.server = StreamServer(
            self.scene, tokens=cfg.server.token_roles(), host=self.host, port=self.port,
            precision=4 if cfg.wire.transform_precision == "float32" else 8,
            client_queue=cfg.server.client_queue, drop_after_s=cfg.server.drop_after_s,
            max_frame_bytes=cfg.server.max_message_bytes, on_command=self._command, http=api,
            max_connections_per_token=cfg.server.max_connections_per_token,
            max_messages_per_s=cfg.server.max_messages_per_s, ssl=self._tls(),
            holders=cfg.server.token_holders(),
            recordings=str(self.recorder.folder) if self.recorder else None,
            audit=self._audit_command, compression=cfg.server.compression)
        self.server.seed_alarms([self.alarms.record(a) for a in self.alarms.listing()])
        await self.server.start()
        from .supervisor import Supervisor
        sup = self.supervisor = Supervisor(stop)
        sup.start("report", report)
        if cfg.feeds.mqtt_host or cfg.feeds.redis_url:
            from live_bindings import MqttFeed, RedisStreamFeed
            if cfg.feeds.mqtt_host:
                topics = tuple(t.strip() for t in cfg.feeds.mqtt_topics.split(","))
                mqtt = MqttFeed(self.queue, host=cfg.feeds.mqtt_host, port=cfg.feeds.mqtt_port,
                                topics=topics, client_id=cfg.feeds.mqtt_client_id
                                or f"minetwin-{self.model.mine.code}")
                self.feeds.append(mqtt)
                sup.start("mqtt", lambda: mqtt.run(stop))
                log.info("subscribed to MQTT %s:%d %s as %s", cfg.feeds.mqtt_host,
                         cfg.feeds.mqtt_port, cfg.feeds.mqtt_topics, mqtt.client_id)
            if cfg.feeds.redis_url:
                feed = RedisStreamFeed(self.queue, url=cfg.feeds.redis_url,
                                       stream=cfg.feeds.redis_stream)
                self.feeds.append(feed)
                sup.start("redis", lambda: feed.run(stop))
                log.info("reading Redis stream %s at %s", cfg.feeds.redis_stream,
                         cfg.feeds.redis_url)
        if cfg.ingest.inbox:
            sup.start("inbox", inbox)
        if self.sim is not None and cfg.sim.upload_dir:
            sup.start("sim uploads", uploads)
        if self.uplink is not None:
            sup.start("uplink", lambda: self.uplink.run(
                stop, lambda: max(self.scene.time_ms, self._data_ms)))
        try:
            await self.loop.run(stop, max_ticks=max_ticks)
        finally:
            await self.server.stop()
            stop.set()              # feeds and watchers finish their current step and return
            await sup.wait()

    def _audit_command(self, entry: dict) -> None:
        """Append one command to the audit trail (JSON lines, flushed at once)."""
        import json
        path = self.config.resolve_path(self.config.server.audit_log)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        log.info("command %s by %s: %s", entry["command"], entry["role"], entry["message"])

    def _tls(self):
        cfg = self.config.server
        if not cfg.tls_cert:
            return None
        import ssl
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.config.resolve_path(cfg.tls_cert),
                            self.config.resolve_path(cfg.tls_key) if cfg.tls_key else None)
        return ctx

    def _recordings(self) -> list[dict]:
        if self.recorder is None:
            return []
        return [{"name": p.name, "bytes": p.stat().st_size}
                for p in sorted(self.recorder.folder.glob("minetwin-*.mcap"))]

    def _plan_json(self) -> dict:
        """The mine in plan (GET /api/plan, twin/plan.py)."""
        from twin import mine_plan
        return mine_plan(self.model, self.scene)

    def _mine_json(self) -> dict:
        m = self.model.mine
        return {"name": m.name, "code": m.code, "gas_class": m.gas_class,
                "time_zone": m.time_zone, "crs": m.crs, "origin": list(m.origin),
                "summary": self.model.summary(), "revision": self.scene.revision}

    def _metrics(self) -> bytes:
        from .metrics import prometheus_text
        return prometheus_text(self)

    def status_line(self) -> str:
        s = self.loop.stats
        clients = len(self.server.clients) if self.server else 0
        return (f"ticks={s.ticks} commits={s.commits} revision={self.scene.revision} "
                f"clients={clients} "
                f"overruns={s.overruns} max_tick={s.max_duration_s * 1000:.2f} ms "
                f"observations={self.observations} refused={self.queue.refused} "
                f"alarms={len(self.alarms.listing())} "
                f"sim_behind={self.sim.lag_s if self.sim else 0.0:.0f} s")

    def close(self) -> None:
        if self.publisher is not None:
            self.publisher.close()
        if self.snapshots is not None:
            self.snapshots.close()
        if self.uplink is not None:
            self.uplink.close()
        if self.geology is not None:
            self.geology.close()
        if self.recorder is not None:
            self.recorder.close()
        self.alarms.close()
        self.dangers.close()
        self.history.close()
