"""Provincial uplink: the standard upload files (REFERENCE.md §3) written out of the twin's
live state — definitions from the mine model (CDDY, FZDY, RYQY, RYJZ, RYXX), real-time
files from the scene and the live records (CDSS, FZSS, JZSS, RYSS), statistics and abnormal
files (TJSJ, YCBJ, RYCS, RYCY, RYXZ, RYQJ) in REFERENCE.md §3a's layouts or those the dialect
declares — in a configurable
dialect, each one checked by our own ingest before it may leave: written under a temporary
name, renamed only when complete and clean; a failing file is held back with its problems
beside it, never handed on. docs/uplink.md.

Key equipment (MT/T 1201.2) in the file types and layouts a dialect declares:
uplink/equipment.py. The outbox and its destinations: uplink/outbox.py; the running
service: uplink/service.py; SM4/SM3/SM2: uplink/security.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path

from twin import check_keys, format_relations, read_toml

__all__ = ["Dialect", "UplinkError", "render", "split_records", "definition_rows",
           "realtime_rows", "self_check", "build_files", "write_checked", "export_once",
           "STANDARD", "REALTIME", "DEFINITIONS", "LAYOUT_TYPES"]


class UplinkError(ValueError):
    """A bad dialect or export request; the message names what and where."""


def check_encoding(encoding: str, path, error: type[Exception]) -> None:
    try:
        "x".encode(encoding)
    except LookupError:
        raise error(f"{path}: unknown encoding {encoding!r}") from None


def read_toml_for(cls, path: str | Path, error: type[Exception], rename=None) -> dict:
    """A TOML file's table for the dataclass ``cls``: unreadable files and keys ``cls`` does
    not have raise ``error`` naming the file (``rename`` maps file keys to field names)."""
    doc = read_toml(path, error)
    for a, b in (rename or {}).items():
        if a in doc:
            doc[b] = doc.pop(a)
    check_keys(doc, (f.name for f in fields(cls)), str(path), error)
    return doc


@dataclass(frozen=True)
class Dialect:
    """How a province wants its files: the name, the separators, the time formats, the
    encoding, the mine code's length. The default is REFERENCE.md §3's envelope."""
    name_pattern: str = "{mine}_{type}_{time}.txt"
    name_time: str = "%Y%m%d%H%M%S"
    field_sep: str = ";"
    record_end: str = "~"
    file_end: str = "||"
    newline_after_record: bool = True
    encoding: str = "utf-8"
    bom: bool = False
    time_format: str = "%Y-%m-%d %H:%M:%S"
    mine_code_length: int = 12
    #: Record layouts of the statistics and abnormal files (TJSJ, YCBJ, RYCS, RYCY, RYXZ,
    #: RYQJ) where the province's differ from REFERENCE.md §3a's: its field order, from the
    #: names in uplink.live.LAYOUT_FIELDS.
    layouts: dict = field(default_factory=dict)
    #: Key equipment (MT/T 1201.2): per system its file type names and layouts
    #: (uplink/equipment.py); parsed into KeySystem records by load().
    key_equipment: dict = field(default_factory=dict)

    def equipment_types(self) -> dict[str, tuple[str, object]]:
        """{file type: ("definition" | "realtime", KeySystem)} of the declared systems."""
        out = {}
        for ks in self.key_equipment.values():
            out[ks.definition_type] = ("definition", ks)
            out[ks.realtime_type] = ("realtime", ks)
        return out

    def layout_of(self, ftype: str) -> tuple[str, ...] | None:
        if ftype in self.layouts:
            return tuple(self.layouts[ftype])
        kind, ks = self.equipment_types().get(ftype, (None, None))
        if ks is None:
            return None
        return ks.definition_layout if kind == "definition" else ks.realtime_layout

    @classmethod
    def load(cls, path: str | Path) -> "Dialect":
        doc = read_toml_for(cls, path, UplinkError)
        from uplink.equipment import parse_key_equipment
        try:
            doc["key_equipment"] = parse_key_equipment(doc.get("key_equipment", {}), str(path))
        except ValueError as exc:
            raise UplinkError(str(exc)) from None
        d = cls(**doc)
        _check_layouts(d.layouts, path)
        clash = set(d.equipment_types()) & set(DEFINITIONS + REALTIME + LAYOUT_TYPES)
        if clash:
            raise UplinkError(f"{path}: key_equipment file types {sorted(clash)} are taken")
        for k in ("field_sep", "record_end", "file_end"):
            if not getattr(d, k):
                raise UplinkError(f"{path}: {k} must not be empty")
        if d.field_sep in (d.record_end, d.file_end) or d.record_end == d.file_end:
            raise UplinkError(f"{path}: the separators must differ")
        check_encoding(d.encoding, path, UplinkError)
        return d


STANDARD = Dialect()
REALTIME = ("CDSS", "FZSS", "JZSS", "RYSS")
DEFINITIONS = ("CDDY", "FZDY", "RYQY", "RYJZ", "RYXX")
LAYOUT_TYPES = ("TJSJ", "YCBJ", "RYCS", "RYCY", "RYXZ", "RYQJ")


def _check_layouts(layouts, path) -> None:
    from uplink.live import LAYOUT_FIELDS
    if not isinstance(layouts, dict):
        raise UplinkError(f"{path}: [layouts] must be a table of type = [field names]")
    for ftype, names in layouts.items():
        if ftype not in LAYOUT_FIELDS:
            raise UplinkError(f"{path}: layouts.{ftype}: no such type (layouts are for "
                              f"{', '.join(LAYOUT_FIELDS)})")
        if not isinstance(names, list) or not names or \
                not all(isinstance(n, str) for n in names):
            raise UplinkError(f"{path}: layouts.{ftype}: a non-empty list of field names")
        bad = [n for n in names if n not in LAYOUT_FIELDS[ftype]]
        if bad:
            raise UplinkError(f"{path}: layouts.{ftype}: unknown fields {bad} "
                              f"(known: {', '.join(LAYOUT_FIELDS[ftype])})")


def render(ftype: str, mine_code: str, mine_name: str, t: datetime, rows: list[list[str]],
           dialect: Dialect = STANDARD, header_extra: list[str] | None = None
           ) -> tuple[str, bytes]:
    """(file name, bytes) of one upload file in ``dialect``."""
    code = mine_code[:dialect.mine_code_length]
    header = [code, mine_name, t.strftime(dialect.time_format), *(header_extra or [])]
    seps = (dialect.field_sep, dialect.record_end, dialect.file_end)
    out = []
    for r in [header, *rows]:
        for f in r:
            if any(s in f for s in seps):
                raise UplinkError(f"{ftype}: field {f!r} contains a separator")
        out.append(dialect.field_sep.join(r) + dialect.record_end)
    text = ("\n" if dialect.newline_after_record else "").join(out)
    text += ("\n" if dialect.newline_after_record else "") + dialect.file_end
    data = text.encode(dialect.encoding)
    if dialect.bom and dialect.encoding.lower().replace("-", "") == "utf8":
        data = b"\xef\xbb\xbf" + data
    name = dialect.name_pattern.format(mine=code, type=ftype, time=t.strftime(dialect.name_time))
    return name, data


def split_records(data: bytes, dialect: Dialect = STANDARD) -> list[list[str]]:
    """The records of a file in ``dialect`` (header first); an unfinished file raises."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text = data.decode(dialect.encoding).strip()
    if not text.endswith(dialect.file_end):
        raise UplinkError("no file terminator: incomplete")
    body = text[: -len(dialect.file_end)]
    recs = [r.strip("\r\n") for r in body.split(dialect.record_end)]
    return [r.split(dialect.field_sep) for r in recs if r.strip()]


