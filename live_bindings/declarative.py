"""Declarative bindings: a mine folder's ``bindings.toml`` (docs/bindings.md).

``[[binding]]`` maps a source to a node's field with a conversion, and value ranges to the
node's visual state; ``[[badge]]`` lights an alert badge on a node while a boolean expression
over live values holds. They apply after the default bindings, so a mine can refine what
the defaults show without repeating them.

Expressions are parsed with ``ast`` and only comparisons, ``and``/``or``/``not``, numbers,
text and the three value functions are allowed — nothing else of Python is reachable::

    point("002A02") >= 1.0 and equipment("shearer-11901", "running")
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from scene import Scene
from twin import Observation, check_keys, read_toml

__all__ = ["BindingError", "DeclarativeBindings", "load_bindings", "compile_expression"]

_BINDING_KEYS = {"source", "node", "field", "unit", "scale", "offset", "visual"}
_VISUAL_KEYS = {"from", "below", "color", "opacity", "blink", "label", "visible"}
_BADGE_KEYS = {"node", "when", "label", "color"}
_CMP = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
        ast.Eq: operator.eq, ast.NotEq: operator.ne}
_FUNCS = {"point": 1, "equipment": 2, "card": 1}


class BindingError(ValueError):
    """A bindings file that cannot be used; the message names the file, entry and key."""


def _color(text: Any, where: str) -> int:
    if isinstance(text, int) and 0 <= text <= 0xFFFFFF:
        return text
    if isinstance(text, str) and len(text) == 7 and text.startswith("#"):
        try:
            return int(text[1:], 16)
        except ValueError:
            pass
    raise BindingError(f"{where}: a colour is \"#RRGGBB\", not {text!r}")


def compile_expression(text: str, where: str):
    """A safe predicate over a ``values`` lookup, or BindingError."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise BindingError(f"{where}: not an expression: {exc.msg}") from None

    def check(n: ast.AST) -> None:
        if isinstance(n, ast.Expression):
            check(n.body)
        elif isinstance(n, ast.BoolOp) and isinstance(n.op, (ast.And, ast.Or)):
            for v in n.values:
                check(v)
        elif isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.Not, ast.USub)):
            check(n.operand)
        elif isinstance(n, ast.Compare) and all(type(op) in _CMP for op in n.ops):
            check(n.left)
            for c in n.comparators:
                check(c)
        elif isinstance(n, ast.Constant) and isinstance(n.value, (int, float, str, bool)):
            pass
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _FUNCS \
                and not n.keywords and len(n.args) == _FUNCS[n.func.id] \
                and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in n.args):
            pass
        else:
            raise BindingError(f"{where}: {ast.unparse(n)!r} is not allowed (only comparisons, "
                               f"and/or/not, numbers, text and point()/equipment()/card())")
    check(tree)

    # Three-valued (Kleene) logic: a value not seen yet is unknown (None), a comparison with
    # it is unknown, and an unknown condition does not light a badge — not even under "not".
    def ev(n: ast.AST, values: dict) -> Any:
        if isinstance(n, ast.Expression):
            return ev(n.body, values)
        if isinstance(n, ast.BoolOp):
            vals = [ev(v, values) for v in n.values]
            truth = [None if v is None else bool(v) for v in vals]
            if isinstance(n.op, ast.And):
                return False if False in truth else (None if None in truth else True)
            return True if True in truth else (None if None in truth else False)
        if isinstance(n, ast.UnaryOp):
            x = ev(n.operand, values)
            if x is None:
                return None
            return (not x) if isinstance(n.op, ast.Not) else -x
        if isinstance(n, ast.Compare):
            left = ev(n.left, values)
            for op, c in zip(n.ops, n.comparators):
                right = ev(c, values)
                if left is None or right is None:
                    return None
                try:
                    if not _CMP[type(op)](left, right):
                        return False
                except TypeError:
                    return None
                left = right
            return True
        if isinstance(n, ast.Constant):
            return n.value
        key = ":".join([n.func.id] + ["/".join(a.value for a in n.args)])
        return values.get(key)
    def predicate(values: dict) -> bool:
        result = ev(tree, values)
        return result is not None and bool(result)
    return predicate


@dataclass
class _Range:
    lo: float
    hi: float
    visual: dict[str, Any]
    label: str | None


@dataclass
class _Binding:
    source: str
    node: str
    field: str | None
    unit: str | None
    scale: float
    offset: float
    ranges: list[_Range] = field(default_factory=list)


@dataclass
class _Badge:
    node: str
    predicate: Any
    label: str
    color: int
    on: bool = False


