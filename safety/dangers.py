"""Hidden dangers (隐患排查治理): every item from its report to its closing, each step by a
named person whose role allows it, audited, with photos and documents kept beside it.

The loop — one table, ``STEPS``; nothing else moves an item::

    report   (new)                → reported    待评估   from the viewer on a node or a place,
                                                          or from an alarm
    assess   reported             → assessed    待下达   the grade (major, A, B, C)
    assign   assessed             → assigned    整改中   a team, a deadline, the measures
    rectify  assigned             → rectified   待验收   what was done (photos)
    verify   rectified            → verified    待销号   passed …
             rectified            → assigned    整改中   … or failed: back to the team
    close    verified             → closed      已销号
    reject   reported, assessed   → rejected    已驳回   not a hidden danger / a duplicate
    comment  any                  → (same)               a note, attachments

An assigned item past its deadline is **overdue**: it raises an alarm of kind ``danger``
(``overdue`` gives the RuleEvents; its level is the grade's ``alarm``) that clears when the item
is rectified, rejected or closed; open items raise their area's risk level (risk.py, facts
``danger`` and ``danger_overdue``).

Who may do what is data (``default_dangers.toml``, a mine's ``dangers.toml``): roles per step,
the teams, and optionally the people and their duties. Refusals say why; the protocol's audit
trail records them with every other command. Stored in SQLite (WAL); attachments are files named
by their SHA-256 under the attachments folder. Times are on the data clock, as alarms' are.

Exceptions::

    DangerError           -- a step that cannot be taken (unknown item, wrong state, bad field)
      DangerRefused       -- … because this person may not take it (role, duty, team, self-check)
    DangerConfigError     -- a dangers.toml that cannot be used (lists every problem)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

from twin import MineModel, open_sqlite, read_toml

from .risk import LEVELS, RISK_HAZARDS, level_index
from .rules import Rule, RuleEvent

__all__ = ["DangerBook", "DangerError", "DangerRefused", "DangerConfigError", "Workflow",
           "DangerLevel", "load_workflow", "check_workflow", "STATES", "STEPS", "OPEN_STATES"]

DEFAULT_DANGERS = Path(__file__).with_name("default_dangers.toml")

#: state → (Chinese, English)
STATES = {"reported": ("待评估", "reported"), "assessed": ("待下达", "assessed"),
          "assigned": ("整改中", "being rectified"), "rectified": ("待验收", "rectified"),
          "verified": ("待销号", "verified"), "closed": ("已销号", "closed"),
          "rejected": ("已驳回", "rejected")}
OPEN_STATES = ("reported", "assessed", "assigned", "rectified", "verified")
#: step → (the states it may start from, the state it leads to; None: unchanged)
STEPS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "report": ((), "reported"),
    "assess": (("reported",), "assessed"),
    "assign": (("assessed",), "assigned"),
    "rectify": (("assigned",), "rectified"),
    "verify": (("rectified",), "verified"),          # passed; failed → assigned (below)
    "close": (("verified",), "closed"),
    "reject": (("reported", "assessed"), "rejected"),
    "comment": (OPEN_STATES + ("closed", "rejected"), None),
}
STEP_WORDS = {"report": ("上报", "reported"), "assess": ("评估定级", "assessed"),
              "assign": ("下达整改", "assigned"), "rectify": ("整改完成", "rectified"),
              "verify": ("验收", "verified"), "close": ("销号", "closed"),
              "reject": ("驳回", "rejected"), "comment": ("备注", "comment"),
              "overdue": ("逾期", "overdue")}
TEXT_LIMIT = 2000
#: Refused attachments kept for a look per server run (each at most one protocol message).
REFUSED_KEPT = 200
TITLE_LIMIT = 200
_DAY_MS = 86_400_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dangers (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL, hazard TEXT,
    level TEXT, state TEXT NOT NULL, area TEXT, node TEXT, x REAL, y REAL, z REAL,
    alarm_id INTEGER, team TEXT, deadline_ms INTEGER, measures TEXT,
    reported_ms INTEGER NOT NULL, reported_by TEXT NOT NULL, updated_ms INTEGER NOT NULL,
    closed_ms INTEGER, overdue_ms INTEGER, rectified_by TEXT);
CREATE TABLE IF NOT EXISTS danger_steps (
    id INTEGER PRIMARY KEY, danger INTEGER NOT NULL, step TEXT NOT NULL, state_from TEXT,
    state_to TEXT NOT NULL, person TEXT NOT NULL, role TEXT NOT NULL, time_ms INTEGER NOT NULL,
    comment TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS danger_files (
    danger INTEGER NOT NULL, sha256 TEXT NOT NULL, name TEXT NOT NULL, mime TEXT NOT NULL,
    bytes INTEGER NOT NULL, step INTEGER NOT NULL, person TEXT NOT NULL, time_ms INTEGER NOT NULL,
    PRIMARY KEY (danger, sha256));
CREATE INDEX IF NOT EXISTS dangers_state ON dangers (state);
CREATE INDEX IF NOT EXISTS danger_steps_of ON danger_steps (danger);
"""
_COLUMNS = ("id", "title", "description", "hazard", "level", "state", "area", "node", "x", "y",
            "z", "alarm_id", "team", "deadline_ms", "measures", "reported_ms", "reported_by",
            "updated_ms", "closed_ms", "overdue_ms", "rectified_by")


