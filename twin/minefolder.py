"""Loading a mine folder (docs/mine-data.md) into a :class:`~twin.model.MineModel`.

Everything is checked and every problem is reported at once, each naming the file, the
record (row) and the field, so an integrator can fix a folder in one pass. Nothing half
loaded is ever returned.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .model import (AIR_DIRECTIONS, EQUIPMENT_KINDS, GAS_CLASSES, PROFILE_KINDS,
                    ROADWAY_TYPES, TUBE_BUNDLE_GASES, TUBE_BUNDLE_TEMPERATURES, Area,
                    Equipment, Heading, LongwallPanel, Mine, MineModel, Outstation, Person,
                    Profile, Reader, Roadway, Sensor, Thresholds, TubeBundlePoint,
                    parse_relations)
from twin.kj_format import Problem, UploadFile, UploadFormatError, parse_file_name, parse_upload

__all__ = ["MineDataError", "load_mine", "DEFINITION_TYPES", "AREA_TYPE_CODES"]

#: The definition files a mine folder carries in ``upload/`` (the latest of each is used).
DEFINITION_TYPES = ("CDDY", "FZDY", "RYQY", "RYJZ", "RYXX")

#: RYQY area type field → area kind. Deployments write the Chinese name or a digit code;
#: the digit codes are a common vendor convention (*verify* per province) — editable here.
AREA_TYPE_CODES = {"重点区域": "key", "限制区域": "restricted", "准入区域": "permitted",
                   "其他区域": "other", "其他": "other", "1": "key", "2": "restricted",
                   "3": "permitted", "0": "other", "key": "key", "restricted": "restricted",
                   "permitted": "permitted", "other": "other"}

_VALUE_TYPES = ("MN", "LJ", "KG", "DT")
_CATEGORIES = tuple(f"T{i}" for i in range(9))


class MineDataError(Exception):
    """A mine folder cannot be loaded; ``problems`` lists every reason."""

    def __init__(self, folder: str | Path, problems: list[Problem]):
        self.folder = str(folder)
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems[:200])
        more = f"\n  … and {len(problems) - 200} more" if len(problems) > 200 else ""
        super().__init__(f"{folder}: {len(problems)} problem(s):\n{lines}{more}")


class _Checker:
    """Collects problems while values are converted."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.problems: list[Problem] = []

    def add(self, file: str, record: int, field: str | None, message: str) -> None:
        self.problems.append(Problem(file, record, field, message))

    def number(self, file: str, record: int, field: str, text: Any, *,
               optional: bool = False, positive: bool = False) -> float | None:
        if text is None or (isinstance(text, str) and text.strip() == ""):
            if not optional:
                self.add(file, record, field, "missing")
            return None
        try:
            v = float(text)
        except (TypeError, ValueError):
            self.add(file, record, field, f"not a number: {text!r}")
            return None
        if not np.isfinite(v):
            self.add(file, record, field, f"not a finite number: {text!r}")
            return None
        if positive and v <= 0:
            self.add(file, record, field, f"must be > 0, got {v:g}")
            return None
        return v

    def choice(self, file: str, record: int, field: str, text: Any, choices) -> str | None:
        if text not in choices:
            self.add(file, record, field, f"{text!r} is not one of {', '.join(choices)}")
            return None
        return text

    def digits(self, file: str, record: int, field: str, text: str, n: int,
               prefix: str | None = None) -> bool:
        if not (len(text) == n and text.isdigit()):
            self.add(file, record, field, f"{text!r} is not {n} digits")
            return False
        if prefix is not None and not text.startswith(prefix):
            self.add(file, record, field, f"{text!r} does not start with {prefix!r}")
            return False
        return True


def _read_csv(ck: _Checker, name: str, columns: tuple[str, ...], required: bool = True
              ) -> list[tuple[int, dict[str, str]]]:
    path = ck.folder / name
    if not path.exists():
        if required:
            ck.add(name, 0, None, "missing file")
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        ck.add(name, 0, None, f"cannot be read as UTF-8: {exc}")
        return []
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        ck.add(name, 1, None, f"missing columns: {', '.join(missing)} (header must have "
                              f"{', '.join(columns)})")
        return []
    # Row numbers as a spreadsheet shows them: the header is row 1.
    return [(i, {k: (v or "").strip() for k, v in row.items() if k})
            for i, row in enumerate(reader, start=2)]