def _source_key(o: Observation) -> str:
    if o.kind == "equipment" and o.param:
        return f"equipment:{o.key}/{o.param}"
    return f"{o.kind}:{o.key}"


class DeclarativeBindings:
    def __init__(self, scene: Scene, bindings: list[_Binding], badges: list[_Badge]):
        self.scene = scene
        self.bindings: dict[str, list[_Binding]] = {}
        for b in bindings:
            self.bindings.setdefault(b.source, []).append(b)
        self.badges = badges
        self.values: dict[str, Any] = {}
        scene.define_property("badge", "str")

    def apply(self, observations: Iterable[Observation]) -> None:
        touched = False
        for o in observations:
            key = _source_key(o)
            self.values[key] = o.value
            touched = True
            for b in self.bindings.get(key, ()):
                self._bind(b, o)
        if touched:
            for badge in self.badges:
                on = badge.predicate(self.values)
                if on != badge.on:
                    badge.on = on
                    self.scene.set_property(badge.node, "badge", badge.label if on else "")
                    self.scene.set_visual(badge.node, emissive=badge.color if on else 0)

    def _bind(self, b: _Binding, o: Observation) -> None:
        s = self.scene
        v = o.value
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = float(v) * b.scale + b.offset
            if not math.isfinite(v):
                return
        if b.field:
            s.set_property(b.node, b.field, v, unit=b.unit if isinstance(v, float) else None)
        if isinstance(v, float):
            for r in b.ranges:
                if r.lo <= v < r.hi:
                    vis = dict(r.visual)
                    if r.label is not None:
                        vis["label"] = r.label.format(value=v, unit=b.unit or "")
                    s.set_visual(b.node, **vis)
                    break


def load_bindings(path: str | Path, scene: Scene) -> DeclarativeBindings:
    """Read and check a bindings file against the scene (nodes must exist)."""
    path = Path(path)
    doc = read_toml(path, BindingError)
    check_keys(doc, ("binding", "badge"), str(path), BindingError)
    bindings, badges = [], []
    for i, e in enumerate(doc.get("binding", []), start=1):
        where = f"{path}: binding {i}"
        bad = set(e) - _BINDING_KEYS
        if bad:
            raise BindingError(f"{where}: unknown keys {sorted(bad)}")
        source = e.get("source", "")
        kind, _, ident = source.partition(":")
        if kind not in ("point", "equipment", "card", "reader", "outstation") or not ident:
            raise BindingError(f"{where}.source: {source!r} is not point:<code>, "
                               f"equipment:<id>/<param>, card:<code> …")
        default_node = {"point": f"sensor/{ident}", "card": f"person/{ident}",
                        "equipment": f"equipment/{ident.split('/')[0]}"}.get(kind)
        node = e.get("node", default_node)
        if node is None or node not in scene:
            raise BindingError(f"{where}.node: {node!r} is not a node of the mine's scene")
        try:
            scale, offset = float(e.get("scale", 1.0)), float(e.get("offset", 0.0))
        except (TypeError, ValueError):
            raise BindingError(f"{where}: scale and offset are numbers") from None
        b = _Binding(source, node, e.get("field"), e.get("unit"), scale, offset)
        for k, r in enumerate(e.get("visual", []), start=1):
            w = f"{where}.visual {k}"
            bad = set(r) - _VISUAL_KEYS
            if bad:
                raise BindingError(f"{w}: unknown keys {sorted(bad)}")
            vis: dict[str, Any] = {}
            if "color" in r:
                vis["color"] = _color(r["color"], f"{w}.color")
            for key in ("opacity", "blink"):
                if key in r:
                    vis[key] = float(r[key])
            if "visible" in r:
                vis["visible"] = bool(r["visible"])
            b.ranges.append(_Range(float(r.get("from", -math.inf)),
                                   float(r.get("below", math.inf)), vis, r.get("label")))
        bindings.append(b)
    for i, e in enumerate(doc.get("badge", []), start=1):
        where = f"{path}: badge {i}"
        bad = set(e) - _BADGE_KEYS
        if bad:
            raise BindingError(f"{where}: unknown keys {sorted(bad)}")
        if e.get("node") not in scene:
            raise BindingError(f"{where}.node: {e.get('node')!r} is not a node of the scene")
        badges.append(_Badge(e["node"], compile_expression(str(e.get("when", "")),
                                                           f"{where}.when"),
                             str(e.get("label", "")), _color(e.get("color", "#E74C3C"),
                                                             f"{where}.color")))
    return DeclarativeBindings(scene, bindings, badges)