class DangerError(ValueError):
    """A hidden-danger step that cannot be taken; the message says why (``zh``: in Chinese,
    where it is one a person meets in normal use — a refusal, a step out of order)."""

    def __init__(self, message: str, zh: str | None = None):
        super().__init__(message)
        self.zh = zh


class DangerRefused(DangerError):
    """The person may not take this step (role, duty, team, their own rectification)."""


class DangerConfigError(ValueError):
    """A dangers.toml that cannot be used; the message lists every problem."""


@dataclass(frozen=True, slots=True)
class DangerLevel:
    id: str
    zh: str
    en: str
    days: float
    risk: int                  # index into risk.LEVELS
    alarm: int                 # 1 … 3


@dataclass(frozen=True, slots=True)
class Workflow:
    levels: dict[str, DangerLevel]
    steps: dict[str, tuple[str, ...]]
    teams: tuple[str, ...] = ()
    people: dict[str, tuple[frozenset[str], str]] = field(default_factory=dict)  # name → (duties, team)
    max_bytes: int = 900_000
    types: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp", "application/pdf")


# ---------------------------------------------------------------------------- the workflow

_ROLES = ("viewer", "operator", "instructor", "admin")


def _parse(doc: dict, path: str, problems: list[str], base: Workflow | None) -> Workflow:
    unknown = set(doc) - {"level", "steps", "teams", "person", "attachments"}
    if unknown:
        problems.append(f"{path}: unknown keys {sorted(unknown)} (level, steps, teams, person, "
                        f"attachments)")
    levels = dict(base.levels) if base else {}
    for n, r in enumerate(doc.get("level", []), start=1):
        where = f"{path}: level {n}"
        bad = set(r) - {"id", "zh", "en", "days", "risk", "alarm"}
        if bad:
            problems.append(f"{where}: unknown keys {sorted(bad)}")
        if not isinstance(r.get("id"), str) or not r["id"].strip():
            problems.append(f"{where}: id missing")
            continue
        old = levels.get(r["id"])
        days = r.get("days", old.days if old else None)
        risk = level_index(r["risk"]) if "risk" in r else (old.risk if old else None)
        alarm = r.get("alarm", old.alarm if old else None)
        bad = [why for ok, why in (
            (isinstance(days, (int, float)) and not isinstance(days, bool) and days > 0,
             "days must be a number > 0"),
            (risk is not None, f"risk must be one of {', '.join(LEVELS)}"),
            (alarm in (1, 2, 3), "alarm must be 1, 2 or 3")) if not ok]
        problems += [f"{where}: {why}" for why in bad]
        if bad:
            continue
        levels[r["id"]] = DangerLevel(r["id"], str(r.get("zh", old.zh if old else r["id"])),
                                      str(r.get("en", old.en if old else r["id"])),
                                      float(days), risk, alarm)
    steps = dict(base.steps) if base else {}
    for step, roles in doc.get("steps", {}).items():
        if step not in STEPS:
            problems.append(f"{path}: steps.{step}: not a step ({', '.join(STEPS)})")
        elif not isinstance(roles, list) or not all(r in _ROLES for r in roles):
            problems.append(f"{path}: steps.{step}: a list of roles ({', '.join(_ROLES)})")
        else:
            steps[step] = tuple(roles)
    teams = doc.get("teams", list(base.teams) if base else [])
    if not isinstance(teams, list) or not all(isinstance(t, str) and t.strip() for t in teams):
        problems.append(f"{path}: teams must be a list of names")
        teams = []
    people = dict(base.people) if base and "person" not in doc else {}
    for n, r in enumerate(doc.get("person", []), start=1):
        where = f"{path}: person {n}"
        bad = set(r) - {"name", "duties", "team"}
        if bad:
            problems.append(f"{where}: unknown keys {sorted(bad)}")
        duties = r.get("duties", [])
        if not isinstance(r.get("name"), str) or not r["name"].strip():
            problems.append(f"{where}: name missing")
            continue
        if not isinstance(duties, list) or not all(d in STEPS for d in duties):
            problems.append(f"{where}: duties must be a list of steps ({', '.join(STEPS)})")
            continue
        team = str(r.get("team", ""))
        if team and teams and team not in teams:
            problems.append(f"{where}: team {team!r} is not in teams")
        people[r["name"].strip()] = (frozenset(duties), team)
    att = doc.get("attachments", {})
    max_bytes = att.get("max_bytes", base.max_bytes if base else 900_000)
    if not isinstance(max_bytes, int) or max_bytes < 1024:
        problems.append(f"{path}: attachments.max_bytes must be a whole number ≥ 1024")
        max_bytes = 900_000
    types = att.get("types", list(base.types) if base else [])
    if not isinstance(types, list) or not all(t in _MAGIC for t in types):
        problems.append(f"{path}: attachments.types: a list of {', '.join(_MAGIC)}")
        types = []
    return Workflow(levels, steps, tuple(teams), people, max_bytes, tuple(types))