def _read_toml(ck: _Checker, name: str, required: bool = True) -> dict[str, Any]:
    path = ck.folder / name
    if not path.exists():
        if required:
            ck.add(name, 0, None, "missing file")
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        ck.add(name, 0, None, f"not valid TOML: {exc}")
        return {}


def _latest_uploads(ck: _Checker, mine_code: str | None) -> dict[str, UploadFile]:
    folder = ck.folder / "upload"
    found: dict[str, tuple[Any, Path]] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.txt")):
            try:
                code, ftype, t = parse_file_name(path.name)
            except UploadFormatError as exc:
                ck.problems.extend(Problem(f"upload/{p.file}", p.record, p.field, p.message)
                                   for p in exc.problems)
                continue
            if ftype not in DEFINITION_TYPES:
                continue
            if mine_code and code != mine_code:
                ck.add(f"upload/{path.name}", 0, None,
                       f"belongs to mine {code}, this mine is {mine_code}")
                continue
            if ftype not in found or t > found[ftype][0]:
                found[ftype] = (t, path)
    out = {}
    for ftype in DEFINITION_TYPES:
        if ftype not in found:
            ck.add("upload/", 0, None, f"no {ftype} definition file "
                                       f"(<mine code>_{ftype}_<yyyyMMddHHmmss>.txt)")
            continue
        path = found[ftype][1]
        try:
            out[ftype] = f = parse_upload(path.read_bytes(), path.name, ftype)
            ck.problems.extend(Problem(f"upload/{p.file}", p.record, p.field, p.message)
                               for p in f.problems)
        except UploadFormatError as exc:
            ck.problems.extend(Problem(f"upload/{p.file}", p.record, p.field, p.message)
                               for p in exc.problems)
    return out


def _records(uploads: dict[str, UploadFile], ftype: str):
    """(file name as reported, record number, fields) of a definition file's records."""
    f = uploads.get(ftype)
    if f is None:
        return
    for i, r in f.numbered():                       # record 1 is the header
        yield f"upload/{f.name}", i, r


