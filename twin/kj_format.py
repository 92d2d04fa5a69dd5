"""The networked upload file envelope (煤安监办〔2019〕42号 附件2 style; MT/T 1201.x-2023) and
the record layouts of the definition files a mine folder carries (REFERENCE.md §3).

Pure: bytes in, records and problems out. The live-bindings room builds its real-time
decoders (CDSS, RYSS …) on the same envelope.

Envelope: UTF-8 (a BOM is stripped); fields separated by ``;``; each record ends with ``~``;
the file ends with ``||`` (without it the file is still being written); the first record is
the header ``mine code;mine name;data time[;…]``; times ``yyyy-MM-dd HH:mm:ss`` local time.
File name ``<mine code>_<TYPE>_<yyyyMMddHHmmss>.txt``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Problem", "UploadFile", "UploadFormatError", "IncompleteFileError", "RECORD_FIELDS",
           "KEY_SYSTEMS", "KEY_FIELDS", "KEY_HEADER_TIME", "KEY_INVALID",
           "parse_upload", "parse_file_name", "parse_time", "format_time", "is_complete"]

#: Field names of each record type, in order (REFERENCE.md §3).
RECORD_FIELDS: dict[str, tuple[str, ...]] = {
    "CDDY": ("point code", "system code", "outstation code", "sensor type code", "value type",
             "unit", "range high", "range low", "upper alarm", "upper alarm clear",
             "lower alarm", "lower alarm clear", "upper power-off", "upper re-power",
             "lower power-off", "lower re-power", "on text", "off text", "install location",
             "x", "y", "z", "relations", "data time"),
    "FZDY": ("outstation code", "location", "x", "y", "z", "data time"),
    "RYQY": ("area type", "area code", "rated headcount", "area name"),
    # §3a [2+]: with coordinates; the older 4-field form is read too (OTHER_LAYOUTS)
    "RYJZ": ("reader code", "reader name", "x", "y", "z", "location"),
    "RYXX": ("card code", "name", "trade", "post", "team", "birth date", "education",
             "is leader", "is special worker"),
    "CDSS": ("point code", "sensor type name", "location", "value", "unit", "state",
             "data time"),
    "JZSS": ("reader code", "run state", "power state", "data time"),
    "FZSS": ("outstation code", "run state", "power state", "data time"),
    "RYSS": ("card code", "name", "in/out flag", "time in", "time out", "area code",
             "time entered area", "reader code", "time at reader", "shift system",
             "distance to reader", "work state", "is leader", "is special worker", "track"),
    # REFERENCE.md §3a: statistics, abnormal and personnel alarm records (confidence there;
    # a deployment's dialect may give another field order: live_bindings.IngestDialect).
    "TJSJ": ("point code", "sensor type name", "location", "unit", "window start",
             "window end", "max", "time of max", "min", "time of min", "mean", "data time"),
    "YCBJ": ("point code", "sensor type name", "location", "unit", "abnormal type", "start",
             "end", "max", "time of max", "min", "time of min", "mean", "cause", "measures",
             "entry time", "entered by", "data time"),
    "RYCS": ("card code", "name", "time down", "start", "end", "area code",
             "time entered area", "reader code", "time at reader"),
    "RYCY": ("alarm type", "rated headcount", "current headcount", "area code", "area name",
             "start", "end", "people"),
    "RYXZ": ("card code", "name", "start", "end", "time down", "area code",
             "time entered area", "reader code", "time at reader"),
    "RYQJ": ("card code", "name", "start", "end", "time down", "area code",
             "time entered area", "reader code", "time at reader"),
}

#: Key equipment (MT/T 1201.2; REFERENCE.md §3a, [1], partly inferred): the systems, with
#: their numbers, and the record layouts of each system's files. The file type names are
#: not known: a deployment's dialect declares them.
KEY_SYSTEMS = {"TF": ("30", "主通风机"), "PS": ("31", "主排水"), "LJ": ("32", "立井提升"),
               "XJ": ("33", "斜井提升"), "KY": ("34", "空气压缩机"), "JC": ("35", "绞车")}
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "definition": ("point code", "point type code", "point type name", "equipment code",
                   "location", "unit", "range high", "range low", "alarm high", "alarm low",
                   "relations", "definition time"),
    "realtime": ("point code", "point type code", "point type name", "equipment code", "value",
                 "unit", "state", "data time"),
    "abnormal": ("point code", "point type code", "point name", "equipment code", "alarm state",
                 "start", "end", "level", "back-to-normal time", "back-to-normal value",
                 "time of extreme", "extreme value", "data time"),
}
#: A key-equipment file's header: mine code; mine name; system id; system name; time.
KEY_HEADER_TIME = 4
#: MT/T 1201.2's invalid value.
KEY_INVALID = "-9999"

#: Other layouts a type is found in, recognised by their field count and read into the
#: type's own (a field it does not have is empty): RYJZ as REFERENCE.md §3 gives it.
OTHER_LAYOUTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "RYJZ": (("reader code", "reader name", "flags", "location"),),
}

_NAME = re.compile(r"^(?P<mine>\d+)_(?P<type>[A-Z]{4})_(?P<time>\d{14})\.txt$", re.I)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where (file, record number — 0 for the file itself,
    1 for the header — and field) and what."""

    file: str
    record: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.record:
            where += f": record {self.record}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class UploadFormatError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


class IncompleteFileError(UploadFormatError):
    """No ``||`` terminator: the file is still being written; wait, don't parse."""


