"""Risk pre-control (风险分级管控): the mine's risk register, warning lines ahead of the
workings, and each area's live risk level with the facts behind it.

- The **register** (``risks.toml`` in the mine folder; derived from the mine model where the
  folder has none): risk points per area, face, heading or roadway — hazard, assessed level
  (重大/较大/一般/低 → red/orange/yellow/blue), controls, owner. ``check_register`` says every
  problem at once; ``minetwin risk check`` prints them.
- **Warning lines** (``[[line]]``): how near a fault, a hazard zone or a change of the seam
  ahead of a working (twin.geology.forecast) may come before a pre-warning enters the alarm
  book as kind ``forecast`` (``RiskEngine.prewarnings``).
- **Levels** (``[[rule]]``, ``[combine]``): each area's level from live evidence — alarms,
  pre-warnings, hazard zones its workings are in, headcount, the model's uncertainty ahead —
  the highest fact wins, ``raise_at`` facts at the top raise it one more; every level comes
  with its reasons (``RiskEngine.evaluate``).

Defaults in ``default_risks.toml``; the format in docs/risk.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from twin import MineModel, read_toml

from .rules import Rule, RuleEvent

__all__ = ["LEVELS", "LEVEL_NAMES", "RISK_HAZARDS", "AHEAD_HAZARDS", "RiskError", "RiskPoint",
           "WarningLine", "LevelRule", "Register", "AreaRisk", "RiskEngine", "load_register",
           "check_register", "default_points", "format_register", "level_index"]

DEFAULT_RISKS = Path(__file__).with_name("default_risks.toml")

#: Levels, lowest first: colour, Chinese and English names (双重预防 四色).
LEVELS = ("blue", "yellow", "orange", "red")
LEVEL_NAMES = {"blue": ("低风险", "low"), "yellow": ("一般风险", "general"),
               "orange": ("较大风险", "major"), "red": ("重大风险", "grave")}
_LEVEL_WORDS = {**{c: i for i, c in enumerate(LEVELS)},
                **{n[1]: i for i, n in enumerate(LEVEL_NAMES.values())},
                **{n[0]: i for i, n in enumerate(LEVEL_NAMES.values())},
                **{n[0].removesuffix("风险"): i for i, n in enumerate(LEVEL_NAMES.values())}}
#: Hazard kinds of a risk point.
RISK_HAZARDS = {"gas": ("瓦斯", "gas"), "outburst": ("煤与瓦斯突出", "outburst"),
                "water": ("水害", "water"), "fire": ("火灾", "fire"),
                "roof": ("顶板/冲击地压", "roof and ground pressure"),
                "mechanical": ("机械", "mechanical"), "electrical": ("机电", "electrical"),
                "transport": ("运输", "transport")}
#: What a warning line may be about: a fault, a hazard-zone kind, a change of the seam.
AHEAD_HAZARDS = {"fault": ("断层", "fault"), "outburst": ("突出危险区", "outburst zone"),
                 "water": ("水害区", "water zone"), "gas": ("瓦斯富集区", "gas-rich zone"),
                 "stress": ("应力集中区", "stress zone"), "fire": ("火区", "fire zone"),
                 "goaf": ("采空区", "goaf"), "thickness": ("煤厚变化", "thickness change"),
                 "undulation": ("底板起伏", "floor undulation")}
#: Words of the shipped lines' ids (docs/risk.md); a mine's own ids are shown as they are.
LINE_WORDS = {"warning": ("警戒线", "warning line"), "probe": ("探水线", "probing line"),
              "notice": ("预报线", "notice line"), "near": ("临近线", "near line"),
              "protective": ("防突保护距离", "protective distance")}
_FACTS = ("alarm", "forecast", "in_zone", "headcount", "uncertainty", "register", "danger",
          "danger_overdue")
#: Metres past a line before its pre-warning clears: no flapping at the line.
CLEAR_MARGIN_M = 2.0


class RiskError(ValueError):
    """A risk register that cannot be used; the message lists every problem."""


def level_index(word) -> int | None:
    return _LEVEL_WORDS.get(str(word).strip().lower() if isinstance(word, str) else word)


@dataclass(frozen=True, slots=True)
class RiskPoint:
    id: str
    place: str                 # an area code, face:<id>, heading:<id> or roadway:<id>
    hazard: str
    level: int                 # index into LEVELS
    description: str
    controls: tuple[str, ...]
    owner: str


@dataclass(frozen=True, slots=True)
class WarningLine:
    hazard: str
    id: str
    distance_m: float
    level: int


@dataclass(frozen=True, slots=True)
class LevelRule:
    id: str
    fact: str
    level: int | None = None   # None: the fact's own (a line's level)
    min_level: int = 1
    kinds: tuple[str, ...] = ()
    within_m: float = 100.0
    band_m: float = 10.0
    shift: int = 0


@dataclass(frozen=True, slots=True)
class Register:
    points: tuple[RiskPoint, ...]
    lines: tuple[WarningLine, ...]
    rules: tuple[LevelRule, ...]
    raise_at: int = 3
    derived: bool = False      # the points were derived from the model, not a file


@dataclass(frozen=True, slots=True)
class AreaRisk:
    """An area's level now and why: ``reasons`` the contributing facts, highest first, each
    {fact, level, zh, en, value, source}."""

    area: str
    name: str
    level: int
    reasons: tuple[dict, ...]
    assessed: int | None       # the highest level of its register points
    since_ms: int

    def record(self) -> dict:
        c = LEVELS[self.level]
        return {"area": self.area, "name": self.name, "level": c,
                "level_name": {"zh": LEVEL_NAMES[c][0], "en": LEVEL_NAMES[c][1]},
                "assessed": None if self.assessed is None else LEVELS[self.assessed],
                "since_ms": self.since_ms, "reasons": list(self.reasons)}


# ---------------------------------------------------------------------------- the register

def default_points(model: MineModel) -> list[RiskPoint]:
    """A new mine's risk points, from what its model holds: each face and heading gets gas
    (outburst too in an outburst mine), roof and mechanical points; belt roadways fire and
    transport; track roadways transport; substations and pumps electrical/water. Levels are
    MineTwin's starting assessment (*verify*: the mine's annual risk identification sets
    them); the owner is the working's area or "safety department" for the mine to fill in."""
    gas_level = {"low": 1, "high": 2, "outburst": 2}[model.mine.gas_class]
    outburst = ["区域防突措施", "局部防突措施", "效果检验"]
    out: list[RiskPoint] = []

    def add(place, hazard, level, desc, controls):
        out.append(RiskPoint(f"{place}/{hazard}", place, hazard, level, desc, tuple(controls),
                             "通风科" if hazard in ("gas", "outburst", "fire") else "安全科"))
    for f in model.longwalls.values():
        p = f"face:{f.id}"
        add(p, "gas", gas_level, f"{f.name} 上隅角及回风瓦斯超限",
            ["瓦斯抽采", "上隅角瓦斯监测 T0", "断电闭锁"])
        if model.mine.gas_class == "outburst":
            add(p, "outburst", 3, f"{f.name} 煤与瓦斯突出", outburst)
        add(p, "roof", 2, f"{f.name} 周期来压 顶板冒落", ["支架工作阻力监测", "超前支护"])
        add(p, "mechanical", 1, f"{f.name} 采煤机、刮板输送机伤人", ["闭锁", "岗位作业标准"])
    for h in model.headings.values():
        p = f"heading:{h.id}"
        add(p, "gas", gas_level, f"{h.name} 掘进工作面瓦斯超限",
            ["局部通风机双电源", "瓦斯电闭锁", "风电闭锁"])
        if model.mine.gas_class == "outburst":
            add(p, "outburst", 3, f"{h.name} 煤与瓦斯突出", outburst)
        add(p, "roof", 1, f"{h.name} 空顶冒落", ["临时支护", "敲帮问顶"])
        add(p, "water", 1, f"{h.name} 掘进前方水害", ["有掘必探", "先探后掘"])
    for r in model.roadways.values():
        if r.type == "belt":
            add(f"roadway:{r.id}", "fire", 1, f"{r.name} 胶带着火", ["烟雾、温度传感器", "自动洒水"])
            add(f"roadway:{r.id}", "transport", 1, f"{r.name} 胶带伤人", ["沿线急停闭锁"])
        elif r.type == "track":
            add(f"roadway:{r.id}", "transport", 1, f"{r.name} 跑车", ["一坡三挡", "行车不行人"])
    for e in model.equipment.values():
        if e.kind == "substation" and e.roadway:
            add(f"roadway:{e.roadway}", "electrical", 1, f"{e.name} 触电、漏电", ["漏电保护", "停送电制度"])
    return out