def _workflow(mine_dir: str | Path | None, problems: list[str]) -> Workflow:
    base = _parse(read_toml(DEFAULT_DANGERS, DangerConfigError), str(DEFAULT_DANGERS), problems,
                  None)
    path = Path(mine_dir) / "dangers.toml" if mine_dir is not None else None
    if path is not None and path.exists():
        base = _parse(read_toml(path, DangerConfigError), str(path), problems, base)
    missing = [s for s in STEPS if s not in base.steps]
    if missing:
        problems.append(f"steps without roles: {', '.join(missing)}")
    if not base.levels:
        problems.append("no levels")
    return base


def check_workflow(mine_dir: str | Path | None) -> list[str]:
    """Every problem of the mine folder's ``dangers.toml`` (and of the defaults under it)."""
    problems: list[str] = []
    try:
        _workflow(mine_dir, problems)
    except DangerConfigError as exc:
        problems.append(str(exc))
    return problems


def load_workflow(mine_dir: str | Path | None = None) -> Workflow:
    problems: list[str] = []
    wf = _workflow(mine_dir, problems)
    if problems:
        raise DangerConfigError("\n".join(problems))
    return wf


# ---------------------------------------------------------------------------- attachments

#: what a file's first bytes say it is (the name's extension is not trusted)
_MAGIC = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",),
          "image/webp": (b"RIFF",), "application/pdf": (b"%PDF-",)}
_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
        "application/pdf": ".pdf"}


def _sniff(data: bytes) -> str | None:
    for mime, heads in _MAGIC.items():
        if any(data.startswith(h) for h in heads) and (mime != "image/webp" or data[8:12] == b"WEBP"):
            return mime
    return None


def _safe_name(name: str, mime: str) -> str:
    base = "".join(ch for ch in Path(str(name)).name if ch.isprintable() and ch not in '\\/:*?"<>|')
    base = base.strip(". ")[:120] or "file"
    return base if "." in base else base + _EXT[mime]


# ---------------------------------------------------------------------------- the book

@dataclass(frozen=True, slots=True)
class Danger:
    id: int
    title: str
    description: str
    hazard: str | None
    level: str | None
    state: str
    area: str | None
    node: str | None
    x: float | None
    y: float | None
    z: float | None
    alarm_id: int | None
    team: str | None
    deadline_ms: int | None
    measures: str | None
    reported_ms: int
    reported_by: str
    updated_ms: int
    closed_ms: int | None
    overdue_ms: int | None
    rectified_by: str | None

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES

    def overdue_at(self, now_ms: int) -> bool:
        return self.state == "assigned" and self.deadline_ms is not None and now_ms > self.deadline_ms