def _num(v) -> str:
    return "" if v is None else f"{v:g}"


def definition_rows(model) -> dict[str, tuple[list[list[str]], list[str] | None]]:
    """CDDY, FZDY, RYQY, RYJZ, RYXX records from the mine model (coordinates back in the
    mine's CRS), each with its extra header fields."""
    ox, oy, oz = model.mine.origin
    extra = ["MineTwin", "透明矿山数字孪生", "MineTwin", ""]   # system model, name, maker, certificate
    kinds = {"key": "重点区域", "restricted": "限制区域", "permitted": "准入区域", "other": "其他区域"}

    def xyz(p):
        return [f"{p[0] + ox:.3f}", f"{p[1] + oy:.3f}", f"{p[2] + oz:.3f}"]
    cddy = []
    for code, s in sorted(model.sensors.items()):
        t = s.thresholds
        cddy.append([code, s.system, s.outstation, s.type_code, s.value_type, s.unit,
                     _num(s.range[1]), _num(s.range[0]), _num(t.upper_alarm),
                     _num(t.upper_alarm_clear), _num(t.lower_alarm), _num(t.lower_alarm_clear),
                     _num(t.upper_power_off), _num(t.upper_re_power), _num(t.lower_power_off),
                     _num(t.lower_re_power), s.on_text, s.off_text, s.location, *xyz(s.position),
                     format_relations(s.relations), "{time}"])
    fzdy = [[o.code, o.location, *xyz(o.position), "{time}"]
            for _, o in sorted(model.outstations.items())]
    ryqy = [[kinds.get(a.kind, a.kind), a.code, str(a.rated_headcount), a.name]
            for _, a in sorted(model.areas.items())]
    ryjz = [[r.code, r.name, *(xyz(r.position) if r.position is not None else ["", "", ""]),
             r.location] for _, r in sorted(model.readers.items())]
    ryxx = [[p.card, p.name, p.trade, p.post, p.team, p.birth_date, p.education,
             "1" if p.leader else "0", "1" if p.special_worker else "0"]
            for _, p in sorted(model.people.items())]
    return {"CDDY": (cddy, extra), "FZDY": (fzdy, extra), "RYQY": (ryqy, None),
            "RYJZ": (ryjz, None), "RYXX": (ryxx, None)}


