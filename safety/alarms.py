"""Alarms through their whole life: raised → acknowledged (by an operator, with a comment) →
cleared, with escalation when nobody acknowledges, kept in SQLite with an audit trail.

An alarm record is created when a rule raises (or cuts power) and closed when it clears (or
power is restored); acknowledging marks the record, which stays acknowledged until it clears
— a later raise is a new record. The alarm list shows every record that is active or not yet
acknowledged. Each record keeps what triggered it: the value, the rule, the threshold and
where that threshold came from. Alarms on the same face or heading share a ``group`` (T1 and
T2 of one face are one incident on the wall).

The scene shows them: a sensor node's ``alarm_level`` (0 none … 3 danger) and ``power_off``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

from scene import Scene
from twin import MineModel, open_sqlite

from .rules import RuleEvent

__all__ = ["Alarm", "AlarmBook", "AlarmError"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY, rule TEXT NOT NULL, point TEXT NOT NULL, node TEXT NOT NULL,
    grp TEXT NOT NULL, kind TEXT NOT NULL, level INTEGER NOT NULL, raised_ms INTEGER NOT NULL,
    value REAL NOT NULL, threshold REAL NOT NULL, source TEXT NOT NULL, peak REAL NOT NULL,
    cleared_ms INTEGER, acked_ms INTEGER, acked_by TEXT, comment TEXT, snapshot TEXT,
    repeats INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL, time_ms INTEGER NOT NULL,
    action TEXT NOT NULL, actor TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alarms_open ON alarms (cleared_ms, acked_ms);
"""


class AlarmError(ValueError):
    """A command about alarms that cannot be carried out (unknown id, already acknowledged)."""


@dataclass(frozen=True, slots=True)
class Alarm:
    id: int
    rule: str
    point: str
    node: str
    group: str
    kind: str                 # "alarm", "power_off", "forecast" (a pre-warning ahead, risk.py)
    #                           or "danger" (a hidden danger past its deadline, dangers.py)
    level: int
    raised_ms: int
    value: float
    threshold: float
    source: str
    peak: float
    cleared_ms: int | None = None
    acked_ms: int | None = None
    acked_by: str | None = None
    comment: str | None = None
    snapshot: str | None = None          # the picture's file name (render/snapshots.py)
    repeats: int = 0                     # raised again after clearing, before anyone acknowledged

    @property
    def active(self) -> bool:
        return self.cleared_ms is None

    @property
    def acknowledged(self) -> bool:
        return self.acked_ms is not None


