"""The twin's Prometheus metrics (``GET /metrics``): counters and gauges read from the
running app's parts at each scrape, nothing kept here. docs/protocol.md lists them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

__all__ = ["prometheus_text"]


def prometheus_text(app) -> bytes:
    """``/metrics`` of a running TwinApp: the tick, the feeds, the bindings, the alarms, the
    clients, the uplink, the snapshots, the simulator."""

    class Collector:
        def collect(self):
            s = app.loop.stats
            for name, doc, value in (
                    ("ticks", "ticks run", s.ticks), ("commits", "ticks that committed",
                                                      s.commits),
                    ("tick_overruns", "ticks longer than their period", s.overruns),
                    ("observations", "observations drained from the feeds",
                     app.observations),
                    ("feed_refused", "observations a full feed queue refused",
                     app.queue.refused)):
                yield CounterMetricFamily(f"minetwin_{name}", doc, value=value)
            refused = CounterMetricFamily("minetwin_bindings_refused",
                                          "observations the bindings refused",
                                          labels=["reason"])
            for k, v in app.bindings.stats.items():
                if k.startswith("refused: "):
                    refused.add_metric([k[len("refused: "):]], v)
            yield refused
            yield from _feed_metrics(app)
            yield GaugeMetricFamily("minetwin_tick_max_seconds", "the longest tick",
                                    value=s.max_duration_s)
            yield GaugeMetricFamily("minetwin_revision", "the scene revision",
                                    value=app.scene.revision)
            yield GaugeMetricFamily("minetwin_alarms_listed",
                                    "alarms active or unacknowledged",
                                    value=len(app.alarms.listing()))
            d = app.dangers
            now = app._clock_ms()
            yield GaugeMetricFamily("minetwin_dangers_open", "hidden dangers not closed",
                                    value=len(d.open_items()))
            yield GaugeMetricFamily("minetwin_dangers_overdue",
                                    "hidden dangers past their deadline unrectified",
                                    value=sum(x.overdue_at(now) for x in d.open_items()))
            steps = CounterMetricFamily("minetwin_danger_steps",
                                        "hidden-danger steps by outcome (taken, refused: "
                                        "the person may not; invalid: a bad step or field)",
                                        labels=["step", "outcome"])
            for (step, outcome), v in sorted(app.danger_steps.items()):
                steps.add_metric([step, outcome], v)
            yield steps
            yield CounterMetricFamily("minetwin_danger_files_refused",
                                      "hidden-danger attachments refused (kept under refused/)",
                                      value=d.refused_files)
            if app.server is not None:
                yield GaugeMetricFamily("minetwin_clients", "streaming clients",
                                        value=len(app.server.clients))
                for k, v in app.server.stats.items():
                    yield CounterMetricFamily(f"minetwin_stream_{k}", f"streaming {k}",
                                              value=v)
            if app.uplink is not None:
                yield from _uplink_metrics(app.uplink.status())
            if app.snapshots is not None:
                for k, doc in (("asked", "alarm pictures asked for"),
                               ("done", "alarm pictures rendered"),
                               ("failed", "alarm pictures that failed"),
                               ("restarts", "snapshot workers replaced after dying")):
                    yield CounterMetricFamily(f"minetwin_snapshots_{k}", doc,
                                              value=app.snapshots.stats[k])
            if app.sim is not None:
                yield GaugeMetricFamily("minetwin_sim_behind_seconds",
                                        "simulated time the simulator is behind",
                                        value=app.sim.lag_s)

    registry = CollectorRegistry()
    registry.register(Collector())
    return generate_latest(registry)


def _feed_metrics(app):
    """Refusals by source and reason (the one validation, the message decoders, the inbox's
    bad records), the feeds' connections, the inbox's outcomes, supervised task restarts."""
    refused = CounterMetricFamily("minetwin_observations_refused",
                                  "observations refused, by source and reason",
                                  labels=["source", "reason"])
    for (source, reason), n in sorted(app.gate.refused.items()):
        refused.add_metric([source, reason], n)
    for feed in app.feeds:
        kind = "mqtt" if feed.name.startswith("mqtt") else "redis"
        refused.add_metric([kind, "malformed"], feed.stats["refused"])
    if app.watcher is not None:
        refused.add_metric(["file", "bad record"], app.watcher.counts.get("bad records", 0))
    yield refused
    disconnects = CounterMetricFamily("minetwin_feed_disconnects",
                                      "connections a feed lost (and retried)", labels=["feed"])
    for feed in app.feeds:
        disconnects.add_metric([feed.name], feed.stats["disconnects"])
    yield disconnects
    connected = GaugeMetricFamily("minetwin_feed_connected",
                                  "1 while a feed is connected and subscribed", labels=["feed"])
    for feed in app.feeds:
        connected.add_metric([feed.name], 1 if feed.connected.is_set() else 0)
    yield connected
    if app.watcher is not None:
        files = CounterMetricFamily("minetwin_inbox_files", "upload files by outcome",
                                    labels=["outcome"])
        for outcome in ("accepted", "duplicate", "quarantined", "waiting", "error"):
            files.add_metric([outcome], app.watcher.counts.get(outcome, 0))
        yield files
    restarts = CounterMetricFamily("minetwin_task_restarts",
                                   "supervised tasks that failed and were restarted",
                                   labels=["task"])
    if app.supervisor is not None:
        for name in sorted(app.supervisor.tasks):
            restarts.add_metric([name], app.supervisor.restarts[name])
    yield restarts
    stages = CounterMetricFamily("minetwin_tick_step_errors", "tick steps that failed",
                                 labels=["step"])
    for name, n in sorted(app.stage_errors.items()):
        stages.add_metric([name], n)
    yield stages
    if app.publisher is not None:
        for k, doc in (("published", "entries written to the gateways' Redis stream"),
                       ("dropped", "entries dropped because Redis was away too long"),
                       ("errors", "writes to Redis that failed (retried)")):
            yield CounterMetricFamily(f"minetwin_frames_{k}", doc, value=app.publisher.stats[k])
    yield GaugeMetricFamily("minetwin_healthy", "1 when /healthz is ok, 0 when it is not",
                            value=0 if app.health() else 1)


def _uplink_metrics(st: dict):
    """The uplink's outbox per destination and its file counts (``UplinkService.status()``)."""
    gauges = {
        "backlog": GaugeMetricFamily("minetwin_uplink_backlog",
                                     "files queued and not yet delivered",
                                     labels=["destination"]),
        "oldest_undelivered_s": GaugeMetricFamily(
            "minetwin_uplink_oldest_undelivered_seconds",
            "age of the oldest undelivered file (0: none)", labels=["destination"]),
        "failed_attempts": CounterMetricFamily("minetwin_uplink_failed_attempts",
                                               "deliveries that failed (retried)",
                                               labels=["destination"]),
        "delivered": CounterMetricFamily("minetwin_uplink_delivered",
                                         "files delivered", labels=["destination"])}
    for name, d in st["destinations"].items():
        for k, fam in gauges.items():
            fam.add_metric([name], d[k] or 0)
    yield from gauges.values()
    for k, doc in (("written", "files checked and written"),
                   ("held", "files that failed the self-check (never sent)"),
                   ("sets", "sets exported")):
        yield CounterMetricFamily(f"minetwin_uplink_files_{k}" if k != "sets" else
                                  "minetwin_uplink_sets", doc, value=st["counts"][k])
