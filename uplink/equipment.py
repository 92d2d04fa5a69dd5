"""Key equipment files (MT/T 1201.2, REFERENCE.md §3): main fan (TF), main drainage (PS),
shaft hoist (LJ), slope hoist (XJ), air compressor (KY), winch (JC) — each with point
definitions and real-time files in the shared envelope, ``-9999`` for an invalid value.

REFERENCE.md names the systems and the invalid value but not the file type names nor the
record layouts, so a dialect declares them per system (docs/uplink.md)::

    [key_equipment.TF]
    kinds = ["main_fan"]                  # our equipment kinds in this system
    definition_type = "TFDY"              # the province's file type names
    realtime_type = "TFSS"
    definition_layout = ["point", "equipment", "equipment_name", "param", "unit", "location",
                         "x", "y", "z", "time"]
    realtime_layout = ["point", "value", "unit", "time"]

A system's points are its machines' live parameters (what the feeds report, e.g.
``running``, ``air_m3_min``), one point per machine and parameter, coded
``point_code`` (default ``{system}{machine:02d}{param:02d}`` — stable while the set of
parameters is).
"""

from __future__ import annotations

from dataclasses import dataclass

from twin import KEY_INVALID, KEY_SYSTEMS

__all__ = ["SYSTEMS", "EQUIPMENT_FIELDS", "KeySystem", "parse_key_equipment", "equipment_rows",
           "INVALID"]

#: REFERENCE.md §3: the key-equipment systems of MT/T 1201.2.
SYSTEMS = {k: name for k, (_, name) in KEY_SYSTEMS.items()}
INVALID = KEY_INVALID
EQUIPMENT_FIELDS = {
    "definition": ("point", "system", "system_name", "equipment", "equipment_name", "param",
                   "unit", "location", "x", "y", "z", "time"),
    "realtime": ("point", "equipment", "param", "value", "unit", "running", "time"),
}


@dataclass(frozen=True)
class KeySystem:
    system: str
    kinds: tuple[str, ...]
    definition_type: str
    realtime_type: str
    definition_layout: tuple[str, ...]
    realtime_layout: tuple[str, ...]
    point_code: str = "{system}{machine:02d}{param:02d}"


def parse_key_equipment(doc, where: str) -> dict[str, KeySystem]:
    """The ``[key_equipment.<system>]`` tables of a dialect; problems raise ValueError."""
    if not isinstance(doc, dict):
        raise ValueError(f"{where}: [key_equipment] is a table of systems")
    out = {}
    for sys_code, t in doc.items():
        w = f"{where}: key_equipment.{sys_code}"
        if sys_code not in SYSTEMS:
            raise ValueError(f"{w}: no such system (MT/T 1201.2: {', '.join(SYSTEMS)})")
        if not isinstance(t, dict):
            raise ValueError(f"{w}: a table")
        known = {"kinds", "definition_type", "realtime_type", "definition_layout",
                 "realtime_layout", "point_code"}
        bad = sorted(set(t) - known)
        missing = sorted(known - {"point_code"} - set(t))
        if bad or missing:
            raise ValueError(f"{w}: " + (f"unknown keys {bad}" if bad else f"missing {missing}"))
        for key in ("definition", "realtime"):
            layout = t[f"{key}_layout"]
            if not isinstance(layout, list) or not layout or \
                    any(f not in EQUIPMENT_FIELDS[key] for f in layout):
                raise ValueError(f"{w}: {key}_layout is a list of "
                                 f"{', '.join(EQUIPMENT_FIELDS[key])}")
            name = t[f"{key}_type"]
            if not (isinstance(name, str) and name.isalnum() and name.isupper()):
                raise ValueError(f"{w}: {key}_type is an upper-case file type like TFSS")
        if not isinstance(t["kinds"], list) or not t["kinds"]:
            raise ValueError(f"{w}: kinds is a list of equipment kinds")
        out[sys_code] = KeySystem(sys_code, tuple(t["kinds"]), t["definition_type"],
                                  t["realtime_type"], tuple(t["definition_layout"]),
                                  tuple(t["realtime_layout"]),
                                  t.get("point_code", KeySystem.point_code))
    return out


def _points(model, scene, ks: KeySystem) -> list[tuple[str, object, str]]:
    """(point code, equipment, param) of a system, in a stable order."""
    machines = sorted((e for e in model.equipment.values() if e.kind in ks.kinds),
                      key=lambda e: e.id)
    out = []
    for mi, e in enumerate(machines, start=1):
        nid = f"equipment/{e.id}"
        props = sorted(k[len("live_"):] for k in (scene.node(nid).properties if nid in scene
                                                   else {}) if k.startswith("live_"))
        for pi, param in enumerate(props, start=1):
            code = ks.point_code.format(system=ks.system, machine=mi, param=pi,
                                        equipment=e.id, name=param)
            out.append((code, e, param))
    return out


def equipment_rows(model, scene, systems: dict[str, KeySystem], stamp: str,
                   kind: str) -> dict[str, list[list[str]]]:
    """{file type: rows} of every declared system, ``kind`` "definition" or "realtime"."""
    ox, oy, oz = model.mine.origin
    out = {}
    for ks in systems.values():
        rows = []
        for code, e, param in _points(model, scene, ks):
            nid = f"equipment/{e.id}"
            pv = scene.node(nid).properties.get(f"live_{param}")
            value = getattr(pv, "value", None)
            running = scene.node(nid).properties.get("live_running")
            run = getattr(running, "value", None)
            if value is None:
                text = INVALID
            elif isinstance(value, bool):
                text = "1" if value else "0"
            elif isinstance(value, (int, float)):
                text = f"{value:g}"
            else:
                text = str(value)
            f = {"point": code, "system": ks.system, "system_name": SYSTEMS[ks.system],
                 "equipment": e.id, "equipment_name": e.name, "param": param,
                 "unit": getattr(pv, "unit", None) or "", "location": e.name,
                 "x": f"{e.position[0] + ox:.3f}", "y": f"{e.position[1] + oy:.3f}",
                 "z": f"{e.position[2] + oz:.3f}", "value": text,
                 "running": INVALID if run is None else ("1" if run else "0"), "time": stamp}
            layout = ks.definition_layout if kind == "definition" else ks.realtime_layout
            rows.append([f[k] for k in layout])
        out[ks.definition_type if kind == "definition" else ks.realtime_type] = rows
    return out
