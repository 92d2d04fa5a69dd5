"""What the live upload files need that the scene does not hold, kept from the observations
and alarms as the tick sees them (cheap dictionary updates, no I/O):

- per card: shaft in/out times, the area and when it was entered, the reader and when it
  first saw the card, the signed distance, the track ``reader&time,…`` since going down
  (``RYSS``, REFERENCE.md §3);
- per outstation: its run and power state, observed, or inferred from its points (an
  outstation whose points deliver is communicating) (``FZSS``);
- per analog point: max / min (with their times) / mean over aligned windows of
  ``stats_window_s`` (``TJSJ``, 5 minutes by default);
- abnormal records from the alarm book: monitoring abnormals with their REFERENCE.md §3
  type codes (``YCBJ``), overtime (``RYCS``), overcrowding (``RYCY``), a restricted area
  (``RYXZ``) and an SOS (``RYQJ``) — the twin's own and those the mine's systems reported,
  one record for each thing that happened.

They are written in REFERENCE.md §3a's layouts (:data:`STANDARD_LAYOUTS`) unless a province's
dialect declares its own field order from the named fields in :data:`LAYOUT_FIELDS`
(``[layouts]``, docs/uplink.md); the reference is sure of TJSJ's and YCBJ's ([2+]), less of
the personnel alarms' ([1]).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from twin import Observation, POINT_STATE, quantity_of

__all__ = ["LiveRecords", "LAYOUT_FIELDS", "STANDARD_LAYOUTS", "YCBJ_TYPES"]

#: REFERENCE.md §3a's layouts in named fields, field for field as ``twin.RECORD_FIELDS``
#: (what is written unless a dialect declares its own).
_PERSON_ALARM = ("card", "name", "start", "end", "time_in", "area", "area_time", "reader",
                 "reader_time")
STANDARD_LAYOUTS = {
    "TJSJ": ("point", "type_name", "location", "unit", "start", "end", "max", "max_time",
             "min", "min_time", "avg", "time"),
    "YCBJ": ("point", "type_name", "location", "unit", "abnormal_type", "start", "end", "max",
             "max_time", "min", "min_time", "avg", "cause", "measures", "measures_time",
             "entered_by", "time"),
    "RYCS": ("card", "name", "time_in", "start", "end", "area", "area_time", "reader",
             "reader_time"),
    "RYCY": ("alarm_type", "rated", "count", "area", "area_name", "start", "end", "people"),
    "RYXZ": _PERSON_ALARM,
    "RYQJ": _PERSON_ALARM,
}
#: The named fields a dialect may put, in any order, into the layout of each type: the
#: standard's and a few more the twin knows (a window's sample count, overtime hours).
LAYOUT_FIELDS = {t: names + {"TJSJ": ("samples",), "RYCS": ("hours",)}.get(t, ())
                 for t, names in STANDARD_LAYOUTS.items()}
#: Fields that hold times (written in the dialect's time format; empty while ongoing).
TIME_FIELDS = {"max_time", "min_time", "start", "end", "measures_time", "time_in", "area_time",
               "reader_time"}
#: RYCY's alarm type: the reference does not give the codes ([1]); 1 = over the rated number
#: is MineTwin's default, and the people in the area are listed with this separator.
RYCY_ALARM_TYPE = "1"
RYCY_PEOPLE_SEP = ","

#: The personnel watchdogs' alarms and the file each is reported in.
_PERSONNEL = {"overtime": "RYCS", "overcrowded": "RYCY", "restricted area": "RYXZ", "sos": "RYQJ"}

#: YCBJ abnormal type codes (REFERENCE.md §3).
YCBJ_TYPES = {"over_limit": "001", "power_off": "002", "feed_abnormal": "003",
              "disconnected": "004", "outstation_power_loss": "005",
              "outstation_unreachable": "006", "calibration": "007", "over_range": "008",
              "upper_prewarning": "009", "lower_prewarning": "010"}


@dataclass
class _Card:
    inside: bool = False
    t_in: int | None = None
    t_out: int | None = None
    area: str = ""
    t_area: int | None = None
    reader: str = ""
    t_reader: int | None = None
    distance: float | None = None
    track: deque = field(default_factory=lambda: deque(maxlen=50))


@dataclass
class _Window:
    start: int
    max: float = float("-inf")
    t_max: int = 0
    min: float = float("inf")
    t_min: int = 0
    total: float = 0.0
    n: int = 0

    def add(self, t: int, v: float) -> None:
        if v > self.max:
            self.max, self.t_max = v, t
        if v < self.min:
            self.min, self.t_min = v, t
        self.total += v
        self.n += 1


class LiveRecords:
    def __init__(self, model, stats_window_s: float = 300.0, outstation_stale_s: float = 120.0,
                 tube_stale_s: float | None = None):
        self.model = model
        self.tz = ZoneInfo(model.mine.time_zone)
        self.window_ms = int(stats_window_s * 1000)
        self.stale_ms = int(outstation_stale_s * 1000)
        # an outstation carrying only tube-bundle points delivers on the analyser's cycle
        from twin import TUBE_BUNDLE_SILENCE_S
        tube = model.tube_bundle_points()
        by_out: dict[str, set] = {}
        for c, s in model.sensors.items():
            by_out.setdefault(s.outstation, set()).add(c)
        slow = int((tube_stale_s or TUBE_BUNDLE_SILENCE_S) * 1000)
        self._stale_of = {o: slow if cs <= tube else self.stale_ms for o, cs in by_out.items()}
        self.cards: dict[str, _Card] = {}
        self.outstations: dict[str, tuple[int, int, int]] = {}   # code -> run, power, time
        self._point_seen: dict[str, int] = {}
        self._windows: dict[str, _Window] = {}
        self._analog = {c for c, s in model.sensors.items()
                        if quantity_of(s.type_code).kind == "analog"}
        self.stats: deque = deque(maxlen=100_000)    # closed (point, _Window, end_ms)
        self.abnormal: deque = deque(maxlen=100_000)  # (type, dict of named fields)
        self._open: dict[int, tuple[str, dict]] = {}  # alarm id -> (type, record)
        self._state_open: dict[tuple[str, str], dict] = {}
        self._merged: set[int] = set()                # alarm ids another record reports

    # ------------------------------------------------------------------ in the tick

    def observe(self, batch: list[Observation]) -> None:
        for o in batch:
            if o.kind == "card":
                self._card(o)
            elif o.kind == "outstation":
                self.outstations[o.key] = (o.state & 0xF, (o.state >> 4) & 0xF, o.time_ms)
            elif o.kind == "point":
                self._point(o)

    def _card(self, o: Observation) -> None:
        c = self.cards.setdefault(o.key, _Card())
        inside = bool(o.value)
        if inside and not c.inside:
            c.inside, c.t_in, c.t_out = True, o.time_ms, None
            c.track.clear()
            c.area, c.reader = "", ""
        elif not inside:
            if c.inside:
                c.inside, c.t_out = False, o.time_ms
            return
        if o.area and o.area != c.area:
            c.area, c.t_area = o.area, o.time_ms
        if o.reader and o.reader != c.reader:
            c.reader, c.t_reader = o.reader, o.time_ms
            c.track.append((o.reader, o.time_ms))
        if o.distance_m is not None:
            c.distance = o.distance_m

    def _point(self, o: Observation) -> None:
        code = o.key
        self._point_seen[code] = o.time_ms
        self._state_bits(o)
        if code not in self._analog or isinstance(o.value, bool) or o.value is None:
            return
        start = o.time_ms - o.time_ms % self.window_ms
        w = self._windows.get(code)
        if w is not None and w.start != start:
            self.stats.append((code, w, w.start + self.window_ms))
            w = None
        if w is None:
            w = self._windows[code] = _Window(start)
        w.add(o.time_ms, float(o.value))

    def _state_bits(self, o: Observation) -> None:
        """Calibration and over-range come as CDSS state bits, not as alarms."""
        for bit, kind in ((POINT_STATE["calibrating"], "calibration"),
                          (POINT_STATE["over_range"], "over_range")):
            key = (o.key, kind)
            rec = self._state_open.get(key)
            if o.state & bit and rec is None:
                rec = self._record(o.key, kind, o.time_ms)
                self._state_open[key] = rec
                self.abnormal.append(("YCBJ", dict(rec)))
            elif not o.state & bit and rec is not None:
                rec["end"] = o.time_ms
                del self._state_open[key]
                self.abnormal.append(("YCBJ", dict(rec)))

    def close_windows(self, now_ms: int) -> None:
        """Close the statistics windows that have ended by ``now_ms``."""
        for code, w in list(self._windows.items()):
            if w.start + self.window_ms <= now_ms:
                self.stats.append((code, w, w.start + self.window_ms))
                del self._windows[code]

    def alarms(self, changed) -> None:
        """Alarm records as the alarm book changed them (raised or cleared)."""
        for a in changed:
            _, quantity, rule_name = ("//" + a.rule).rsplit("/", 2)   # point/quantity/name
            if a.id in self._merged:
                continue                      # said by another record already (below)
            if a.id in self._open:
                ftype, rec = self._open[a.id]
            elif quantity == "reported":
                # what the mine's own system reported, passed on with its own type — unless
                # the twin's rule already reports the same (one record each to the province)
                ftype, _, code = rule_name.partition(" ")
                if self._same_open(ftype, a.point, code, a.id):
                    continue
                rec = self._record(a.point, None, a.raised_ms, code) if ftype == "YCBJ" and \
                    a.point in self.model.sensors else self._personnel(ftype, a)
                if rec is None:
                    continue
            elif quantity == "personnel" and rule_name in _PERSONNEL:
                ftype = _PERSONNEL[rule_name]
                if self._same_open(ftype, a.point, "", a.id):
                    continue
                rec = self._personnel(ftype, a)
            elif a.point in self.model.sensors:
                kind = "power_off" if a.kind == "power_off" else (
                    "disconnected" if rule_name == "stale" else
                    "feed_abnormal" if rule_name == "feed_abnormal" else "over_limit")
                ftype, rec = "YCBJ", self._record(a.point, kind, a.raised_ms)
                if self._same_open(ftype, a.point, rec["abnormal_type"], a.id):
                    continue
            else:
                continue
            if ftype in ("RYXZ", "RYQJ"):
                pass                                  # no values in these records
            elif ftype != "YCBJ" or self.model.sensors[a.point].value_type != "KG":
                # (a switch point's abnormal carries no values: REFERENCE.md §3a)
                rec["max"] = max(rec.get("max", a.value), a.peak, a.value)
                rec["min"] = min(rec.get("min", a.value), a.value)
            if a.acked_ms is not None:
                rec["measures"], rec["measures_time"] = a.comment or "", a.acked_ms
            if a.cleared_ms is not None:
                rec["end"] = a.cleared_ms
                if ftype == "RYCS":
                    rec["hours"] = round((a.cleared_ms - rec["time_in"]) / 3.6e6, 2) \
                        if rec.get("time_in") else rec.get("hours")
                self._open.pop(a.id, None)
            else:
                self._open[a.id] = (ftype, rec)
            self.abnormal.append((ftype, dict(rec)))

    def _same_open(self, ftype: str, subject: str, code: str, alarm_id: int) -> bool:
        """Whether another alarm already has a record of this kind open for ``subject``
        (the twin's rule and the mine's system saying the same thing)."""
        same = any(i != alarm_id and t == ftype and
                   (r.get("point") or r.get("card") or r.get("area")) == subject and
                   r.get("abnormal_type", "") == code for i, (t, r) in self._open.items())
        if same:
            self._merged.add(alarm_id)        # its later changes are not sent either
        return same

    def _record(self, code: str, kind: str | None, t: int, type_code: str = "") -> dict:
        s = self.model.sensors[code]
        return {"point": code, "type_name": quantity_of(s.type_code).name,
                "location": s.location, "unit": s.unit,
                "abnormal_type": YCBJ_TYPES[kind] if kind else type_code,
                "start": t, "end": None, "entered_by": "MineTwin"}

    def _personnel(self, ftype: str, a) -> dict | None:
        if ftype == "RYCY":
            area = self.model.areas.get(a.point)
            people = sorted(c for c, k in self.cards.items() if k.inside and k.area == a.point)
            return {"alarm_type": RYCY_ALARM_TYPE, "area": a.point,
                    "area_name": area.name if area else "",
                    "rated": area.rated_headcount if area else "", "count": int(a.value),
                    "start": a.raised_ms, "end": None, "people": RYCY_PEOPLE_SEP.join(people)}
        if ftype not in ("RYCS", "RYXZ", "RYQJ"):
            return None
        card = a.point
        c = self.cards.get(card, _Card())
        p = self.model.people.get(card)
        rec = {"card": card, "name": p.name if p else "", "time_in": c.t_in,
               "start": a.raised_ms, "end": None, "area": c.area, "area_time": c.t_area,
               "reader": c.reader, "reader_time": c.t_reader}
        if ftype == "RYCS":
            rec["hours"] = a.value
        return rec

    # ------------------------------------------------------------------ rows

    def fmt(self, t_ms: int | None, time_format: str) -> str:
        if t_ms is None:
            return ""
        return datetime.fromtimestamp(t_ms / 1000, tz=self.tz).strftime(time_format)

    def ryss_rows(self, time_format: str, since_ms: int, shift_system: str) -> list[list[str]]:
        """RYSS: everyone underground, and everyone who came out since ``since_ms`` (once,
        flag 2, time out filled)."""
        rows = []
        for card, c in sorted(self.cards.items()):
            if not c.inside and (c.t_out is None or c.t_out < since_ms):
                continue
            if not c.reader:
                continue                      # never seen by a reader: nothing to say yet
            p = self.model.people.get(card)
            f = lambda t: self.fmt(t, time_format)   # noqa: E731
            t_reader = c.t_reader if c.inside else c.t_out
            rows.append([
                card, p.name if p else "", "1" if c.inside else "2", f(c.t_in), f(c.t_out),
                c.area, f(c.t_area), c.reader, f(t_reader), shift_system,
                "" if c.distance is None else f"{c.distance:.1f}", "0",
                "1" if p and p.leader else "0", "1" if p and p.special_worker else "0",
                ",".join(f"{r}&{f(t)}" for r, t in c.track)])
        return rows

    def fzss_rows(self, time_format: str, now_ms: int) -> list[list[str]]:
        """FZSS: each outstation's run and power state as observed; otherwise run 0 when
        its points delivered within the stale time (it communicates), 9 when unknown."""
        by_outstation: dict[str, int] = {}
        for code, s in self.model.sensors.items():
            t = self._point_seen.get(code)
            if t is not None:
                by_outstation[s.outstation] = max(by_outstation.get(s.outstation, t), t)
        rows = []
        for code in sorted(self.model.outstations):
            if code in self.outstations:
                run, power, t = self.outstations[code]
            else:
                t = by_outstation.get(code)
                run = 0 if t is not None and \
                    now_ms - t <= self._stale_of.get(code, self.stale_ms) else 9
                power, t = 9, now_ms
            rows.append([code, str(run), str(power), self.fmt(t, time_format)])
        return rows

    def take_stats(self) -> list[dict]:
        """The statistics windows closed since the last call, as named fields."""
        out = []
        while self.stats:
            code, w, end = self.stats.popleft()
            s = self.model.sensors[code]
            out.append({"point": code, "type_name": quantity_of(s.type_code).name,
                        "location": s.location, "unit": s.unit, "max": w.max,
                        "max_time": w.t_max, "min": w.min, "min_time": w.t_min,
                        "avg": w.total / w.n, "start": w.start, "end": end, "samples": w.n})
        return out

    def take_abnormal(self) -> dict[str, list[dict]]:
        """The abnormal records (YCBJ, RYCS, RYCY) raised or ended since the last call; an
        ongoing one has an empty end and appears again when it ends."""
        out: dict[str, list[dict]] = {}
        while self.abnormal:
            ftype, rec = self.abnormal.popleft()
            out.setdefault(ftype, []).append(rec)
        return out

    def layout_rows(self, records: list[dict], layout: tuple[str, ...],
                    time_format: str) -> list[list[str]]:
        rows = []
        for r in records:
            row = []
            for name in layout:
                v = r.get(name)
                if name == "time":
                    row.append("{time}")          # the file's data time
                elif name in TIME_FIELDS:
                    row.append(self.fmt(v, time_format))
                elif v is None:
                    row.append("")
                elif isinstance(v, float):
                    row.append(f"{v:.4g}")
                else:
                    row.append(str(v))
            rows.append(row)
        return rows