@dataclass(frozen=True, slots=True)
class UploadFile:
    name: str
    type: str
    mine_code: str
    mine_name: str
    data_time: datetime
    header: tuple[str, ...]
    records: tuple[tuple[str, ...], ...]
    #: Each record's number in the file (the header is 1), and the records that could not be
    #: split into their type's fields: a bad record is a bad record, the others still count.
    numbers: tuple[int, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def record_count(self) -> int:
        """Every record after the header, good or bad."""
        return len(self.records) + len(self.problems)

    def numbered(self):
        """(record number, fields) of the good records."""
        return zip(self.numbers or range(2, len(self.records) + 2), self.records)


def parse_file_name(name: str) -> tuple[str, str, datetime]:
    """(mine code, type, time) from ``<mine code>_<TYPE>_<yyyyMMddHHmmss>.txt``."""
    m = _NAME.match(name)
    if not m:
        raise UploadFormatError([Problem(name, 0, None, "file name is not "
                                         "<mine code>_<TYPE>_<yyyyMMddHHmmss>.txt")])
    try:
        t = datetime.strptime(m["time"], "%Y%m%d%H%M%S")
    except ValueError:
        raise UploadFormatError([Problem(name, 0, None, f"bad time {m['time']!r} in the "
                                         f"file name")]) from None
    return m["mine"], m["type"].upper(), t


def parse_time(text: str) -> datetime:
    return datetime.strptime(text.strip(), TIME_FORMAT)


def format_time(t: datetime) -> str:
    return t.strftime(TIME_FORMAT)


def is_complete(data: bytes) -> bool:
    """Whether the bytes end with the ``||`` terminator — looked for on the bytes, before any
    decoding: a file cut in the middle of a Chinese character is still being written, not
    "not UTF-8"."""
    return data.rstrip().endswith(b"||")


def parse_upload(data: bytes, name: str, expected_type: str | None = None,
                 layout: tuple[str, ...] | None = None, time_field: int = 2) -> UploadFile:
    """Split an upload file into its header and records, checking the envelope and the
    field count of each record (when the type's layout is known; ``layout`` gives another
    than :data:`RECORD_FIELDS`' for its type). Envelope errors raise UploadFormatError; a
    record with the wrong field count is one of ``problems`` and the other records are kept.
    ``time_field``: the header field holding the data time (4 in key-equipment files)."""
    mine_code, ftype, _ = parse_file_name(name)
    if expected_type and ftype != expected_type:
        raise UploadFormatError([Problem(name, 0, None, f"expected a {expected_type} file, "
                                         f"the name says {ftype}")])
    if not is_complete(data):
        raise IncompleteFileError([Problem(name, 0, None, "no '||' terminator: the file is "
                                           "incomplete (still being written?)")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadFormatError([Problem(name, 0, None, f"not UTF-8 (byte {exc.start})")]) \
            from None
    body = text.rstrip()
    body = body[:-2]
    parts = [p.strip("\r\n") for p in body.split("~")]
    if parts and parts[-1].strip() == "":
        parts.pop()
    else:
        raise UploadFormatError([Problem(name, len(parts), None,
                                         "the last record does not end with '~'")])
    if not parts:
        raise UploadFormatError([Problem(name, 0, None, "no header record")])
    header = tuple(f.strip() for f in parts[0].split(";"))
    problems = []
    if len(header) < max(3, time_field + 1):
        problems.append(Problem(name, 1, None, "the header needs mine code;mine name;data time"
                                if time_field == 2 else "the header needs mine code;mine name;"
                                "system id;system name;data time"))
        raise UploadFormatError(problems)
    if header[0] != mine_code:
        problems.append(Problem(name, 1, "mine code", f"{header[0]!r} differs from the file "
                                f"name's {mine_code!r}"))
    try:
        data_time = parse_time(header[time_field])
    except ValueError:
        problems.append(Problem(name, 1, "data time",
                                f"not yyyy-MM-dd HH:mm:ss: {header[time_field]!r}"))
        data_time = datetime.min
    if problems:
        raise UploadFormatError(problems)
    others = {} if layout else {len(o): o for o in OTHER_LAYOUTS.get(ftype, ())}
    layout = layout or RECORD_FIELDS.get(ftype)
    records, numbers = [], []
    for i, part in enumerate(parts[1:], start=2):
        fields = tuple(f.strip() for f in part.split(";"))
        if layout is not None and len(fields) in others and len(fields) != len(layout):
            named = dict(zip(others[len(fields)], fields))
            fields = tuple(named.get(n, "") for n in layout)
        if layout is not None and len(fields) != len(layout):
            problems.append(Problem(name, i, None, f"{len(fields)} fields, a {ftype} record "
                                    f"has {len(layout)}"))
            continue
        records.append(fields)
        numbers.append(i)
    return UploadFile(name=name, type=ftype, mine_code=mine_code, mine_name=header[1],
                      data_time=data_time, header=header, records=tuple(records),
                      numbers=tuple(numbers), problems=tuple(problems))


def write_upload(ftype: str, mine_code: str, mine_name: str, t: datetime,
                 records: list[list[str]], header_extra: list[str] | None = None
                 ) -> tuple[str, bytes]:
    """(file name, bytes) of an upload file — the inverse of :func:`parse_upload`."""
    name = f"{mine_code}_{ftype}_{t.strftime('%Y%m%d%H%M%S')}.txt"
    header = [mine_code, mine_name, format_time(t), *(header_extra or [])]
    lines = [";".join(header) + "~"]
    for r in records:
        for f in r:
            if ";" in f or "~" in f or "||" in f:
                raise ValueError(f"field {f!r} contains a separator")
        lines.append(";".join(r) + "~")
    return name, ("\n".join(lines) + "\n||").encode("utf-8")