class AlarmBook:
    def __init__(self, model: MineModel, *, path: str | Path = ":memory:",
                 scene: Scene | None = None, escalate_after_s: float = 300.0,
                 regroup_s: float = 300.0):
        self.model = model
        self.scene = scene
        self.escalate_after_ms = int(escalate_after_s * 1000)
        self.regroup_ms = int(regroup_s * 1000)
        self.db = open_sqlite(path, _SCHEMA)
        cols = {r[1] for r in self.db.execute("PRAGMA table_info(alarms)")}
        if "snapshot" not in cols:                    # a book written before snapshots
            self.db.execute("ALTER TABLE alarms ADD COLUMN snapshot TEXT")
        if "repeats" not in cols:                     # … and before flapping was grouped
            self.db.execute("ALTER TABLE alarms ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0")
        self._open: dict[tuple[str, str], Alarm] = {}     # (rule id, kind) -> active alarm
        self._unacked: dict[int, Alarm] = {}
        self._escalations: dict[int, int] = {}           # alarm id -> steps taken
        for row in self.db.execute("SELECT * FROM alarms WHERE cleared_ms IS NULL OR acked_ms IS NULL"):
            a = Alarm(*row)
            if a.active:
                self._open[(a.rule, a.kind)] = a
            if not a.acknowledged:
                self._unacked[a.id] = a
        if scene is not None:
            scene.define_property("alarm_level", "int")
            scene.define_property("power_off", "bool")
        self._group = self._groups()

    def _groups(self) -> dict[str, str]:
        m = self.model
        roads = {}
        for f in m.longwalls.values():
            for rid in (f.intake_roadway, f.return_roadway):
                roads[rid] = f"face:{f.id}"
        for h in m.headings.values():
            roads[h.roadway] = f"heading:{h.id}"
        out = {}
        for code, s in m.sensors.items():
            if s.roadway is None and s.category in ("T0", "T1") and m.longwalls:
                out[code] = f"face:{next(iter(m.longwalls))}"
            else:
                out[code] = roads.get(s.roadway or "", f"point:{code}")
        return out

    # ------------------------------------------------------------------ changes

    def apply(self, events: Iterable[RuleEvent]) -> list[Alarm]:
        """Turn rule events into alarm records; returns the records that changed."""
        changed = []
        with self.db:
            for ev in events:
                kind = "power_off" if ev.kind in ("power_off", "re_power") else \
                    "forecast" if ev.rule.quantity.startswith("forecast_") else \
                    "danger" if ev.rule.quantity.startswith("danger_") else "alarm"
                key = (ev.rule.id, kind)
                if ev.kind in ("raise", "power_off"):
                    if key in self._open:
                        continue
                    again = self._flapping(key, ev.time_ms)
                    if again is not None:
                        # Raised again soon after it cleared, and nobody has acknowledged it
                        # yet: the same incident — one row, counted, not a new row per flap.
                        peak = ev.value if abs(ev.value - again.threshold) > \
                            abs(again.peak - again.threshold) else again.peak
                        a = replace(again, cleared_ms=None, repeats=again.repeats + 1, peak=peak)
                        self.db.execute("UPDATE alarms SET cleared_ms=NULL, repeats=?, peak=? "
                                        "WHERE id=?", (a.repeats, a.peak, a.id))
                        self._audit(a.id, ev.time_ms, "raised again", "system",
                                    f"{ev.rule.quantity} {ev.value:g} ({a.repeats + 1}. time)")
                        self._open[key] = a
                        self._unacked[a.id] = a
                        changed.append(a)
                        continue
                    level = 3 if kind == "power_off" else ev.rule.level
                    node = ev.node or f"sensor/{ev.point}"
                    group = self._group.get(ev.point, node)
                    cur = self.db.execute(
                        "INSERT INTO alarms (rule, point, node, grp, kind, level, raised_ms, value,"
                        " threshold, source, peak) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (ev.rule.id, ev.point, node, group, kind, level, ev.time_ms,
                         ev.value, ev.threshold, ev.rule.source, ev.value))
                    a = Alarm(cur.lastrowid, ev.rule.id, ev.point, node, group, kind, level,
                              ev.time_ms, ev.value, ev.threshold, ev.rule.source, ev.value)
                    self._audit(a.id, ev.time_ms, "raised", "system",
                                f"{ev.rule.quantity} {ev.value:g} ≥/≤ {ev.threshold:g} ({ev.rule.source})")
                    self._open[key] = a
                    self._unacked[a.id] = a
                else:
                    a = self._open.pop(key, None)
                    if a is None:
                        continue
                    # A clear never precedes its raise (a late reading that clears an alarm
                    # raised on another clock): it is dated the raise time at the earliest.
                    t = max(ev.time_ms, a.raised_ms)
                    a = replace(a, cleared_ms=t)
                    self.db.execute("UPDATE alarms SET cleared_ms=?, peak=? WHERE id=?",
                                    (t, a.peak, a.id))
                    self._audit(a.id, t, "cleared", "system",
                                f"{ev.rule.quantity} {ev.value:g} past {ev.threshold:g}")
                    if a.id in self._unacked:
                        self._unacked[a.id] = a
                changed.append(a)
        self._reflect(changed)
        return changed

    def _flapping(self, key: tuple[str, str], t: int) -> Alarm | None:
        """The unacknowledged record of ``key`` that cleared at most ``regroup_s`` before
        ``t``: a raise now is that alarm again."""
        best = None
        for a in self._unacked.values():
            if (a.rule, a.kind) == key and a.cleared_ms is not None and \
                    0 <= t - a.cleared_ms <= self.regroup_ms and \
                    (best is None or a.cleared_ms > best.cleared_ms):
                best = a
        return best

    def record(self, a: Alarm) -> dict:
        """An alarm as clients and files get it: its fields, and in words (safety.wording):
        ``text`` in Chinese and English, ``place`` (the mine's name for it), ``unit``."""
        from dataclasses import asdict

        from .wording import alarm_text, alarm_words, place_name
        out = asdict(a)
        out["unit"] = alarm_words(a.rule, self.model)[3]
        out["place"] = place_name(a.node, self.model)
        out["text"] = {"zh": alarm_text(a, self.model, "zh"), "en": alarm_text(a, self.model, "en")}
        return out

    def open_rules(self) -> set[tuple[str, str]]:
        """(rule id, kind) of every active alarm: what the rules restore after a restart."""
        return set(self._open)

    def observe(self, observations: Iterable) -> None:
        """Keep, for each active alarm, the worst value its point has reached (the one
        furthest past the threshold)."""
        if not self._open:
            return
        by_point: dict[str, list[tuple[str, str]]] = {}
        for key, a in self._open.items():
            by_point.setdefault(a.point, []).append(key)
        for o in observations:
            keys = by_point.get(o.key) if o.kind == "point" else None
            if not keys or isinstance(o.value, bool) or not isinstance(o.value, (int, float)):
                continue
            for key in keys:
                a = self._open[key]
                if abs(o.value - a.threshold) > abs(a.peak - a.threshold):
                    a2 = replace(a, peak=float(o.value))
                    self._open[key] = a2
                    if a.id in self._unacked:
                        self._unacked[a.id] = a2

    def acknowledge(self, alarm_id: int, user: str, comment: str, now_ms: int) -> Alarm:
        if not user:
            raise AlarmError("an acknowledgement names the operator")
        a = self._unacked.get(alarm_id)
        if a is None:
            known = self.db.execute("SELECT acked_ms FROM alarms WHERE id=?", (alarm_id,)).fetchone()
            raise AlarmError(f"alarm {alarm_id} " + ("is already acknowledged" if known
                                                     else "does not exist"))
        a = replace(self._current(a), acked_ms=now_ms, acked_by=user, comment=comment)
        with self.db:
            self.db.execute("UPDATE alarms SET acked_ms=?, acked_by=?, comment=?, peak=? "
                            "WHERE id=?", (now_ms, user, comment, a.peak, alarm_id))
            self._audit(alarm_id, now_ms, "acknowledged", user, comment)
        del self._unacked[alarm_id]
        if a.active:
            self._open[(a.rule, a.kind)] = a
        self._reflect([a])
        return a

    def attach_snapshot(self, alarm_id: int, name: str) -> Alarm | None:
        """Record an alarm's picture; returns the updated record (None: unknown id)."""
        with self.db:
            cur = self.db.execute("UPDATE alarms SET snapshot=? WHERE id=?", (name, alarm_id))
        if cur.rowcount == 0:
            return None
        for book in (self._open, self._unacked):
            for k, a in list(book.items()):
                if a.id == alarm_id:
                    book[k] = replace(a, snapshot=name)
        row = self.db.execute("SELECT * FROM alarms WHERE id=?", (alarm_id,)).fetchone()
        return self._current(Alarm(*row))

    def escalate(self, now_ms: int) -> list[Alarm]:
        """Raise the level of active alarms nobody has acknowledged: one level for every
        ``escalate_after_s`` unacknowledged, up to 3."""
        out = []
        for aid, a in list(self._unacked.items()):
            steps = self._escalations.get(aid, 0)
            if a.active and a.level < 3 and \
                    now_ms - a.raised_ms >= self.escalate_after_ms * (steps + 1):
                self._escalations[aid] = steps + 1
                a2 = replace(self._current(a), level=a.level + 1)
                with self.db:
                    self.db.execute("UPDATE alarms SET level=? WHERE id=?", (a2.level, aid))
                    self._audit(aid, now_ms, "escalated", "system",
                                f"unacknowledged for {(now_ms - a.raised_ms) // 1000} s: "
                                f"level {a.level} → {a2.level}")
                self._unacked[aid] = a2
                self._open[(a2.rule, a2.kind)] = a2
                out.append(a2)
        self._reflect(out)
        return out

    def _current(self, a: Alarm) -> Alarm:
        return self._open.get((a.rule, a.kind), a) if a.active else a

    def _audit(self, alarm_id: int, t: int, action: str, actor: str, detail: str) -> None:
        self.db.execute("INSERT INTO audit (alarm_id, time_ms, action, actor, detail) "
                        "VALUES (?,?,?,?,?)", (alarm_id, t, action, actor, detail))

    def _reflect(self, alarms: list[Alarm]) -> None:
        if self.scene is None:
            return
        for node in {a.node for a in alarms}:
            if node not in self.scene:
                continue
            levels = [a.level for a in self._open.values() if a.node == node and a.kind == "alarm"]
            self.scene.set_property(node, "alarm_level", max(levels, default=0))
            self.scene.set_property(node, "power_off", any(
                a.node == node and a.kind == "power_off" for a in self._open.values()))

    # ------------------------------------------------------------------ queries

    def listing(self) -> list[Alarm]:
        """The alarm list: every alarm active or not yet acknowledged, newest first."""
        items = {a.id: a for a in self._open.values()}
        items.update({aid: self._current(a) for aid, a in self._unacked.items()})
        return sorted(items.values(), key=lambda a: (-a.raised_ms, -a.id))

    def get(self, alarm_id: int) -> Alarm | None:
        row = self.db.execute("SELECT * FROM alarms WHERE id=?", (alarm_id,)).fetchone()
        return None if row is None else self._current(Alarm(*row))

    def history(self, since_ms: int = 0) -> list[Alarm]:
        return [Alarm(*row) for row in self.db.execute(
            "SELECT * FROM alarms WHERE raised_ms >= ? ORDER BY raised_ms, id", (since_ms,))]

    def audit(self, alarm_id: int) -> list[tuple[int, str, str, str]]:
        return list(self.db.execute("SELECT time_ms, action, actor, detail FROM audit "
                                    "WHERE alarm_id=? ORDER BY id", (alarm_id,)))

    def close(self) -> None:
        self.db.close()