def _places(model: MineModel) -> set[str]:
    return ({*model.areas} | {f"face:{k}" for k in model.longwalls}
            | {f"heading:{k}" for k in model.headings} | {f"roadway:{k}" for k in model.roadways})


def _level(v, where, problems) -> int | None:
    i = level_index(v)
    if i is None:
        problems.append(f"{where}: level {v!r} is not one of {', '.join(LEVELS)} "
                        f"(or 低/一般/较大/重大, low/general/major/grave)")
    return i


def _read(doc: dict, path: str, model: MineModel | None, problems: list[str]):
    unknown = set(doc) - {"risk", "line", "rule", "combine"}
    if unknown:
        problems.append(f"{path}: unknown tables {sorted(unknown)} (risk, line, rule, combine)")
    places = _places(model) if model is not None else None
    points, seen = [], set()
    for n, r in enumerate(doc.get("risk", []), start=1):
        where = f"{path}: risk {n}" + (f" ({r['id']})" if isinstance(r.get("id"), str) else "")
        bad = set(r) - {"id", "place", "hazard", "level", "description", "controls", "owner"}
        if bad:
            problems.append(f"{where}: unknown keys {sorted(bad)}")
        for k in ("id", "place", "hazard", "level", "owner"):
            if not isinstance(r.get(k), str) or not r.get(k, "").strip():
                problems.append(f"{where}: {k} missing or not text")
        if isinstance(r.get("id"), str):
            if r["id"] in seen:
                problems.append(f"{where}: id {r['id']!r} given twice")
            seen.add(r["id"])
        if places is not None and isinstance(r.get("place"), str) and r["place"] not in places:
            problems.append(f"{where}: place {r['place']!r} is not an area code, face:<id>, "
                            f"heading:<id> or roadway:<id> of this mine")
        if isinstance(r.get("hazard"), str) and r["hazard"] not in RISK_HAZARDS:
            problems.append(f"{where}: hazard {r['hazard']!r} is not one of "
                            f"{', '.join(RISK_HAZARDS)}")
        lvl = _level(r.get("level"), where, problems) if "level" in r else None
        controls = r.get("controls", [])
        if not isinstance(controls, list) or not all(isinstance(c, str) for c in controls):
            problems.append(f"{where}: controls must be a list of text")
            controls = []
        elif lvl is not None and lvl >= 2 and not controls:
            problems.append(f"{where}: a {LEVELS[lvl]} risk needs its controls")
        if lvl is not None and all(isinstance(r.get(k), str) for k in ("id", "place", "hazard")):
            points.append(RiskPoint(r["id"], r["place"], r["hazard"], lvl,
                                    str(r.get("description", "")), tuple(controls),
                                    str(r.get("owner", ""))))
    lines = []
    for n, r in enumerate(doc.get("line", []), start=1):
        where = f"{path}: line {n}"
        bad = set(r) - {"hazard", "id", "distance_m", "level"}
        if bad:
            problems.append(f"{where}: unknown keys {sorted(bad)}")
        if r.get("hazard") not in AHEAD_HAZARDS:
            problems.append(f"{where}: hazard {r.get('hazard')!r} is not one of "
                            f"{', '.join(AHEAD_HAZARDS)}")
        d = r.get("distance_m")
        if not isinstance(d, (int, float)) or isinstance(d, bool) or d < 0:
            problems.append(f"{where}: distance_m must be a number ≥ 0")
        if not isinstance(r.get("id"), str) or not r["id"] or "/" in r["id"]:
            problems.append(f"{where}: id missing (text without '/')")
        lvl = _level(r.get("level"), where, problems)
        if lvl is not None and lvl == 0:
            problems.append(f"{where}: a warning line's level is yellow or above")
        if lvl and r.get("hazard") in AHEAD_HAZARDS and isinstance(d, (int, float)) \
                and isinstance(r.get("id"), str):
            lines.append(WarningLine(r["hazard"], r["id"], float(d), lvl))
    rules = []
    for n, r in enumerate(doc.get("rule", []), start=1):
        where = f"{path}: rule {n}"
        bad = set(r) - {"id", "fact", "level", "min_level", "kinds", "within_m", "band_m", "shift"}
        if bad:
            problems.append(f"{where}: unknown keys {sorted(bad)}")
        if r.get("fact") not in _FACTS:
            problems.append(f"{where}: fact {r.get('fact')!r} is not one of {', '.join(_FACTS)}")
            continue
        if not isinstance(r.get("id"), str):
            problems.append(f"{where}: id missing")
            continue
        lvl = _level(r["level"], where, problems) if "level" in r else None
        if lvl is None and r["fact"] not in ("forecast", "register", "danger"):
            problems.append(f"{where}: a {r['fact']} rule needs its level")
            continue
        kinds = tuple(r.get("kinds", ()))
        rules.append(LevelRule(r["id"], r["fact"], lvl, int(r.get("min_level", 1)), kinds,
                               float(r.get("within_m", 100.0)), float(r.get("band_m", 10.0)),
                               int(r.get("shift", 0))))
    raise_at = doc.get("combine", {}).get("raise_at")
    if raise_at is not None and (not isinstance(raise_at, int) or raise_at < 0):
        problems.append(f"{path}: combine.raise_at must be a whole number ≥ 0")
        raise_at = None
    return points, lines, rules, raise_at