def realtime_rows(model, scene) -> dict[str, list[list[str]]]:
    """CDSS (every point's latest value and state bits) and JZSS (readers online) from the
    scene as it stands; a point with no value yet is left out."""
    from twin import quantity_of
    cdss = []
    for code, s in sorted(model.sensors.items()):
        nid = f"sensor/{code}"
        if nid not in scene:
            continue
        q = quantity_of(s.type_code)
        v = scene.property(nid, q.key)
        value = getattr(v, "value", v)
        if value is None:
            continue
        state = scene.property(nid, "point_state")
        state = int(getattr(state, "value", state) or 0)
        text = ("1" if value else "0") if isinstance(value, bool) else f"{float(value):g}"
        cdss.append([code, q.name, s.location, text, s.unit, str(state), "{time}"])
    jzss = []
    for code in sorted(model.readers):
        nid = f"reader/{code}"
        online = scene.property(nid, "online") if nid in scene else None
        online = getattr(online, "value", online)
        run = "9" if online is None else ("0" if online else "1")
        jzss.append([code, run, "9" if online is None else "0", "{time}"])
    return {"CDSS": cdss, "JZSS": jzss}


def self_check(ftype: str, name: str, data: bytes, dialect: Dialect, mine_code: str,
               tz: str) -> list[str]:
    """Our ingest's verdict on a file we are about to send: read back in its dialect, put
    into the standard envelope, decoded as the ingest would (``minetwin ingest check``).
    An empty list: clean."""
    from live_bindings import decode_upload
    from twin import UploadFormatError, parse_upload
    try:
        records = split_records(data, dialect)
    except (UplinkError, UnicodeDecodeError) as exc:
        return [f"{name}: {exc}"]
    header = records[0]
    if header[0] != mine_code[:dialect.mine_code_length]:
        return [f"{name}: mine code {header[0]!r} is not this mine's"]
    try:
        when = datetime.strptime(header[2], dialect.time_format)
    except (IndexError, ValueError):
        return [f"{name}: header time {header[2:3]} does not read as {dialect.time_format}"]
    if ftype in dialect.equipment_types():
        return _layout_check(ftype, name, records[1:], dialect)
    if ftype in LAYOUT_TYPES:
        problems = _layout_check(ftype, name, records[1:], dialect)
        return problems or _record_check(ftype, name, header, when, records[1:], dialect,
                                         mine_code, tz)
    std_records = []
    for r in records[1:]:
        std_records.append([_restandard_time(f, dialect) for f in r])
    std_name, std = render(ftype, mine_code, header[1], when, std_records, STANDARD, header[3:])
    problems = []
    try:
        parse_upload(std, std_name, ftype)
        decoded = decode_upload(std, std_name, tz=tz)
        problems += [str(p) for p in decoded.problems]
    except UploadFormatError as exc:
        problems.append(f"{name}: {exc}")
    return problems


