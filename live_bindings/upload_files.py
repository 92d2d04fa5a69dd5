"""Decoders of the upload files (REFERENCE.md §3, §3a): bytes in, observations and problems
out. Pure — no I/O; the directory watcher and ``minetwin ingest check`` call them.

| type | record | becomes |
| --- | --- | --- |
| CDSS | point code; type name; location; value; unit; state; time | a ``point`` observation |
| FZSS | outstation code; run state; power state; time | an ``outstation`` observation |
| JZSS | reader code; run state; power state; time | a ``reader`` observation |
| RYSS | the 15 personnel fields | a ``card`` observation (reader + signed distance) |
| TJSJ | a point's window: start, end, max (when), min (when), mean | three ``statistic`` observations (max, min, mean) |
| YCBJ | an abnormal or alarm the monitoring system raised: type 001–010, start, end (empty while it lasts), peak … | a ``report`` about the point (``YCBJ/<type>``) |
| RYCS, RYXZ, RYQJ | overtime, restricted area, SOS of a card: start, end, where | a ``report`` about the card |
| RYCY | overcrowding of an area: rated and current headcount, start, end | a ``report`` about the area |

Definition files (CDDY, FZDY, RYQY, RYJZ, RYXX) decode to named records. A record that does
not decode is a :class:`~twin.kj_format.Problem` naming the file, the record and the field;
the other records still decode. Times are the mine's local time (Asia/Shanghai by default).

REFERENCE.md §3a is not sure of every layout (RYCS, RYXZ, RYQJ, RYCY and FZSS's power codes
come from one source), and platforms use the same name for different files, so an
:class:`IngestDialect` (a TOML file, ``[ingest] dialect``) routes each file type to the layout
it is read as and may give a type's fields in another order (docs/feeds.md "Dialect").
"""

from __future__ import annotations

import math
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from twin import (KEY_FIELDS, KEY_HEADER_TIME, KEY_INVALID, KEY_SYSTEMS, Observation, Problem,
                  RECORD_FIELDS, UploadFile, UploadFormatError, check_keys, parse_file_name,
                  parse_time, parse_upload, read_toml)

__all__ = ["DecodedFile", "decode_upload", "REALTIME_TYPES", "DEFINITION_TYPES", "RECORD_TYPES",
           "REJECT_BAD_FRACTION", "IngestDialect", "DialectError", "POWER_STATES", "KeyIngest"]

REALTIME_TYPES = ("CDSS", "FZSS", "JZSS", "RYSS")
#: What a mine's systems report as records: statistics, abnormals, personnel alarms.
RECORD_TYPES = ("TJSJ", "YCBJ", "RYCS", "RYCY", "RYXZ", "RYQJ")
DEFINITION_TYPES = ("CDDY", "FZDY", "RYQY", "RYJZ", "RYXX")
#: A file with more than this fraction of bad records is rejected whole (and quarantined).
REJECT_BAD_FRACTION = 0.1
#: Power states as the twin keeps them (REFERENCE.md §3: 0 DC, 1 AC, 2 power fault, 9 unknown).
POWER_STATES = {"dc": 0, "ac": 1, "fault": 2, "unknown": 9}
#: YCBJ abnormal types (REFERENCE.md §3).
YCBJ_TYPES = ("001", "002", "003", "004", "005", "006", "007", "008", "009", "010")