def check_register(mine_dir: str | Path, model: MineModel) -> list[str]:
    """Every problem of the mine folder's ``risks.toml`` (and of the defaults under it)."""
    problems: list[str] = []
    _register(Path(mine_dir) / "risks.toml", model, problems)
    return problems


def _register(path: Path, model: MineModel, problems: list[str]) -> Register:
    base = read_toml(DEFAULT_RISKS, RiskError)
    _, lines, rules, raise_at = _read(base, str(DEFAULT_RISKS), None, problems)
    points, derived = None, True
    if path.exists():
        doc = read_toml(path, RiskError)
        p, ln, ru, ra = _read(doc, str(path), model, problems)
        if doc.get("risk"):
            points, derived = p, False
        by_line = {(w.hazard, w.id): w for w in lines}
        by_line.update({(w.hazard, w.id): w for w in ln})
        lines = list(by_line.values())
        by_rule = {r.id: r for r in rules}
        by_rule.update({r.id: r for r in ru})
        rules = list(by_rule.values())
        raise_at = ra if ra is not None else raise_at
    if points is None:
        points = default_points(model)
    return Register(tuple(points), tuple(lines), tuple(rules),
                    3 if raise_at is None else raise_at, derived)


def load_register(mine_dir: str | Path, model: MineModel) -> Register:
    """The mine's register: its ``risks.toml`` over the defaults (derived points where it
    lists none). Raises RiskError listing every problem."""
    problems: list[str] = []
    reg = _register(Path(mine_dir) / "risks.toml", model, problems)
    if problems:
        raise RiskError("\n".join(problems))
    return reg