def load_mine(folder: str | Path) -> MineModel:
    """Load and validate a mine folder; raises :class:`MineDataError` listing every problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MineDataError(folder, [Problem(str(folder), 0, None, "not a folder")])
    ck = _Checker(folder)
    if (folder / "sensor_codes.toml").exists():      # the platform's own code rows
        from .sensor_types import use_codes
        try:
            use_codes(folder / "sensor_codes.toml")
        except ValueError as exc:
            ck.add("sensor_codes.toml", 0, None, str(exc))

    meta = _read_toml(ck, "mine.toml")
    m = meta.get("mine", {}) if isinstance(meta.get("mine"), dict) else {}
    crs = meta.get("crs", {}) if isinstance(meta.get("crs"), dict) else {}
    code = str(m.get("code", ""))
    if meta:
        ck.digits("mine.toml", 0, "mine.code", code, 12)
        if not m.get("name"):
            ck.add("mine.toml", 0, "mine.name", "missing")
        ck.choice("mine.toml", 0, "mine.gas_class", m.get("gas_class"), GAS_CLASSES)
    origin = crs.get("origin", [0.0, 0.0, 0.0])
    if not (isinstance(origin, list) and len(origin) == 3
            and all(isinstance(v, (int, float)) for v in origin)):
        ck.add("mine.toml", 0, "crs.origin", "expected [easting, northing, elevation] in metres")
        origin = [0.0, 0.0, 0.0]
    o = np.array(origin, dtype=float)
    mine = Mine(name=str(m.get("name", "")), code=code, gas_class=str(m.get("gas_class", "")),
                time_zone=str(m.get("time_zone", "Asia/Shanghai")), crs=str(crs.get("name", "")),
                origin=tuple(o.tolist()))

    def local(file: str, rec: int, x: Any, y: Any, z: Any) -> tuple[float, float, float] | None:
        vals = [ck.number(file, rec, f, v) for f, v in (("x", x), ("y", y), ("z", z))]
        if any(v is None for v in vals):
            return None
        return tuple((np.array(vals) - o).tolist())  # type: ignore[return-value]

    roadways = _roadways(ck, local)
    uploads = _latest_uploads(ck, code if len(code) == 12 else None)

    outstations: dict[str, Outstation] = {}
    for fname, i, r in _records(uploads, "FZDY"):
        pos = local(fname, i, r[2], r[3], r[4])
        if r[0] in outstations:
            ck.add(fname, i, "outstation code", f"{r[0]!r} is defined twice")
        if pos is not None:
            outstations[r[0]] = Outstation(r[0], r[1], pos)

    sensors = _sensors(ck, uploads, outstations, roadways, local)
    areas = _areas(ck, uploads, roadways, code)
    readers = _readers(ck, uploads, roadways, areas, local)
    people = _people(ck, uploads, code)
    longwalls, headings = _faces(ck, roadways, local, o)
    equipment = _equipment(ck, roadways, local)
    tube_bundle = _tube_bundle(ck, roadways, sensors)

    if ck.problems:
        raise MineDataError(folder, ck.problems)
    return MineModel(mine=mine, roadways=roadways, longwalls=longwalls, headings=headings,
                     outstations=outstations, sensors=sensors, readers=readers, areas=areas,
                     people=people, equipment=equipment, tube_bundle=tube_bundle)


def _tube_bundle(ck: _Checker, roadways, sensors) -> dict[str, TubeBundlePoint]:
    """``tube_bundle.csv`` (optional): ``id,name,roadway,chainage_m,sealed`` and one column per
    gas (o2 n2 co co2 ch4 h2 c2h4 c2h6 c2h2) and temperature (temperature,
    water_temperature) naming the monitoring point (CDDY) that carries it; empty: not
    analysed there. O2, N2 and CO are needed for the Graham ratio."""
    out: dict[str, TubeBundlePoint] = {}
    name = "tube_bundle.csv"
    for i, r in _read_csv(ck, name, ("id", "name", "roadway", "chainage_m", "sealed", "o2",
                                     "n2", "co"), required=False):
        if not r["id"] or r["id"] in out:
            ck.add(name, i, "id", f"{r['id']!r} is empty or defined twice")
            continue
        if r["sealed"] not in ("0", "1"):
            ck.add(name, i, "sealed", f"{r['sealed']!r} is not 0 or 1")
            continue
        maps = {}
        for col in TUBE_BUNDLE_GASES + TUBE_BUNDLE_TEMPERATURES:
            code = r.get(col, "")
            if code and code not in sensors:
                ck.add(name, i, col, f"{code!r} is not a monitoring point of CDDY")
            elif code:
                maps[col] = code
        if not {"o2", "n2", "co"} <= set(maps):
            ck.add(name, i, None, "o2, n2 and co need their points (the Graham ratio)")
            continue
        rid, ch = _on_roadway(ck, name, i, roadways, r["roadway"], r["chainage_m"])
        if rid is None:
            if not r["roadway"]:
                ck.add(name, i, "roadway", "empty: where the tube draws its sample")
            continue
        out[r["id"]] = TubeBundlePoint(
            r["id"], r["name"] or r["id"], rid, ch, tuple(roadways[rid].point_at(ch).tolist()),
            r["sealed"] == "1", {k: v for k, v in maps.items() if k in TUBE_BUNDLE_GASES},
            {k: v for k, v in maps.items() if k in TUBE_BUNDLE_TEMPERATURES})
    return out


def _roadways(ck: _Checker, local: Callable) -> dict[str, Roadway]:
    rows = _read_csv(ck, "roadways.csv", ("id", "name", "type", "profile", "width_m",
                                          "height_m", "air"))
    specs = {}
    for i, r in rows:
        f = "roadways.csv"
        if not r["id"]:
            ck.add(f, i, "id", "missing")
            continue
        if r["id"] in specs:
            ck.add(f, i, "id", f"{r['id']!r} is defined twice")
            continue
        ok = ck.choice(f, i, "type", r["type"], tuple(ROADWAY_TYPES))
        ok = ck.choice(f, i, "profile", r["profile"], PROFILE_KINDS) and ok
        ok = ck.choice(f, i, "air", r["air"], AIR_DIRECTIONS) and ok
        w = ck.number(f, i, "width_m", r["width_m"], positive=True)
        h = ck.number(f, i, "height_m", r["height_m"], positive=True)
        top = ck.number(f, i, "top_width_m", r.get("top_width_m"), optional=True, positive=True)
        if ok and w and h:
            specs[r["id"]] = (r, Profile(r["profile"], w, h, top), i)

    points: dict[str, list[tuple[int, int, tuple]]] = defaultdict(list)
    for i, r in _read_csv(ck, "centerlines.csv", ("roadway", "seq", "x", "y", "z")):
        f = "centerlines.csv"
        if r["roadway"] not in specs:
            ck.add(f, i, "roadway", f"{r['roadway']!r} is not in roadways.csv")
            continue
        seq = ck.number(f, i, "seq", r["seq"])
        p = local(f, i, r["x"], r["y"], r["z"])
        if seq is not None and p is not None:
            points[r["roadway"]].append((int(seq), i, p))
    out = {}
    for rid, (r, profile, row) in specs.items():
        pts = sorted(points.get(rid, []))
        if len(pts) < 2:
            ck.add("centerlines.csv", 0, None, f"roadway {rid!r} has {len(pts)} centerline "
                                               f"points; it needs at least 2")
            continue
        seqs = [s for s, _, _ in pts]
        if len(set(seqs)) != len(seqs):
            ck.add("centerlines.csv", 0, "seq", f"roadway {rid!r} repeats a seq number")
            continue
        line = np.array([p for _, _, p in pts])
        if (np.linalg.norm(np.diff(line, axis=0), axis=1) < 1e-6).any():
            ck.add("centerlines.csv", pts[0][1], None,
                   f"roadway {rid!r} has two consecutive identical points")
            continue
        out[rid] = Roadway(rid, r["name"], r["type"], profile, line, r["air"])
    return out


def _on_roadway(ck: _Checker, file: str, rec: int, roadways: dict[str, Roadway],
                rid: str, chainage: str) -> tuple[str | None, float | None]:
    if not rid:
        return None, None
    if rid not in roadways:
        ck.add(file, rec, "roadway", f"{rid!r} is not a roadway of this mine")
        return None, None
    ch = ck.number(file, rec, "chainage_m", chainage)
    if ch is None:
        return None, None
    length = roadways[rid].length_m
    if not -1e-6 <= ch <= length + 1e-6:
        ck.add(file, rec, "chainage_m", f"{ch:g} m is outside roadway {rid!r} "
                                        f"(0 … {length:.1f} m)")
        return None, None
    return rid, ch


def _sensors(ck, uploads, outstations, roadways, local) -> dict[str, Sensor]:
    out: dict[str, Sensor] = {}
    if "CDDY" not in uploads:
        return out             # reported already; checking sensors.csv would only add noise
    where: dict[str, tuple[str, int]] = {}
    names = ("upper alarm", "upper alarm clear", "lower alarm", "lower alarm clear",
             "upper power-off", "upper re-power", "lower power-off", "lower re-power")
    for fname, i, r in _records(uploads, "CDDY"):
        code = r[0]
        if not code:
            ck.add(fname, i, "point code", "missing")
            continue
        if code in out:
            ck.add(fname, i, "point code", f"{code!r} is defined twice")
            continue
        ok = ck.choice(fname, i, "system code", r[1], ("01", "02")) is not None
        if r[2] not in outstations:
            ck.add(fname, i, "outstation code", f"{r[2]!r} is not in the FZDY file")
            ok = False
        if not (len(r[3]) == 4 and r[3].isdigit()):
            ck.add(fname, i, "sensor type code", f"{r[3]!r} is not a 4-digit type code")
            ok = False
        ok = ck.choice(fname, i, "value type", r[4], _VALUE_TYPES) is not None and ok
        hi = ck.number(fname, i, "range high", r[6], optional=True)
        lo = ck.number(fname, i, "range low", r[7], optional=True)
        th = [ck.number(fname, i, n, v, optional=True) for n, v in zip(names, r[8:16])]
        pos = local(fname, i, r[19], r[20], r[21])
        try:
            rel = parse_relations(r[22], code)
        except ValueError as exc:
            ck.add(fname, i, "relations", str(exc))
            ok = False
        if ok and pos is not None:
            out[code] = Sensor(point_code=code, system=r[1], outstation=r[2], type_code=r[3],
                               value_type=r[4], unit=r[5], range=(lo, hi),
                               thresholds=Thresholds(*th), location=r[18], position=pos,
                               on_text=r[16], off_text=r[17], relations=rel)
            where[code] = (fname, i)
    for code, s in out.items():          # a relation names a point of the same file
        for rel in s.relations:
            if rel.point not in out:
                ck.add(*where[code], "relations", f"{rel.kind}-{rel.point}: {rel.point!r} is "
                                                  f"not a point of the CDDY file")
    # sensors.csv places points on the network and gives their AQ 1029 position category.
    for i, r in _read_csv(ck, "sensors.csv", ("point_code", "roadway", "chainage_m",
                                             "category"), required=False):
        s = out.get(r["point_code"])
        if s is None:
            ck.add("sensors.csv", i, "point_code", f"{r['point_code']!r} is not in the CDDY file")
            continue
        rid, ch = _on_roadway(ck, "sensors.csv", i, roadways, r["roadway"], r["chainage_m"])
        cat = r["category"] or None
        if cat is not None and cat not in _CATEGORIES:
            ck.add("sensors.csv", i, "category", f"{cat!r} is not one of T0 … T8")
            cat = None
        out[s.point_code] = Sensor(**{**_asdict(s), "roadway": rid, "chainage_m": ch,
                                      "category": cat})
    return out


def _areas(ck, uploads, roadways, mine_code) -> dict[str, Area]:
    out: dict[str, Area] = {}
    for fname, i, r in _records(uploads, "RYQY"):
        kind = AREA_TYPE_CODES.get(r[0])
        if kind is None:
            ck.add(fname, i, "area type", f"{r[0]!r} is not one of "
                                          f"{', '.join(k for k in AREA_TYPE_CODES if not k.isascii())}")
        ok = ck.digits(fname, i, "area code", r[1], 16, mine_code or None)
        n = ck.number(fname, i, "rated headcount", r[2])
        if r[1] in out:
            ck.add(fname, i, "area code", f"{r[1]!r} is defined twice")
            continue
        if kind and ok and n is not None:
            out[r[1]] = Area(r[1], kind, int(n), r[3])
    for i, r in _read_csv(ck, "areas.csv", ("area_code", "roadways"), required=False):
        a = out.get(r["area_code"])
        if a is None:
            ck.add("areas.csv", i, "area_code", f"{r['area_code']!r} is not in the RYQY file")
            continue
        rids = tuple(x.strip() for x in r["roadways"].split("|") if x.strip())
        bad = [x for x in rids if x not in roadways]
        if bad:
            ck.add("areas.csv", i, "roadways", f"not roadways of this mine: {', '.join(bad)}")
            continue
        out[a.code] = Area(a.code, a.kind, a.rated_headcount, a.name, rids)
    return out


def _readers(ck, uploads, roadways, areas, local) -> dict[str, Reader]:
    out: dict[str, Reader] = {}
    for fname, i, r in _records(uploads, "RYJZ"):
        code, name, x, y, z, location = r
        if not ck.digits(fname, i, "reader code", code, 22):
            continue
        if areas and code[:16] not in areas:
            ck.add(fname, i, "reader code", f"{code!r}: its area {code[:16]!r} is not in RYQY")
            continue
        # §3a's RYJZ carries coordinates (the older form none): where it is drawn until
        # readers.csv places it on its roadway
        pos = local(fname, i, x, y, z) if (x or y or z) else None
        out[code] = Reader(code, name, location, None, None, pos)
    for i, r in _read_csv(ck, "readers.csv", ("reader_code", "roadway", "chainage_m"),
                          required=False):
        rd = out.get(r["reader_code"])
        if rd is None:
            ck.add("readers.csv", i, "reader_code", f"{r['reader_code']!r} is not in RYJZ")
            continue
        rid, ch = _on_roadway(ck, "readers.csv", i, roadways, r["roadway"], r["chainage_m"])
        if rid is not None:
            pos = tuple(roadways[rid].point_at(ch).tolist())
            out[rd.code] = Reader(rd.code, rd.name, rd.location, rid, ch, pos)
    return out


def _people(ck, uploads, mine_code) -> dict[str, Person]:
    out: dict[str, Person] = {}
    for fname, i, r in _records(uploads, "RYXX"):
        if not ck.digits(fname, i, "card code", r[0], 17, mine_code or None):
            continue
        flags = []
        for field, v in (("is leader", r[7]), ("is special worker", r[8])):
            if v not in ("0", "1"):
                ck.add(fname, i, field, f"{v!r} is not 0 or 1")
            flags.append(v == "1")
        if r[0] in out:
            ck.add(fname, i, "card code", f"{r[0]!r} is defined twice")
            continue
        out[r[0]] = Person(r[0], r[1], r[2], r[3], r[4], r[5], r[6], flags[0], flags[1])
    return out


def _faces(ck, roadways, local, origin: np.ndarray
           ) -> tuple[dict[str, LongwallPanel], dict[str, Heading]]:
    doc = _read_toml(ck, "faces.toml", required=False)
    longwalls, headings = {}, {}
    for n, lw in enumerate(doc.get("longwall", []), start=1):
        where = f"longwall[{n}]"
        try:
            outline = np.array(lw["outline"], dtype=float)[:, :2] - origin[:2]
            start = np.array([local("faces.toml", n, *p) for p in lw["start_line"]], dtype=float)
            adv = np.array(lw["advance_direction"], dtype=float)
            values = {k: float(lw[k]) for k in ("face_length_m", "mining_height_m",
                                                "plan_m_per_day", "advanced_m")}
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            ck.add("faces.toml", n, where, f"incomplete or malformed: {exc}")
            continue
        if outline.ndim != 2 or len(outline) < 3 or start.shape != (2, 3) or adv.shape != (2,) \
                or not np.linalg.norm(adv):
            ck.add("faces.toml", n, where, "outline needs >= 3 points, start_line 2 points, "
                                           "advance_direction [dx, dy]")
            continue
        for key in ("intake_roadway", "return_roadway"):
            if lw.get(key) not in roadways:
                ck.add("faces.toml", n, f"{where}.{key}", f"{lw.get(key)!r} is not a roadway")
        longwalls[lw.get("id", f"longwall-{n}")] = LongwallPanel(
            id=lw.get("id", f"longwall-{n}"), name=lw.get("name", ""), seam=lw.get("seam", ""),
            outline=outline, start_line=start, advance_direction=adv / np.linalg.norm(adv),
            intake_roadway=lw.get("intake_roadway", ""),
            return_roadway=lw.get("return_roadway", ""), **values)
    for n, hd in enumerate(doc.get("heading", []), start=1):
        where = f"heading[{n}]"
        rid = hd.get("roadway")
        if rid not in roadways:
            ck.add("faces.toml", n, f"{where}.roadway", f"{rid!r} is not a roadway")
            continue
        try:
            adv, plan = float(hd["advanced_m"]), float(hd["plan_m_per_day"])
        except (KeyError, TypeError, ValueError) as exc:
            ck.add("faces.toml", n, where, f"incomplete or malformed: {exc}")
            continue
        if not 0 <= adv <= roadways[rid].length_m:
            ck.add("faces.toml", n, f"{where}.advanced_m", f"{adv:g} m is outside roadway {rid!r}")
            continue
        hid = hd.get("id", f"heading-{n}")
        headings[hid] = Heading(hid, hd.get("name", ""), rid, adv, plan)
    return longwalls, headings


def _equipment(ck, roadways, local) -> dict[str, Equipment]:
    doc = _read_toml(ck, "equipment.toml", required=False)
    out = {}
    for n, e in enumerate(doc.get("equipment", []), start=1):
        eid = e.get("id")
        where = f"equipment[{n}]"
        if not eid or eid in out:
            ck.add("equipment.toml", n, f"{where}.id", "missing or defined twice")
            continue
        if ck.choice("equipment.toml", n, f"{where}.kind", e.get("kind"), EQUIPMENT_KINDS) is None:
            continue
        rid, ch = _on_roadway(ck, "equipment.toml", n, roadways, e.get("roadway", ""),
                              str(e.get("chainage_m", "")))
        if rid is not None:
            pos = tuple(roadways[rid].point_at(ch).tolist())
        elif "position" in e and len(e["position"]) == 3:
            pos = local("equipment.toml", n, *e["position"])
        else:
            ck.add("equipment.toml", n, where, "needs roadway + chainage_m, or position")
            continue
        params = {}
        for k, v in (e.get("parameters") or {}).items():
            if not (isinstance(v, list) and len(v) == 2 and isinstance(v[0], (int, float, str))):
                ck.add("equipment.toml", n, f"{where}.parameters.{k}", "expected [value, unit]")
                continue
            params[k] = (v[0], v[1] or None)
        if pos is not None:
            out[eid] = Equipment(eid, e["kind"], e.get("name", ""), rid, ch, pos, params)
    return out


def _asdict(obj: Any) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in obj.__slots__}