class DialectError(ValueError):
    """An ingest dialect that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class KeyIngest:
    """One key-equipment system's files as a deployment writes them (MT/T 1201.2; the file
    type names are not in the reference, so the dialect declares them)."""

    system: str                                  # TF, PS, LJ, XJ, KY, JC
    types: dict                                  # "definition" | "realtime" | "abnormal" -> type
    layouts: dict = field(default_factory=dict)  # kind -> field names (default KEY_FIELDS)
    params: dict = field(default_factory=dict)   # point type code -> the twin's parameter
    equipment: dict = field(default_factory=dict)  # the system's equipment code -> our id

    def layout(self, kind: str) -> tuple[str, ...]:
        return tuple(self.layouts.get(kind) or KEY_FIELDS[kind])


_KEY_KEYS = {"definition_type", "realtime_type", "abnormal_type", "definition_layout",
             "realtime_layout", "abnormal_layout", "params", "equipment"}


def _key_ingest(doc, path) -> dict[str, KeyIngest]:
    if not isinstance(doc, dict):
        raise DialectError(f"{path}: [key_equipment] is a table of systems")
    out = {}
    for system, t in doc.items():
        w = f"{path}: key_equipment.{system}"
        if system not in KEY_SYSTEMS:
            raise DialectError(f"{w}: no such system (MT/T 1201.2: {', '.join(KEY_SYSTEMS)})")
        if not isinstance(t, dict):
            raise DialectError(f"{w}: a table")
        check_keys(t, _KEY_KEYS, w, DialectError)
        types = {k: t[f"{k}_type"] for k in KEY_FIELDS if f"{k}_type" in t}
        if not types:
            raise DialectError(f"{w}: name at least one of its files (realtime_type = \"…\")")
        for k, name in types.items():
            if not (isinstance(name, str) and len(name) == 4 and name.isalnum() and name.isupper()):
                raise DialectError(f"{w}.{k}_type: an upper-case 4-letter file type like TFSS")
        layouts = {}
        for k in KEY_FIELDS:
            names = t.get(f"{k}_layout")
            if names is None:
                continue
            bad = [n for n in names if n and n not in KEY_FIELDS[k]] \
                if isinstance(names, list) else ["(not a list)"]
            if bad:
                raise DialectError(f"{w}.{k}_layout: unknown fields {bad} (known: "
                                   f"{', '.join(KEY_FIELDS[k])})")
            layouts[k] = tuple(names)
        for k in ("params", "equipment"):
            if not isinstance(t.get(k, {}), dict) or \
                    not all(isinstance(v, str) and v for v in t.get(k, {}).values()):
                raise DialectError(f"{w}.{k}: a table of code = \"name\"")
        out[system] = KeyIngest(system, types, layouts, dict(t.get("params", {})),
                                dict(t.get("equipment", {})))
    return out


@dataclass(frozen=True)
class IngestDialect:
    """How a deployment's systems write their files where they differ from REFERENCE.md:

    - ``types``: the layout each file type is read as (``RYCS = "RYXX"`` on a platform that
      calls its personnel register RYCS; ``XXXX = "CDSS"`` for a vendor's own name); a type
      not named is read as itself;
    - ``layouts``: a type's fields in this deployment's order, by the names of
      ``twin.RECORD_FIELDS`` (``""`` for a field we do not read); a field left out is empty;
    - ``fzss_power``: FZSS power-state codes → ``dc`` / ``ac`` / ``fault`` / ``unknown``
      (sources disagree: 0 DC / 1 AC / 2 fault / 9 unknown, or 1 DC / 2 AC / 9 fault);
    - ``key_equipment``: per MT/T 1201.2 system its file types, layouts, the parameter each
      point type is and our id of each machine (:class:`KeyIngest`).
    """

    types: dict = field(default_factory=dict)
    layouts: dict = field(default_factory=dict)
    fzss_power: dict = field(default_factory=lambda: {"0": "dc", "1": "ac", "2": "fault",
                                                      "9": "unknown"})
    key_equipment: dict = field(default_factory=dict)

    def route(self, ftype: str) -> str:
        return self.types.get(ftype, ftype)

    def key_types(self) -> dict[str, tuple[str, KeyIngest]]:
        """{file type: (kind, system)} of the declared key-equipment files."""
        return {name: (kind, k) for k in self.key_equipment.values()
                for kind, name in k.types.items()}

    def layout(self, std: str) -> tuple[str, ...] | None:
        return tuple(self.layouts[std]) if std in self.layouts else None

    @classmethod
    def load(cls, path: str | Path) -> "IngestDialect":
        doc = read_toml(path, DialectError)
        check_keys(doc, ("types", "layouts", "fzss_power", "key_equipment"), str(path),
                   DialectError)
        keys = _key_ingest(doc.get("key_equipment", {}), path)
        taken = {n for k in keys.values() for n in k.types.values()} & \
            set(REALTIME_TYPES + RECORD_TYPES + DEFINITION_TYPES) | \
            ({n for k in keys.values() for n in k.types.values()} & set(doc.get("types", {})))
        if taken:
            raise DialectError(f"{path}: key_equipment file types {sorted(taken)} are taken")
        known = REALTIME_TYPES + RECORD_TYPES + DEFINITION_TYPES
        for name, std in doc.get("types", {}).items():
            if std not in known:
                raise DialectError(f"{path}: types.{name}: {std!r} is not a type we read "
                                   f"({', '.join(known)})")
        for std, names in doc.get("layouts", {}).items():
            if std not in RECORD_FIELDS:
                raise DialectError(f"{path}: layouts.{std}: no such type")
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise DialectError(f"{path}: layouts.{std}: a list of field names")
            bad = [n for n in names if n and n not in RECORD_FIELDS[std]]
            if bad:
                raise DialectError(f"{path}: layouts.{std}: unknown fields {bad} (known: "
                                   f"{', '.join(RECORD_FIELDS[std])})")
            used = [n for n in names if n]
            if len(set(used)) != len(used):
                raise DialectError(f"{path}: layouts.{std}: a field named twice")
        power = {str(k): v for k, v in doc.get("fzss_power", {}).items()}
        if power and not (set(power.values()) <= set(POWER_STATES)):
            raise DialectError(f"{path}: fzss_power: each code means one of "
                               f"{', '.join(POWER_STATES)}")
        return cls(doc.get("types", {}), doc.get("layouts", {}),
                   power or cls.__dataclass_fields__["fzss_power"].default_factory(), keys)


STANDARD_INGEST = IngestDialect()


@dataclass(frozen=True, slots=True)
class DecodedFile:
    file: UploadFile
    observations: tuple[Observation, ...]
    definitions: tuple[dict[str, str], ...]
    problems: tuple[Problem, ...]
    numbers: tuple[int, ...] = ()            # each observation's record number
    #: The layout the file was read as (its type, or what the dialect routes it to).
    read_as: str = ""

    @property
    def rejected(self) -> bool:
        """Too many bad records: the file is rejected whole (REFERENCE.md §3 ingest rules).
        Judged by the share of bad records, whatever their fault (a wrong field count, a bad
        value, a time in the future)."""
        n = self.file.record_count          # every record, good or bad
        return bool(self.problems) and len(self.problems) > REJECT_BAD_FRACTION * max(n, 1)

    def without_future(self, limit_ms: int) -> "DecodedFile":
        """This file with the observations dated after ``limit_ms`` turned into bad records
        (a clock in 2099 must not make every later reading look old)."""
        late = [(i, o) for i, o in enumerate(self.observations) if o.time_ms > limit_ms]
        if not late:
            return self
        drop = {i for i, _ in late}
        extra = tuple(Problem(self.file.name, self.numbers[i] if i < len(self.numbers) else 0,
                              "data time", f"{o.time_ms} ms is more than the allowed margin "
                                           f"ahead of now: refused as in the future")
                      for i, o in late)
        return DecodedFile(self.file, tuple(o for i, o in enumerate(self.observations)
                                            if i not in drop),
                           self.definitions, tuple(sorted(self.problems + extra,
                                                          key=lambda p: p.record)),
                           tuple(n for i, n in enumerate(self.numbers) if i not in drop),
                           self.read_as)


@lru_cache(maxsize=4096)
def _ms(text: str, tz: ZoneInfo) -> int:
    # A file's records share a handful of time stamps: parse each once.
    return int(parse_time(text).replace(tzinfo=tz).timestamp() * 1000)


def decode_upload(data: bytes, name: str, *, tz: str = "Asia/Shanghai",
                  source: str | None = None, dialect: IngestDialect | None = None
                  ) -> DecodedFile:
    """Decode one upload file, read as the layout ``dialect`` routes its type to. Envelope
    errors raise UploadFormatError (the whole file is unusable); record errors are returned as
    problems."""
    dialect = dialect or STANDARD_INGEST
    _, ftype, _ = parse_file_name(name)
    key = dialect.key_types().get(ftype)
    if key is not None:
        return _decode_key(data, name, ZoneInfo(tz), source or f"file:{name}", *key)
    std = dialect.route(ftype)
    known = REALTIME_TYPES + RECORD_TYPES + DEFINITION_TYPES
    if std not in known:
        raise UploadFormatError([Problem(name, 0, None, f"{ftype} files are not decoded "
                                         f"(known: {', '.join(known)}; a dialect's [types] "
                                         f"may route a type to one of them)")])
    own = dialect.layout(std)
    f = parse_upload(data, name, layout=own)
    records = _in_order(f, own, RECORD_FIELDS[std])
    if std in DEFINITION_TYPES:
        names = RECORD_FIELDS[std]
        defs = tuple(dict(zip(names, r)) for _, r in records)
        return DecodedFile(f, (), defs, f.problems, read_as=std)
    zone = ZoneInfo(tz)
    ctx = _Ctx(std, zone, source or f"file:{name}", dialect,
               int(f.data_time.replace(tzinfo=zone).timestamp() * 1000))
    decode = _DECODERS[std]
    return _decoded(f, records, lambda r: decode(ctx, r), std)


def _in_order(f: UploadFile, own: tuple[str, ...] | None, standard: tuple[str, ...]):
    """(record number, fields) of ``f``'s good records in the ``standard`` field order, from
    the deployment's ``own`` (None: already standard); a field it lacks is empty."""
    if own is None:
        return list(f.numbered())
    where = [own.index(n) if n in own else None for n in standard]
    return [(i, tuple(r[k] if k is not None else "" for k in where)) for i, r in f.numbered()]


def _decoded(f: UploadFile, records, decode, read_as: str) -> DecodedFile:
    """Each record through ``decode`` (fields → observations); a record it refuses is a
    problem naming the record and field, the others still decode."""
    obs: list[Observation] = []
    problems: list[Problem] = list(f.problems)
    numbers: list[int] = []
    for i, r in records:
        try:
            got = decode(r)
        except _Bad as bad:
            problems.append(Problem(f.name, i, bad.field, bad.message))
            continue
        obs.extend(got)
        numbers.extend([i] * len(got))
    problems.sort(key=lambda p: p.record)
    return DecodedFile(f, tuple(obs), (), tuple(problems), tuple(numbers), read_as)


@dataclass(frozen=True, slots=True)
class _Ctx:
    ftype: str                   # the layout read
    zone: ZoneInfo
    src: str
    dialect: IngestDialect
    file_ms: int                 # the header's data time


class _Bad(Exception):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message


def _time(text: str, zone: ZoneInfo, field: str = "data time") -> int:
    try:
        return _ms(text, zone)
    except ValueError:
        raise _Bad(field, f"not yyyy-MM-dd HH:mm:ss: {text!r}") from None


def _opt_time(text: str, zone: ZoneInfo, field: str) -> int | None:
    return _time(text, zone, field) if text else None


def _int(text: str, field: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _Bad(field, f"not an integer: {text!r}") from None


def _number(text: str, field: str) -> float | None:
    """An optional finite number (empty: None)."""
    if not text:
        return None
    try:
        v = float(text)
    except ValueError:
        raise _Bad(field, f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise _Bad(field, f"not a finite number: {text!r}")
    return v


def _card(text: str) -> str:
    if not (len(text) == 17 and text.isdigit()):
        raise _Bad("card code", f"{text!r} is not 17 digits")
    return text


def _cdss(ctx: _Ctx, r: tuple[str, ...]) -> list[Observation]:
    code, _type_name, _location, value, unit, state, t = r
    if not code:
        raise _Bad("point code", "missing")
    if not value:
        raise _Bad("value", "not a number: ''")
    v = _number(value, "value")
    st = _int(state, "state")
    if not 0 <= st <= 255:
        raise _Bad("state", f"{st} is not a CDSS state bit mask (0 … 255)")
    return [Observation(ctx.src, "point", code, _time(t, ctx.zone), v, unit or None, state=st)]


def _state(ctx: _Ctx, r: tuple[str, ...]) -> list[Observation]:
    code, run, power, t = r
    fzss = ctx.ftype == "FZSS"
    label = "outstation code" if fzss else "reader code"
    if not code:
        raise _Bad(label, "missing")
    run_state = _int(run, "run state")
    if run_state not in (0, 1, 2, 9):
        raise _Bad("run state", f"{run_state} is not 0 ok, 1 comm lost, 2 fault or 9 unknown")
    codes = ctx.dialect.fzss_power if fzss else STANDARD_INGEST.fzss_power
    meaning = codes.get(str(_int(power, "power state")))
    if meaning is None:
        raise _Bad("power state", f"{power} is not one of " + ", ".join(
            f"{k} {v}" for k, v in codes.items()))
    kind = "outstation" if fzss else "reader"
    return [Observation(ctx.src, kind, code, _time(t, ctx.zone), run_state == 0,
                        state=run_state | (POWER_STATES[meaning] << 4), param="run_state")]


def _ryss(ctx: _Ctx, r: tuple[str, ...]) -> list[Observation]:
    (card, _name, inout, _t_in, _t_out, area, _t_area, reader, t_reader, _shift, distance,
     _work, _leader, _special, _track) = r
    _card(card)
    if inout not in ("1", "2"):
        raise _Bad("in/out flag", f"{inout!r} is not 1 (in) or 2 (out)")
    dist = _number(distance, "distance to reader")
    return [Observation(ctx.src, "card", card, _time(t_reader, ctx.zone, "time at reader"),
                        inout == "1", reader=reader or None, distance_m=dist,
                        area=area or None)]


def _tjsj(ctx: _Ctx, r: tuple[str, ...]) -> list[Observation]:
    """A point's window figures (REFERENCE.md §3a TJSJ): max, min and mean as statistics."""
    (code, _type_name, _location, unit, start, end, vmax, t_max, vmin, t_min, mean, t) = r
    if not code:
        raise _Bad("point code", "missing")
    z = ctx.zone
    t0, t1 = _time(start, z, "window start"), _time(end, z, "window end")
    _time(t, z)
    if t1 < t0:
        raise _Bad("window end", f"{end} is before the window's start {start}")
    figures = {"max": _number(vmax, "max"), "min": _number(vmin, "min"),
               "mean": _number(mean, "mean")}
    for k, v in figures.items():
        if v is None:
            raise _Bad(k, "missing")
    if not figures["min"] <= figures["mean"] <= figures["max"]:
        raise _Bad("mean", f"{mean} is not between the min {vmin} and the max {vmax}")
    when = {"max": _opt_time(t_max, z, "time of max") or t1,
            "min": _opt_time(t_min, z, "time of min") or t1, "mean": t1}
    for k in ("max", "min"):
        if not t0 <= when[k] <= t1:
            raise _Bad(f"time of {k}", "outside the window")
    return [Observation(ctx.src, "statistic", code, when[k], figures[k], unit or None,
                        param=k, since_ms=t0) for k in ("max", "min", "mean")]


def _report(ctx: _Ctx, key: str, start: str, end: str, value: float | None, unit=None,
            param: str | None = None, **where) -> list[Observation]:
    """One abnormal/alarm record: ongoing while its end is empty (REFERENCE.md §3a)."""
    t0 = _time(start, ctx.zone, "start")
    t1 = _opt_time(end, ctx.zone, "end")
    if t1 is not None and t1 < t0:
        raise _Bad("end", f"{end} is before the start {start}")
    return [Observation(ctx.src, "report", key, t1 if t1 is not None else max(t0, ctx.file_ms),
                        value, unit or None, state=0 if t1 is not None else 1,
                        param=param or ctx.ftype, since_ms=t0, **where)]


def _ycbj(ctx: _Ctx, r: tuple[str, ...]) -> list[Observation]:
    (code, _type_name, _location, unit, kind, start, end, vmax, _t_max, vmin, _t_min, mean,
     _cause, _measures, _t_entry, _by, t) = r
    if not code:
        raise _Bad("point code", "missing")
    if kind not in YCBJ_TYPES:
        raise _Bad("abnormal type", f"{kind!r} is not 001 … 010 (REFERENCE.md §3)")
    _time(t, ctx.zone)
    peak = _number(vmax, "max")
    for text, name in ((vmin, "min"), (mean, "mean")):     # checked, not kept
        _number(text, name)
    return _report(ctx, code, start, end, peak, unit, param=f"YCBJ/{kind}")


def _person_alarm(ctx: _Ctx, card: str, start: str, end: str, t_down: str, area: str,
                  reader: str) -> list[Observation]:
    _card(card)
    down = _opt_time(t_down, ctx.zone, "time down")
    value = None
    if ctx.ftype == "RYCS" and down is not None:   # overtime: hours underground so far
        upto = _opt_time(end, ctx.zone, "end") or max(_time(start, ctx.zone, "start"),
                                                      ctx.file_ms)
        value = round((upto - down) / 3_600_000, 2)
    return _report(ctx, card, start, end, value, "h" if value is not None else None,
                   area=area or None, reader=reader or None)


def _rycs(ctx: _Ctx, r: tuple[str, ...]) -> list[Observation]:
    card, _name, t_down, start, end, area, _t_area, reader, _t_reader = r
    return _person_alarm(ctx, card, start, end, t_down, area, reader)


def _ryxz(ctx: _Ctx, r: tuple[str, ...]) -> list[Observation]:
    card, _name, start, end, t_down, area, _t_area, reader, _t_reader = r
    return _person_alarm(ctx, card, start, end, t_down, area, reader)


def _rycy(ctx: _Ctx, r: tuple[str, ...]) -> list[Observation]:
    _kind, rated, count, area, _area_name, start, end, _people = r
    if not area:
        raise _Bad("area code", "missing")
    n = _int(count, "current headcount")
    if n < 0:
        raise _Bad("current headcount", f"{n} is negative")
    if rated:
        _int(rated, "rated headcount")
    return _report(ctx, area, start, end, float(n), area=area)


def _decode_key(data: bytes, name: str, zone: ZoneInfo, src: str, kind: str,
                k: KeyIngest) -> DecodedFile:
    """A key-equipment file (MT/T 1201.2): definitions as named records; real-time values
    as ``equipment`` observations of the machine's parameter (``-9999``, the invalid value,
    is no reading); abnormal records as ``report`` s about the machine."""
    own = k.layout(kind)
    f = parse_upload(data, name, layout=own, time_field=KEY_HEADER_TIME)
    records = _in_order(f, own, KEY_FIELDS[kind])
    if kind == "definition":
        return DecodedFile(f, (), tuple(dict(zip(KEY_FIELDS[kind], r)) for _, r in records),
                           f.problems, read_as=f"{k.system} definition")
    ctx = _Ctx(kind, zone, src, STANDARD_INGEST,
               int(f.data_time.replace(tzinfo=zone).timestamp() * 1000))
    decode = _key_realtime if kind == "realtime" else _key_abnormal
    return _decoded(f, records, lambda r: decode(ctx, k, r), f"{k.system} {kind}")


def _machine(k: KeyIngest, code: str) -> str:
    if not code:
        raise _Bad("equipment code", "missing")
    return k.equipment.get(code, code)


def _key_realtime(ctx: _Ctx, k: KeyIngest, r: tuple[str, ...]) -> list[Observation]:
    _point, type_code, type_name, equipment, value, unit, state, t = r
    machine = _machine(k, equipment)
    param = k.params.get(type_code) or type_name
    if not param:
        raise _Bad("point type code", f"{type_code!r} names no parameter (the dialect's "
                                      f"params, or a point type name)")
    when = _time(t, ctx.zone)
    if value.strip() == KEY_INVALID:
        return []                           # the standard's "no valid value"
    v = _number(value, "value")
    if v is None:
        raise _Bad("value", "missing")
    st = _int(state, "state") if state else 0
    out: float | bool = bool(v) if param == "running" else v
    return [Observation(ctx.src, "equipment", machine, when, out, unit or None,
                        state=max(st, 0), param=param)]


def _key_abnormal(ctx: _Ctx, k: KeyIngest, r: tuple[str, ...]) -> list[Observation]:
    (point, _type_code, _point_name, equipment, _alarm_state, start, end, _level, _t_back,
     _v_back, _t_extreme, extreme, t) = r
    machine = _machine(k, equipment)
    _time(t, ctx.zone)
    value = None if extreme.strip() == KEY_INVALID else _number(extreme, "extreme value")
    return _report(ctx, machine, start, end, value, param=f"{k.system}/{point or '-'}")


_DECODERS = {"CDSS": _cdss, "FZSS": _state, "JZSS": _state, "RYSS": _ryss, "TJSJ": _tjsj,
             "YCBJ": _ycbj, "RYCS": _rycs, "RYXZ": _ryxz, "RYQJ": _ryxz, "RYCY": _rycy}