def _restandard_time(field: str, dialect: Dialect) -> str:
    if dialect.time_format == STANDARD.time_format:
        return field
    try:
        return datetime.strptime(field, dialect.time_format).strftime(STANDARD.time_format)
    except ValueError:
        return field


def _record_check(ftype: str, name: str, header: list[str], when: datetime,
                  records: list[list[str]], dialect: Dialect, mine_code: str, tz: str
                  ) -> list[str]:
    """A statistics or abnormal file decoded by our ingest: put into REFERENCE.md §3a's
    layout field by field (a field the dialect does not carry is empty, and what the ingest
    says of an empty field the province does not want is not held against the file)."""
    from live_bindings import decode_upload
    from twin import RECORD_FIELDS
    from uplink.live import STANDARD_LAYOUTS
    layout = tuple(dialect.layouts.get(ftype) or STANDARD_LAYOUTS[ftype])
    std_names = STANDARD_LAYOUTS[ftype]
    absent = {RECORD_FIELDS[ftype][i] for i, n in enumerate(std_names) if n not in layout}
    std_records = []
    for r in records:
        named = dict(zip(layout, (_restandard_time(f, dialect) for f in r)))
        std_records.append([named.get(n, "") for n in std_names])
    std_name, std = render(ftype, mine_code, header[1], when, std_records, STANDARD, header[3:])
    try:
        decoded = decode_upload(std, std_name, tz=tz)
    except Exception as exc:                 # noqa: BLE001 — a verdict, never a crash
        return [f"{name}: {exc}"]
    return [f"{name}: {p}" for p in decoded.problems if p.field not in absent]


def _layout_check(ftype: str, name: str, records: list[list[str]], dialect: Dialect
                  ) -> list[str]:
    """A file in a declared or §3a layout: field counts and times."""
    from uplink.live import STANDARD_LAYOUTS, TIME_FIELDS
    layout = dialect.layout_of(ftype) or STANDARD_LAYOUTS.get(ftype)
    if not layout:
        return [f"{name}: the dialect declares no {ftype} layout"]
    problems = []
    for i, r in enumerate(records, start=2):
        if len(r) != len(layout):
            problems.append(f"{name}: record {i}: {len(r)} fields, the {ftype} layout has "
                            f"{len(layout)}")
            continue
        for f, v in zip(layout, r):
            if (f in TIME_FIELDS or f == "time") and v:
                try:
                    datetime.strptime(v, dialect.time_format)
                except ValueError:
                    problems.append(f"{name}: record {i}: {f} {v!r} is not a time")
    return problems


def build_files(model, scene, when: datetime, dialect: Dialect = STANDARD,
                types: tuple[str, ...] = DEFINITIONS + ("CDSS", "JZSS"), live=None,
                since_ms: int = 0, shift_system: str = "三八制") -> list[tuple[str, str, bytes]]:
    """(type, name, bytes) of each file of ``types`` as things stand: definitions from the
    model, CDSS/JZSS from the scene, FZSS/RYSS and the declared-layout types from ``live``
    (a :class:`~uplink.live.LiveRecords`; the statistics and abnormal records are taken
    from it). A declared-layout type with nothing new writes no file."""
    m = model.mine
    stamp = when.strftime(dialect.time_format)
    now_ms = int(when.replace(tzinfo=live.tz if live else None).timestamp() * 1000) \
        if live else 0
    defs = definition_rows(model) if set(types) & set(DEFINITIONS) else {}
    rt = realtime_rows(model, scene) if {"CDSS", "JZSS"} & set(types) else {}
    pending: dict[str, list[dict]] = {}
    if live is not None and set(types) & set(LAYOUT_TYPES):
        pending = live.take_abnormal()
        if "TJSJ" in types:
            live.close_windows(now_ms)
            pending["TJSJ"] = live.take_stats()
    eq_types = dialect.equipment_types()
    eq_rows: dict[str, list[list[str]]] = {}
    if set(types) & set(eq_types):
        from uplink.equipment import equipment_rows
        systems = {ks.system: ks for _, ks in eq_types.values()}
        for kind in ("definition", "realtime"):
            eq_rows.update(equipment_rows(model, scene, systems, stamp, kind))
    files = []
    for ftype in types:
        extra = None
        if ftype in eq_rows:
            rows = eq_rows[ftype]
        elif ftype in defs:
            rows, extra = defs[ftype]
        elif ftype in rt:
            rows = rt[ftype]
        elif ftype in ("FZSS", "RYSS", *LAYOUT_TYPES) and live is None:
            raise UplinkError(f"{ftype} needs the live records of a running twin")
        elif ftype == "FZSS":
            rows = live.fzss_rows(dialect.time_format, now_ms)
        elif ftype == "RYSS":
            rows = live.ryss_rows(dialect.time_format, since_ms, shift_system)
        elif ftype in LAYOUT_TYPES:
            if not pending.get(ftype):
                continue
            from uplink.live import STANDARD_LAYOUTS
            rows = live.layout_rows(pending[ftype],
                                    tuple(dialect.layouts.get(ftype) or STANDARD_LAYOUTS[ftype]),
                                    dialect.time_format)
        else:
            raise UplinkError(f"no exporter for {ftype!r}")
        rows = [[stamp if f == "{time}" else f for f in r] for r in rows]
        name, data = render(ftype, m.code, m.name, when, rows, dialect, extra)
        files.append((ftype, name, data))
    return files