def format_register(points) -> str:
    """Risk points as the ``[[risk]]`` tables of a risks.toml (to start a mine's own)."""
    def q(s):
        return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'
    out = ["# the mine's risk register (docs/risk.md); levels: blue, yellow, orange, red\n"]
    for p in points:
        out.append(f"[[risk]]\nid = {q(p.id)}\nplace = {q(p.place)}\nhazard = {q(p.hazard)}\n"
                   f"level = {q(LEVELS[p.level])}\ndescription = {q(p.description)}\n"
                   f"controls = [{', '.join(q(c) for c in p.controls)}]\nowner = {q(p.owner)}\n")
    return "\n".join(out)


# ---------------------------------------------------------------------------- live

@dataclass
class _Prewarn:
    rule: Rule
    distance: float


class RiskEngine:
    """Pre-warnings from the forecasts and each area's level from the evidence."""

    def __init__(self, model: MineModel, register: Register):
        self.model, self.register = model, register
        self.lines: dict[str, list[WarningLine]] = {}
        for w in register.lines:
            self.lines.setdefault(w.hazard, []).append(w)
        self._open: dict[str, _Prewarn] = {}          # rule id → open pre-warning
        self._area_of_road = {r: a.code for a in model.areas.values() for r in a.roadways}
        self.levels: dict[str, AreaRisk] = {}
        self.history: list[tuple[int, str, int]] = []  # (time, area, level) at each change
        self._said: dict = {}                            # alarm record → its fact
        self._area_cache: dict[str, str | None] = {}
        self.assessed: dict[str, int] = {}
        for p in register.points:
            a = self.area_of_place(p.place)
            if a is not None:
                self.assessed[a] = max(self.assessed.get(a, 0), p.level)

    # ------------------------------------------------------------ places

    def area_of_place(self, place: str) -> str | None:
        """The personnel-location area of an area code, face:/heading:/roadway: place or a
        scene node (sensor/…, face/…, heading/…, roadway/…); looked up once per place."""
        try:
            return self._area_cache[place]
        except KeyError:
            area = self._area_cache[place] = self._area_of(place)
            return area

    def _area_of(self, place: str) -> str | None:
        m = self.model
        if place in m.areas:
            return place
        kind, _, ident = place.replace("/", ":", 1).partition(":")
        if kind in ("face", "heading"):
            return m.working_area(ident)
        if kind == "roadway":
            return self._area_of_road.get(ident)
        if kind == "sensor" and ident in m.sensors:
            s = m.sensors[ident]
            if s.roadway is None and s.category in ("T0", "T1") and m.longwalls:
                return m.working_area(next(iter(m.longwalls)))
            return self._area_of_road.get(s.roadway or "")
        if kind == "area":
            return ident if ident in m.areas else None
        return None

    # ------------------------------------------------------------ pre-warnings

    def prewarnings(self, forecasts, time_ms: int) -> list[RuleEvent]:
        """Raise a pre-warning for each warning line a target ahead has come inside, clear
        those it has left (passed, or gone back beyond the line by CLEAR_MARGIN_M)."""
        events, now = [], set()
        for fc in forecasts:
            for a in fc.ahead:
                for w in self.lines.get(a.kind, ()):
                    target = a.name.replace("/", "·")
                    rid = f"{fc.working}/forecast_{a.kind}/{target}@{w.id}"
                    was = self._open.get(rid)
                    inside = a.distance_m <= w.distance_m + (CLEAR_MARGIN_M if was else 0.0)
                    if not inside:
                        continue
                    now.add(rid)
                    if was is None:
                        rule = Rule(fc.working, f"forecast_{a.kind}", f"{target}@{w.id}",
                                    w.level, alarm=w.distance_m,
                                    source=f"warning line {a.kind}/{w.id} {w.distance_m:g} m")
                        self._open[rid] = _Prewarn(rule, a.distance_m)
                        events.append(RuleEvent("raise", rule, fc.working, time_ms,
                                                round(a.distance_m, 1), w.distance_m, fc.node))
                    else:
                        was.distance = a.distance_m
        for rid in [r for r in self._open if r not in now]:
            p = self._open.pop(rid)
            events.append(RuleEvent("clear", p.rule, p.rule.point, time_ms,
                                    round(p.distance, 1), p.rule.alarm or 0.0,
                                    p.rule.point.replace(":", "/", 1)))
        return events

    def restore(self, open_rules) -> None:
        """After a restart: the pre-warnings the alarm book holds open ((rule id, kind))."""
        for rule_id, kind in open_rules:
            if kind != "forecast":
                continue
            point, _, rest = rule_id.partition("/")
            quantity, _, name = rest.partition("/")
            self._open[rule_id] = _Prewarn(Rule(point, quantity, name, 1), 0.0)

    # ------------------------------------------------------------ levels

    def _alarm_fact(self, al):
        from .wording import alarm_text, place_name
        fit = [r for r in self.register.rules if r.fact == "alarm" and al.level >= r.min_level]
        if not fit:
            return None
        r = max(fit, key=lambda r: r.min_level)     # the rule of the highest level it reaches
        area = self.area_of_place(al.node) or self.area_of_place(al.group)
        where = place_name(al.node, self.model)
        return (area, r.level, "alarm", f"报警 {where}：{alarm_text(al, self.model, 'zh')}",
                f"alarm {where}: {alarm_text(al, self.model, 'en')}", al.value,
                f"alarm {al.id} ({al.rule})")

    def evaluate(self, now_ms: int, *, alarms=(), forecasts=(), headcounts=None,
                 dangers=()) -> dict:
        """Each area's level from the evidence; returns the areas whose level changed.
        ``dangers``: the open hidden dangers (DangerBook.risk_facts)."""
        facts: dict[str, list[dict]] = {a: [] for a in self.model.areas}
        rules = self.register.rules

        def add(area, level, fact, zh, en, value=None, source=""):
            if area in facts and level is not None and level > 0:
                facts[area].append({"fact": fact, "level": LEVELS[min(level, 3)], "_i": min(level, 3),
                                    "zh": zh, "en": en, "value": value, "source": source})
        # an alarm's fact, worded once while the record stands unchanged (the wording is
        # most of the cost with a long alarm list)
        said = {}
        for al in alarms:
            if al.kind in ("forecast", "danger") or not al.active:   # their own facts
                continue
            fact = said[al] = self._said.get(al) or self._alarm_fact(al)
            if fact is not None:
                add(*fact)
        self._said = said
        for fc in forecasts:
            area = self.area_of_place(fc.working)
            for a in fc.ahead:
                zh_k, en_k = AHEAD_HAZARDS.get(a.kind, (a.kind, a.kind))
                crossed = [w for w in self.lines.get(a.kind, ()) if a.distance_m <= w.distance_m]
                if a.distance_m <= 0.0 and any(r.fact == "in_zone" and a.kind in r.kinds
                                               for r in rules):
                    crossed = []               # inside it now: one fact (in_zone), not two
                for r in rules:
                    if r.fact == "forecast" and crossed:
                        w = max(crossed, key=lambda w: w.level)
                        lz, le = LINE_WORDS.get(w.id, (w.id, w.id))
                        where_zh, where_en = (f"已进入{zh_k} {a.name}", f"inside {en_k} {a.name}") \
                            if a.distance_m <= 0 else \
                            (f"前方 {a.distance_m:.0f} m {zh_k} {a.name}",
                             f"{en_k} {a.name} {a.distance_m:.0f} m ahead")
                        add(area, w.level if r.level is None else r.level, "forecast",
                            f"{fc.name} {where_zh}（{lz} {w.distance_m:g} m）" + _days(a, "zh"),
                            f"{fc.name}: {where_en} ({le} {w.distance_m:g} m)" + _days(a, "en"),
                            round(a.distance_m, 1), f"forecast {fc.working}")
                    elif r.fact == "in_zone" and a.distance_m <= 0.0 and a.kind in r.kinds:
                        add(area, r.level, "in_zone", f"{fc.name} 位于{a.name}内",
                            f"{fc.name} is inside {a.name}", 0.0, f"hazard zone {a.name}")
            for r in rules:
                if r.fact == "uncertainty":
                    wide = [a for a in fc.ahead if a.kind == "undulation"
                            and a.distance_m <= r.within_m
                            and a.detail.get("floor_band95_m", 0) > r.band_m]
                    if wide:
                        b = wide[0].detail["floor_band95_m"]
                        add(area, r.level, "uncertainty",
                            f"{fc.name} 前方 {r.within_m:g} m 内底板 95% 区间 {b:g} m > {r.band_m:g} m",
                            f"{fc.name}: floor band {b:g} m > {r.band_m:g} m within {r.within_m:g} m",
                            b, "geology model")
        if headcounts:
            for code, a in self.model.areas.items():
                n = headcounts.get(code, 0)
                if a.rated_headcount and n > a.rated_headcount:
                    for r in rules:
                        if r.fact == "headcount":
                            add(code, r.level, "headcount", f"超员 {n}/{a.rated_headcount} 人",
                                f"overcrowded {n}/{a.rated_headcount}", n, "personnel location")
        for d in dangers:
            for r in rules:
                if r.fact == "danger" and d["risk"] is not None:
                    gz, ge = d["grade"]
                    add(d["area"], d["risk"] if r.level is None else r.level, "danger",
                        f"隐患 #{d['id']}（{gz}）：{d['title']}",
                        f"hidden danger #{d['id']} ({ge}): {d['title']}", None,
                        f"hidden danger {d['id']}")
                elif r.fact == "danger_overdue" and d["overdue"]:
                    add(d["area"], r.level, "danger_overdue",
                        f"隐患 #{d['id']} 逾期未整改：{d['title']}",
                        f"hidden danger #{d['id']} overdue: {d['title']}", None,
                        f"hidden danger {d['id']}")
        for r in rules:
            if r.fact == "register":
                for p in self.register.points:
                    area = self.area_of_place(p.place)
                    zh_h, en_h = RISK_HAZARDS.get(p.hazard, (p.hazard, p.hazard))
                    add(area, p.level - r.shift, "register", f"风险点 {p.id}：{p.description}",
                        f"risk point {p.id}: {en_h}", None, "risk register")
        changed = {}
        for code, fs in facts.items():
            fs.sort(key=lambda f: -f["_i"])
            level = fs[0]["_i"] if fs else 0
            if self.register.raise_at and level and \
                    sum(f["_i"] == level for f in fs) >= self.register.raise_at:
                level = min(level + 1, 3)
            reasons = tuple({k: v for k, v in f.items() if k != "_i"} for f in fs)
            old = self.levels.get(code)
            since = old.since_ms if old is not None and old.level == level else now_ms
            ar = AreaRisk(code, self.model.areas[code].name, level, reasons,
                          self.assessed.get(code), since)
            if old is None or old.level != level:
                self.history.append((now_ms, code, level))
                changed[code] = ar
            self.levels[code] = ar
        del self.history[:-10_000]
        return changed

    def record(self, forecasts=()) -> dict:
        """What /api/risk serves: every area's level with its reasons, the forecasts, the
        register's points and the levels' recent changes."""
        return {"levels": [a.record() for a in self.levels.values()],
                "legend": [{"level": c, "zh": LEVEL_NAMES[c][0], "en": LEVEL_NAMES[c][1]}
                           for c in LEVELS],
                "forecasts": [{**f.record(), "area": self.area_of_place(f.working)}
                              for f in forecasts],
                "lines": [{"hazard": w.hazard, "id": w.id, "distance_m": w.distance_m,
                           "level": LEVELS[w.level]} for w in self.register.lines],
                "register": {"derived": self.register.derived,
                             "points": [{"id": p.id, "place": p.place, "area": self.area_of_place(p.place),
                                         "hazard": p.hazard, "level": LEVELS[p.level],
                                         "description": p.description, "controls": list(p.controls),
                                         "owner": p.owner} for p in self.register.points]},
                "history": [{"time_ms": t, "area": a, "level": LEVELS[lv]}
                            for t, a, lv in self.history[-500:]]}


def _days(a, lang: str) -> str:
    if a.days is None or a.distance_m <= 0:
        return ""
    return f"，约 {a.days:.0f} 天" if lang == "zh" else f", about {a.days:.0f} days"