class DangerBook:
    """The hidden dangers of one mine, in SQLite. ``take(step, person, role, args, now_ms)``
    is the only way an item changes; ``overdue(now_ms)`` the RuleEvents of deadlines passed."""

    def __init__(self, model: MineModel, workflow: Workflow, *, path: str | Path = ":memory:",
                 files: str | Path | None = None,
                 area_of: Callable[[str | None, list | None], str | None] | None = None):
        self.model, self.workflow = model, workflow
        self.db = open_sqlite(path, _SCHEMA)
        self.files = Path(files) if files is not None else None
        self.area_of = area_of or (lambda node, position: None)
        self._open: dict[int, Danger] = {}
        for row in self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM dangers WHERE state IN "
                                   f"({', '.join('?' * len(OPEN_STATES))})", OPEN_STATES):
            d = Danger(*row)
            self._open[d.id] = d
        self.version = 0                        # bumped on every change (risk, listeners)
        self.refused_files = 0                  # attachments refused and kept (refused/)

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------ reading

    def get(self, danger_id: int) -> Danger | None:
        if danger_id in self._open:
            return self._open[danger_id]
        row = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM dangers WHERE id = ?",
                              (danger_id,)).fetchone()
        return Danger(*row) if row else None

    def open_items(self) -> list[Danger]:
        return sorted(self._open.values(), key=lambda d: d.id)

    def steps_of(self, danger_id: int) -> list[dict]:
        return [{"id": r[0], "step": r[1], "from": r[2], "to": r[3], "person": r[4], "role": r[5],
                 "time_ms": r[6], "comment": r[7], "detail": json.loads(r[8])}
                for r in self.db.execute("SELECT id, step, state_from, state_to, person, role, "
                                         "time_ms, comment, detail FROM danger_steps WHERE "
                                         "danger = ? ORDER BY id", (danger_id,))]

    def files_of(self, danger_id: int) -> list[dict]:
        return [{"sha256": r[0], "name": r[1], "mime": r[2], "bytes": r[3], "step": r[4],
                 "person": r[5], "time_ms": r[6]}
                for r in self.db.execute("SELECT sha256, name, mime, bytes, step, person, time_ms "
                                         "FROM danger_files WHERE danger = ? ORDER BY time_ms, "
                                         "sha256", (danger_id,))]

    def file(self, danger_id: int, sha: str) -> tuple[bytes, str, str]:
        """(bytes, mime, name) of an item's attachment; KeyError when it has none such."""
        row = self.db.execute("SELECT mime, name FROM danger_files WHERE danger = ? AND "
                              "sha256 = ?", (danger_id, sha)).fetchone()
        if row is None or self.files is None:
            raise KeyError(sha)
        return (self.files / sha[:2] / sha).read_bytes(), row[0], row[1]

    def query(self, *, state: str | None = None, area: str | None = None,
              level: str | None = None, team: str | None = None, overdue: bool | None = None,
              open_only: bool = False, since_ms: int | None = None, text: str | None = None,
              now_ms: int = 0, limit: int = 1000) -> list[Danger]:
        """Items by filters, newest first. ``state`` may be several, comma-separated."""
        where, args = [], []
        if state:
            states = [s.strip() for s in state.split(",") if s.strip()]
            bad = [s for s in states if s not in STATES]
            if bad:
                raise DangerError(f"unknown state {bad[0]!r} ({', '.join(STATES)})")
            where.append(f"state IN ({', '.join('?' * len(states))})")
            args += states
        if open_only:
            where.append(f"state IN ({', '.join('?' * len(OPEN_STATES))})")
            args += OPEN_STATES
        for col, v in (("area", area), ("level", level), ("team", team)):
            if v:
                where.append(f"{col} = ?")
                args.append(v)
        if since_ms is not None:
            where.append("reported_ms >= ?")
            args.append(since_ms)
        if text:
            where.append("(title LIKE ? OR description LIKE ?)")
            args += [f"%{text}%"] * 2
        if overdue is not None:
            cond = "(state = 'assigned' AND deadline_ms IS NOT NULL AND deadline_ms < ?)"
            where.append(cond if overdue else f"NOT {cond}")
            args.append(now_ms)
        sql = (f"SELECT {', '.join(_COLUMNS)} FROM dangers"
               + (f" WHERE {' AND '.join(where)}" if where else "")
               + " ORDER BY id DESC LIMIT ?")
        return [Danger(*r) for r in self.db.execute(sql, (*args, max(1, min(limit, 100_000))))]

    def catalog(self) -> dict:
        """What a client needs to offer the steps: grades, teams, each step's roles, the
        hazard kinds, the states (names in Chinese and English), the attachment limits."""
        wf = self.workflow
        return {"levels": [{"id": lv.id, "zh": lv.zh, "en": lv.en, "days": lv.days,
                            "risk": LEVELS[lv.risk]} for lv in wf.levels.values()],
                "teams": list(wf.teams), "steps": {k: list(v) for k, v in wf.steps.items()},
                "hazards": {k: {"zh": v[0], "en": v[1]} for k, v in RISK_HAZARDS.items()},
                "states": {k: {"zh": v[0], "en": v[1]} for k, v in STATES.items()},
                "step_names": {k: {"zh": v[0], "en": v[1]} for k, v in STEP_WORDS.items()},
                "attachments": {"max_bytes": wf.max_bytes, "types": list(wf.types)}}

    def record(self, d: Danger, now_ms: int = 0, *, steps: bool = False) -> dict:
        """One item as the protocol and /api/dangers carry it."""
        lv = self.workflow.levels.get(d.level or "")
        out = {c: getattr(d, c) for c in _COLUMNS if c not in ("x", "y", "z")}
        out["position"] = None if d.x is None else [d.x, d.y, d.z]
        out["state_name"] = dict(zip(("zh", "en"), STATES[d.state]))
        out["level_name"] = {"zh": lv.zh, "en": lv.en} if lv else None
        out["risk"] = LEVELS[lv.risk] if lv and d.open else None
        out["overdue"] = d.overdue_at(now_ms)
        out["area_name"] = self.model.areas[d.area].name if d.area in self.model.areas else None
        out["files"] = self.files_of(d.id)
        if steps:
            out["steps"] = self.steps_of(d.id)
        return out

    # ------------------------------------------------------------ steps

    def allowed(self, step: str, person: str, role: str, d: Danger | None = None) -> None:
        """Raise DangerRefused unless ``person`` holding ``role`` may take ``step`` (on ``d``)."""
        wf = self.workflow
        if not person:
            raise DangerRefused(f"{step}: a hidden-danger step needs a named person; this "
                                f"token names no one ([server] tokens role:sha256:holder)",
                                f"{_step_zh(step)}需要实名操作：此令牌未登记持有人")
        if role not in wf.steps.get(step, ()):
            raise DangerRefused(f"{step} needs one of the roles {', '.join(wf.steps[step])}; "
                                f"this token is {role}",
                                f"{_step_zh(step)}需要角色 {', '.join(wf.steps[step])}，"
                                f"此令牌为 {role}")
        if wf.people and step not in ("report", "comment"):
            duties, team = wf.people.get(person, (frozenset(), ""))
            if step not in duties:
                raise DangerRefused(f"{person} has no {step} duty in dangers.toml",
                                    f"{person} 无{_step_zh(step)}职责（dangers.toml）")
            if step == "rectify" and d is not None and team and d.team and team != d.team:
                raise DangerRefused(f"{person} is in {team}; item {d.id} is assigned to {d.team}",
                                    f"{person} 属于{team}，隐患 #{d.id} 由{d.team}整改")
        if step == "verify" and d is not None and d.rectified_by == person:
            raise DangerRefused(f"{person} rectified item {d.id} and may not verify it "
                                f"(整改人不得验收本人整改的隐患)",
                                f"{person} 是隐患 #{d.id} 的整改人，不得验收本人整改的隐患")

    def take(self, step: str, person: str, role: str, args: dict, now_ms: int) -> Danger:
        """Take one step: check the person, the state and the fields, store it, return the item."""
        if step not in STEPS:
            raise DangerError(f"unknown step {step!r}")
        if not isinstance(args, dict):
            raise DangerError("args must be a map")
        comment = _text(args.get("comment", ""), "comment", TEXT_LIMIT)
        files = args.get("files", [])
        if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
            raise DangerError("files must be a list of {name, data}")
        if step == "report":
            self.allowed(step, person, role)
            d, detail = self._report(args, person, now_ms)
            state_from = None
        else:
            d = self._item(args)
            self.allowed(step, person, role, d)
            froms, _ = STEPS[step]
            if d.state not in froms:
                raise DangerError(f"item {d.id} is {d.state} ({STATES[d.state][0]}): {step} "
                                  f"needs it {' or '.join(froms)}",
                                  f"隐患 #{d.id} 当前{STATES[d.state][0]}，{_step_zh(step)}须在"
                                  f"{'或'.join(STATES[f][0] for f in froms)}时进行")
            state_from = d.state
            d, detail = getattr(self, f"_{step}")(d, args, person, now_ms)
        stored = [self._check_file(f) for f in files]          # all checked before any is kept
        d = replace(d, updated_ms=now_ms)
        with self.db:
            if step == "report":
                cur = self.db.execute(
                    f"INSERT INTO dangers ({', '.join(_COLUMNS[1:])}) VALUES "
                    f"({', '.join('?' * (len(_COLUMNS) - 1))})",
                    tuple(getattr(d, c) for c in _COLUMNS[1:]))
                d = replace(d, id=cur.lastrowid)
            else:
                self.db.execute(f"UPDATE dangers SET {', '.join(f'{c} = ?' for c in _COLUMNS[1:])} "
                                f"WHERE id = ?", (*[getattr(d, c) for c in _COLUMNS[1:]], d.id))
            cur = self.db.execute(
                "INSERT INTO danger_steps (danger, step, state_from, state_to, person, role, "
                "time_ms, comment, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (d.id, step, state_from, d.state, person, str(role), now_ms, comment,
                 json.dumps(detail, ensure_ascii=False)))
            for data, mime, name, sha in stored:
                self._keep_file(data, sha)
                self.db.execute("INSERT OR IGNORE INTO danger_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                (d.id, sha, name, mime, len(data), cur.lastrowid, person, now_ms))
        if d.open:
            self._open[d.id] = d
        else:
            self._open.pop(d.id, None)
        self.version += 1
        return d

    def _item(self, args: dict) -> Danger:
        v = args.get("danger")
        if not isinstance(v, int) or isinstance(v, bool):
            raise DangerError("danger (the item's id, an integer) missing")
        d = self.get(v)
        if d is None:
            raise DangerError(f"no hidden danger {v}")
        return d

    def _level(self, args: dict, required: bool) -> str | None:
        lv = args.get("level")
        if lv is None and not required:
            return None
        if lv not in self.workflow.levels:
            raise DangerError(f"level must be one of {', '.join(self.workflow.levels)}")
        return lv

    def _report(self, args: dict, person: str, now_ms: int) -> tuple[Danger, dict]:
        title = _text(args.get("title"), "title", TITLE_LIMIT, required=True)
        desc = _text(args.get("description", ""), "description", TEXT_LIMIT)
        hazard = args.get("hazard")
        if hazard is not None and hazard not in RISK_HAZARDS:
            raise DangerError(f"hazard must be one of {', '.join(RISK_HAZARDS)}")
        node = args.get("node")
        if node is not None and (not isinstance(node, str) or len(node) > 200):
            raise DangerError("node must be a scene node id")
        pos = args.get("position")
        if pos is not None and (not isinstance(pos, list) or len(pos) != 3 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e7
                for v in pos)):
            raise DangerError("position must be [x, y, z] in scene metres")
        alarm = args.get("alarm")
        if alarm is not None and (not isinstance(alarm, int) or isinstance(alarm, bool)):
            raise DangerError("alarm must be an alarm id")
        area = args.get("area")
        if area is not None and area not in self.model.areas:
            raise DangerError(f"area {area!r} is not an area of this mine")
        if node is None and pos is None and area is None:
            raise DangerError("say where: node, position or area")
        area = area or self.area_of(node, pos)
        level = self._level(args, required=False)
        p = [float(v) for v in pos] if pos is not None else [None, None, None]
        d = Danger(0, title, desc, hazard, level, "reported", area, node, *p, alarm, None, None,
                   None, now_ms, person, now_ms, None, None, None)
        return d, {k: v for k, v in (("level", level), ("area", area), ("node", node),
                                     ("alarm", alarm)) if v is not None}

    def _assess(self, d, args, person, now_ms):
        level = self._level(args, required=True)
        hazard = args.get("hazard", d.hazard)
        if hazard is not None and hazard not in RISK_HAZARDS:
            raise DangerError(f"hazard must be one of {', '.join(RISK_HAZARDS)}")
        return replace(d, level=level, hazard=hazard, state="assessed"), {"level": level}

    def _assign(self, d, args, person, now_ms):
        team = _text(args.get("team"), "team", 100, required=True)
        if self.workflow.teams and team not in self.workflow.teams:
            raise DangerError(f"team {team!r} is not one of {', '.join(self.workflow.teams)}")
        measures = _text(args.get("measures", ""), "measures", TEXT_LIMIT)
        deadline = args.get("deadline_ms")
        if deadline is None:
            days = args.get("days", self.workflow.levels[d.level].days if d.level else 7.0)
            if not isinstance(days, (int, float)) or isinstance(days, bool) or not 0 < days <= 3650:
                raise DangerError("days must be a number in (0, 3650]")
            deadline = now_ms + int(days * _DAY_MS)
        elif not isinstance(deadline, int) or isinstance(deadline, bool) or deadline <= now_ms:
            raise DangerError("deadline_ms must be a time (UTC ms) after now")
        return (replace(d, team=team, measures=measures, deadline_ms=deadline, state="assigned"),
                {"team": team, "deadline_ms": deadline, "measures": measures})

    def _rectify(self, d, args, person, now_ms):
        return replace(d, state="rectified", rectified_by=person), {}

    def _verify(self, d, args, person, now_ms):
        passed = args.get("passed")
        if not isinstance(passed, bool):
            raise DangerError("passed (true or false) missing")
        if passed:
            return replace(d, state="verified"), {"passed": True}
        days = self.workflow.levels[d.level].days if d.level else 7.0
        deadline = args.get("deadline_ms")
        if deadline is None:
            deadline = max(d.deadline_ms or now_ms, now_ms + int(days * _DAY_MS / 2))
        elif not isinstance(deadline, int) or isinstance(deadline, bool) or deadline <= now_ms:
            raise DangerError("deadline_ms must be a time (UTC ms) after now")
        return (replace(d, state="assigned", rectified_by=None, deadline_ms=deadline),
                {"passed": False, "deadline_ms": deadline})

    def _close(self, d, args, person, now_ms):
        return replace(d, state="closed", closed_ms=now_ms), {}

    def _reject(self, d, args, person, now_ms):
        if not str(args.get("comment", "")).strip():
            raise DangerError("reject: say why (comment)")
        return replace(d, state="rejected", closed_ms=now_ms), {}

    def _comment(self, d, args, person, now_ms):
        if not str(args.get("comment", "")).strip() and not args.get("files"):
            raise DangerError("comment: a comment or files")
        return d, {}

    def _check_file(self, f: dict) -> tuple[bytes, str, str, str]:
        data = f.get("data")
        if not isinstance(data, (bytes, bytearray)) or not data:
            raise DangerError("a file's data must be bytes")
        if len(data) > self.workflow.max_bytes:
            kept = self._refused(bytes(data))
            raise DangerError(f"file of {len(data)} bytes over the limit of "
                              f"{self.workflow.max_bytes} (dangers.toml attachments.max_bytes)"
                              + kept, f"文件 {len(data)} 字节，超过上限 {self.workflow.max_bytes}")
        mime = _sniff(bytes(data[:16]))
        if mime is None or mime not in self.workflow.types:
            kept = self._refused(bytes(data))
            raise DangerError(f"a file must be one of {', '.join(self.workflow.types)} "
                              f"(by its content)" + kept,
                              "附件须为 JPEG、PNG、WebP 图片或 PDF 文件")
        if self.files is None:
            raise DangerError("this server keeps no attachments")
        data = bytes(data)
        return data, mime, _safe_name(f.get("name") or "file", mime), hashlib.sha256(data).hexdigest()

    def _refused(self, data: bytes) -> str:
        """A refused file kept for a look (``refused/<sha256>`` under the attachments folder;
        it came in one protocol message, so it is bounded by the message limit)."""
        if self.files is None:
            return ""
        sha = hashlib.sha256(data).hexdigest()
        folder = self.files / "refused"
        folder.mkdir(parents=True, exist_ok=True)
        self.refused_files += 1
        if self.refused_files > REFUSED_KEPT:        # a flood of junk must not fill the disk
            return f" (not kept: over {REFUSED_KEPT} refused files since the start)"
        if not (folder / sha).exists():
            (folder / f"{sha}.part").write_bytes(data)
            (folder / f"{sha}.part").replace(folder / sha)
        return f"; kept as refused/{sha}"

    def _keep_file(self, data: bytes, sha: str) -> None:
        folder = self.files / sha[:2]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / sha
        if not path.exists():
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)

    # ------------------------------------------------------------ deadlines

    def overdue(self, now_ms: int) -> list[tuple[Danger, RuleEvent]]:
        """Items that passed their deadline unrectified since the last call (raise) or that
        were rectified, rejected or closed while overdue (clear), as alarm-book events."""
        out = []
        for d in list(self._open.values()):
            late = d.overdue_at(now_ms)
            if late and d.overdue_ms is None:
                d = replace(d, overdue_ms=now_ms)
                with self.db:
                    self.db.execute("UPDATE dangers SET overdue_ms = ? WHERE id = ?", (now_ms, d.id))
                    self.db.execute(
                        "INSERT INTO danger_steps (danger, step, state_from, state_to, person, "
                        "role, time_ms, comment, detail) VALUES (?, 'overdue', ?, ?, '', "
                        "'system', ?, '', ?)", (d.id, d.state, d.state, now_ms,
                                                json.dumps({"deadline_ms": d.deadline_ms})))
                self._open[d.id] = d
                self.version += 1
                out.append((d, self._event("raise", d, now_ms)))
        return out

    def cleared(self, d: Danger, now_ms: int) -> RuleEvent | None:
        """The clearing event of an item that was overdue and is no longer (rectified,
        rejected, closed, or given a new deadline); the item's steps keep that it was late."""
        if d.overdue_ms is None or d.overdue_at(now_ms):
            return None
        with self.db:
            self.db.execute("UPDATE dangers SET overdue_ms = NULL WHERE id = ?", (d.id,))
        if d.id in self._open:
            self._open[d.id] = replace(d, overdue_ms=None)
        return self._event("clear", d, now_ms)

    def _event(self, kind: str, d: Danger, now_ms: int) -> RuleEvent:
        lv = self.workflow.levels.get(d.level or "")
        rule = Rule(f"HD{d.id}", "danger_overdue", str(d.id), lv.alarm if lv else 2,
                    alarm=0.0, source=f"hidden danger {d.id} deadline")
        node = d.node or (f"area/{d.area}" if d.area else f"danger/{d.id}")
        return RuleEvent(kind, rule, rule.point, now_ms, float(d.deadline_ms or 0),
                         float(d.deadline_ms or 0), node)

    def risk_facts(self, now_ms: int) -> list[dict]:
        """The open items as risk.py weighs them: area, the grade's risk level, overdue."""
        out = []
        for d in self._open.values():
            lv = self.workflow.levels.get(d.level or "")
            out.append({"id": d.id, "area": d.area, "title": d.title,
                        "risk": lv.risk if lv else None, "grade": (lv.zh, lv.en) if lv else None,
                        "state": d.state, "overdue": d.overdue_at(now_ms)})
        return out

    # ------------------------------------------------------------ a shift's summary

    def summary(self, start_ms: int, end_ms: int) -> dict:
        """A shift's hidden dangers (the shift report): how many were reported and closed in
        [start, end), and the items open at its end — each with its state, grade and deadline
        *as they stood then* (from its steps), overdue ones first."""
        rows = self.db.execute(
            "SELECT danger, step, state_to, time_ms, detail FROM danger_steps WHERE time_ms < ? "
            "ORDER BY danger, id", (end_ms,)).fetchall()
        at: dict[int, dict] = {}
        for did, step, state, t, detail in rows:
            s = at.setdefault(did, {"state": state, "deadline": None, "level": None})
            s["state"] = state
            info = json.loads(detail)
            if "deadline_ms" in info and step != "overdue":
                s["deadline"] = info["deadline_ms"]
            if info.get("level"):
                s["level"] = info["level"]
        reported = sum(1 for did, step, _, t, _ in rows if step == "report" and t >= start_ms)
        closed = sum(1 for did, step, _, t, _ in rows if step in ("close", "reject") and t >= start_ms)
        open_items = []
        for did, s in at.items():
            if s["state"] not in OPEN_STATES:
                continue
            d = self.get(did)
            late = s["state"] == "assigned" and s["deadline"] is not None and end_ms > s["deadline"]
            lv = self.workflow.levels.get(s["level"] or "")
            open_items.append({"id": did, "title": d.title, "area": d.area,
                               "area_name": self.model.areas[d.area].name
                               if d.area in self.model.areas else (d.area or ""),
                               "state": s["state"], "state_name": dict(zip(("zh", "en"), STATES[s["state"]])),
                               "level": s["level"], "level_name": {"zh": lv.zh, "en": lv.en} if lv else None,
                               "risk": LEVELS[lv.risk] if lv else None, "team": d.team or "",
                               "deadline_ms": s["deadline"], "overdue": late})
        open_items.sort(key=lambda r: (not r["overdue"], -(self.workflow.levels[r["level"]].risk
                                                           if r["level"] in self.workflow.levels else -1), r["id"]))
        return {"reported": reported, "closed": closed, "open": open_items,
                "overdue": sum(r["overdue"] for r in open_items)}

    # ------------------------------------------------------------ export

    def export_rows(self, items: Iterable[Danger], now_ms: int, lang: str = "zh") -> list[list]:
        zh = lang != "en"
        head = (["编号", "标题", "描述", "类别", "等级", "状态", "区域", "位置", "上报人", "上报时间",
                 "整改单位", "整改期限", "整改措施", "逾期", "整改人", "销号时间", "附件"] if zh else
                ["id", "title", "description", "hazard", "grade", "state", "area", "place",
                 "reported by", "reported", "team", "deadline", "measures", "overdue",
                 "rectified by", "closed", "files"])
        rows = [head]
        for d in items:
            r = self.record(d, now_ms)
            lv = r["level_name"]
            rows.append([d.id, d.title, d.description,
                         RISK_HAZARDS[d.hazard][0 if zh else 1] if d.hazard else "",
                         (lv["zh"] if zh else lv["en"]) if lv else "",
                         r["state_name"]["zh" if zh else "en"], r["area_name"] or d.area or "",
                         d.node or ("" if d.x is None else f"{d.x:.1f}, {d.y:.1f}, {d.z:.1f}"),
                         d.reported_by, self._time(d.reported_ms), d.team or "",
                         self._time(d.deadline_ms), d.measures or "",
                         ("是" if zh else "yes") if r["overdue"] else "",
                         d.rectified_by or "", self._time(d.closed_ms), len(r["files"])])
        return rows

    def _time(self, ms: int | None) -> str:
        if ms is None:
            return ""
        from datetime import datetime
        from zoneinfo import ZoneInfo
        return datetime.fromtimestamp(ms / 1000, ZoneInfo(self.model.mine.time_zone)) \
            .strftime("%Y-%m-%d %H:%M")

    def export_csv(self, items: Iterable[Danger], now_ms: int, lang: str = "zh") -> bytes:
        """UTF-8 with a BOM, so Excel opens the Chinese right."""
        buf = io.StringIO()
        csv.writer(buf).writerows(self.export_rows(items, now_ms, lang))
        return ("\ufeff" + buf.getvalue()).encode("utf-8")

    def export_xlsx(self, items: Iterable[Danger], now_ms: int, lang: str = "zh") -> bytes:
        from openpyxl import Workbook
        from openpyxl.styles import Font
        wb = Workbook()
        ws = wb.active
        ws.title = "隐患" if lang != "en" else "hidden dangers"
        rows = self.export_rows(items, now_ms, lang)
        for row in rows:
            ws.append(row)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for col, width in zip("ABCDEFGHIJKLMNOPQ", (6, 28, 40, 10, 14, 10, 16, 20, 12, 17, 12,
                                                     17, 30, 6, 12, 17, 6)):
            ws.column_dimensions[col].width = width
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()


def _step_zh(step: str) -> str:
    return STEP_WORDS.get(step, (step,))[0]


def _text(v: Any, name: str, limit: int, *, required: bool = False) -> str:
    if v is None and not required:
        return ""
    if not isinstance(v, str):
        raise DangerError(f"{name} must be text")
    v = v.strip()
    if required and not v:
        raise DangerError(f"{name} missing")
    if len(v) > limit:
        raise DangerError(f"{name} longer than {limit} characters")
    return v