def write_checked(files: list[tuple[str, str, bytes]], out: str | Path, model, when: datetime,
                  dialect: Dialect = STANDARD, encrypt_key: bytes | None = None,
                  digest: str | None = None, sign_key: str | None = None) -> dict:
    """Self-check each file and write it into ``out`` as a hidden ``.part`` renamed when
    complete; a failing one goes to ``out/held/`` with a ``.problems.txt`` beside it. With
    ``encrypt_key`` each checked file is written SM4-encrypted as ``<name>.sm4``; with
    ``digest`` ("sm3" | "sha256") a manifest of the set's files as written follows them, and
    with ``sign_key`` (an SM2 private key, hex) its SM2 signature ``<manifest>.sig``.
    Returns {"written": [names], "held": {name: problems}}."""
    from uplink.security import manifest, sm2_sign, sm4_encrypt
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    m = model.mine
    written, held = [], {}
    for ftype, name, data in files:
        problems = self_check(ftype, name, data, dialect, m.code, m.time_zone)
        if problems:
            hold_back(out, name, data, problems)
            held[name] = problems
            continue
        if encrypt_key is not None:
            name, data = f"{name}.sm4", sm4_encrypt(data, encrypt_key)
        write_atomic(out / name, data)
        written.append(name)
    if digest and written:
        name = f"{m.code[:dialect.mine_code_length]}_MANIFEST_{when.strftime(dialect.name_time)}.json"
        body = manifest({n: (out / n).read_bytes() for n in written}, digest)
        write_atomic(out / name, body)
        written.append(name)
        if sign_key is not None:
            write_atomic(out / f"{name}.sig", sm2_sign(body, sign_key).encode("ascii"))
            written.append(f"{name}.sig")
    return {"written": written, "held": held}


def export_once(model, scene, out: str | Path, when: datetime, dialect: Dialect = STANDARD,
                types: tuple[str, ...] = DEFINITIONS + ("CDSS", "JZSS"), live=None,
                encrypt_key: bytes | None = None, digest: str | None = None,
                sign_key: str | None = None) -> dict:
    """One full set of files into ``out`` (:func:`build_files` then :func:`write_checked`)."""
    files = build_files(model, scene, when, dialect, types, live)
    return write_checked(files, out, model, when, dialect, encrypt_key, digest, sign_key)


def hold_back(out: Path, name: str, data: bytes, problems: list[str]) -> None:
    """Keep a refused file for inspection, its problems beside it; never where it is sent."""
    (out / "held").mkdir(parents=True, exist_ok=True)
    (out / "held" / name).write_bytes(data)
    (out / "held" / f"{name}.problems.txt").write_text("\n".join(problems) + "\n",
                                                     encoding="utf-8")


def write_atomic(path: Path, data: bytes) -> None:
    part = path.with_name(f".{path.name}.part")
    part.write_bytes(data)
    part.replace(path)
