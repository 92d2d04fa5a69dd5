"""Decoders of the real-time upload files (REFERENCE.md §3): bytes in, observations and
problems out. Pure — no I/O; the directory watcher and ``minetwin ingest check`` call them.

| type | record | becomes |
| --- | --- | --- |
| CDSS | point code; type name; location; value; unit; state; time | a ``point`` observation |
| FZSS | outstation code; run state; power state; time | an ``outstation`` observation |
| JZSS | reader code; run state; power state; time | a ``reader`` observation |
| RYSS | the 15 personnel fields | a ``card`` observation (reader + signed distance) |

Definition files (CDDY, FZDY, RYQY, RYJZ, RYXX) decode to named records. A record that does
not decode is a :class:`~twin.kj_format.Problem` naming the file, the record and the field;
the other records still decode. Times are the mine's local time (Asia/Shanghai by default).
"""

from __future__ import annotations

import math
from functools import lru_cache
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from twin import (Observation, Problem, RECORD_FIELDS, UploadFile, UploadFormatError, parse_time,
                  parse_upload)

__all__ = ["DecodedFile", "decode_upload", "REALTIME_TYPES", "DEFINITION_TYPES",
           "REJECT_BAD_FRACTION"]

REALTIME_TYPES = ("CDSS", "FZSS", "JZSS", "RYSS")
DEFINITION_TYPES = ("CDDY", "FZDY", "RYQY", "RYJZ", "RYXX")
#: A file with more than this fraction of bad records is rejected whole (and quarantined).
REJECT_BAD_FRACTION = 0.1


@dataclass(frozen=True, slots=True)
class DecodedFile:
    file: UploadFile
    observations: tuple[Observation, ...]
    definitions: tuple[dict[str, str], ...]
    problems: tuple[Problem, ...]
    numbers: tuple[int, ...] = ()            # each observation's record number

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
                           tuple(n for i, n in enumerate(self.numbers) if i not in drop))


@lru_cache(maxsize=4096)
def _ms(text: str, tz: ZoneInfo) -> int:
    # A file's records share a handful of time stamps: parse each once.
    return int(parse_time(text).replace(tzinfo=tz).timestamp() * 1000)


def decode_upload(data: bytes, name: str, *, tz: str = "Asia/Shanghai",
                  source: str | None = None) -> DecodedFile:
    """Decode one upload file. Envelope errors raise UploadFormatError (the whole file is
    unusable); record errors are returned as problems."""
    f = parse_upload(data, name)
    zone = ZoneInfo(tz)
    src = source or f"file:{name}"
    obs: list[Observation] = []
    defs: list[dict[str, str]] = []
    problems: list[Problem] = []
    if f.type in DEFINITION_TYPES:
        names = RECORD_FIELDS[f.type]
        defs = [dict(zip(names, r)) for r in f.records]
        return DecodedFile(f, (), tuple(defs), f.problems)
    if f.type not in REALTIME_TYPES:
        raise UploadFormatError([Problem(name, 0, None, f"{f.type} files are not decoded "
                                         f"(known: {', '.join(REALTIME_TYPES + DEFINITION_TYPES)})")])
    decode = {"CDSS": _cdss, "FZSS": _state, "JZSS": _state, "RYSS": _ryss}[f.type]
    problems.extend(f.problems)
    numbers: list[int] = []
    for i, r in f.numbered():
        try:
            obs.append(decode(f.type, r, zone, src))
            numbers.append(i)
        except _Bad as bad:
            problems.append(Problem(name, i, bad.field, bad.message))
    problems.sort(key=lambda p: p.record)
    return DecodedFile(f, tuple(obs), (), tuple(problems), tuple(numbers))


class _Bad(Exception):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message


def _time(text: str, zone: ZoneInfo, field: str = "data time") -> int:
    try:
        return _ms(text, zone)
    except ValueError:
        raise _Bad(field, f"not yyyy-MM-dd HH:mm:ss: {text!r}") from None


def _int(text: str, field: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _Bad(field, f"not an integer: {text!r}") from None


def _cdss(_: str, r: tuple[str, ...], zone: ZoneInfo, src: str) -> Observation:
    code, _type_name, _location, value, unit, state, t = r
    if not code:
        raise _Bad("point code", "missing")
    try:
        v = float(value)
    except ValueError:
        raise _Bad("value", f"not a number: {value!r}") from None
    if not math.isfinite(v):
        raise _Bad("value", f"not a finite number: {value!r}")
    st = _int(state, "state")
    if not 0 <= st <= 255:
        raise _Bad("state", f"{st} is not a CDSS state bit mask (0 … 255)")
    return Observation(src, "point", code, _time(t, zone), v, unit or None, state=st)


def _state(ftype: str, r: tuple[str, ...], zone: ZoneInfo, src: str) -> Observation:
    code, run, power, t = r
    label = "outstation code" if ftype == "FZSS" else "reader code"
    if not code:
        raise _Bad(label, "missing")
    run_state = _int(run, "run state")
    if run_state not in (0, 1, 2, 9):
        raise _Bad("run state", f"{run_state} is not 0 ok, 1 comm lost, 2 fault or 9 unknown")
    power_state = _int(power, "power state")
    if power_state not in (0, 1, 2, 9):
        raise _Bad("power state", f"{power_state} is not 0 DC, 1 AC, 2 power fault or 9 unknown")
    kind = "outstation" if ftype == "FZSS" else "reader"
    return Observation(src, kind, code, _time(t, zone), run_state == 0,
                       state=run_state | (power_state << 4), param="run_state")


def _ryss(_: str, r: tuple[str, ...], zone: ZoneInfo, src: str) -> Observation:
    (card, _name, inout, _t_in, _t_out, area, _t_area, reader, t_reader, _shift, distance,
     _work, _leader, _special, _track) = r
    if not (len(card) == 17 and card.isdigit()):
        raise _Bad("card code", f"{card!r} is not 17 digits")
    if inout not in ("1", "2"):
        raise _Bad("in/out flag", f"{inout!r} is not 1 (in) or 2 (out)")
    dist = None
    if distance:
        try:
            dist = float(distance)
        except ValueError:
            raise _Bad("distance to reader", f"not a number: {distance!r}") from None
        if not math.isfinite(dist):
            raise _Bad("distance to reader", f"not a finite number: {distance!r}")
    return Observation(src, "card", card, _time(t_reader, zone, "time at reader"), inout == "1",
                       reader=reader or None, distance_m=dist, area=area or None)

