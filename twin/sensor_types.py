"""Sensor type codes (REFERENCE.md §3a) → the quantity they measure, as the scene names it:
the full table is data (``sensor_codes.toml``), a mine folder's own rows over it.

Each quantity is a typed scene property with its unit (gas concentrations as the
regulations write them: % for CH4/CO2/O2, ppm for CO and the other toxic gases), so a CH4
sensor's live value is the ``ch4`` property in %, its thresholds ``ch4_alarm_upper`` … in %.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Quantity", "QUANTITIES", "quantity_of", "normalise_unit", "short_name", "fmt_reading",
           "load_codes", "use_codes", "quantity_table", "switch_states"]

#: The code table shipped with MineTwin (REFERENCE.md §3a); a mine folder's
#: ``sensor_codes.toml`` (same format) replaces rows of it (use_codes).
CODES_FILE = Path(__file__).with_name("sensor_codes.toml")
KINDS = ("analog", "switch", "cumulative", "multistate")


@dataclass(frozen=True, slots=True)
class Quantity:
    key: str          # property name in the scene
    name: str         # what miners call it
    unit: str | None  # None for switches and states
    kind: str         # "analog", "switch", "cumulative", "multistate"
    en: str = ""      # its English name
    states: tuple[str, str] | None = None       # a switch's 0 and 1, in Chinese …
    states_en: tuple[str, str] | None = None    # … and in English
    sure: bool = True  # False: a default the reference does not give (docs/bindings.md)


def load_codes(path: str | Path) -> dict[str, Quantity]:
    """The rows of a code table (sensor_codes.toml's format): code → Quantity. Raises
    ValueError naming the file and the row on a malformed one."""
    import tomllib
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    out: dict[str, Quantity] = {}
    for kind in doc:
        if kind not in KINDS:
            raise ValueError(f"{path}: unknown table {kind!r} (one of {', '.join(KINDS)})")
        for i, row in enumerate(doc[kind], start=1):
            where = f"{path}: {kind} row {i}"
            extra = set(row) - {"code", "key", "zh", "en", "unit", "states", "states_en", "sure"}
            if extra or not {"code", "key", "zh"} <= set(row):
                raise ValueError(f"{where}: needs code, key, zh (and may have en, unit, "
                                 f"states, states_en, sure); got {sorted(row)}")
            code = str(row["code"])
            if not (len(code) == 4 and code.isdigit()):
                raise ValueError(f"{where}: code {code!r} is not four digits")
            states = row.get("states")
            if kind == "switch" and (not isinstance(states, list) or len(states) != 2):
                raise ValueError(f"{where}: a switch says what 0 and 1 mean: "
                                 f"states = [\"…\", \"…\"]")
            en_states = row.get("states_en", states)
            out[code] = Quantity(str(row["key"]), str(row["zh"]), row.get("unit"), kind,
                                 str(row.get("en", row["key"])),
                                 tuple(states) if states else None,
                                 tuple(en_states) if en_states else None,
                                 bool(row.get("sure", True)))
    return out


#: Code → quantity: the shipped table, with a mine folder's rows over it.
QUANTITIES: dict[str, Quantity] = load_codes(CODES_FILE)


def use_codes(path: str | Path) -> list[str]:
    """Put a mine folder's code table over the shipped one (this process's): the codes it
    changed or added."""
    rows = load_codes(path)
    QUANTITIES.update(rows)
    return sorted(rows)


def quantity_table() -> dict[str, dict]:
    """Every quantity by its scene key, as the viewer names and shows it (GET /api/quantities):
    zh / en names, unit, kind, a switch's states; and the codes that give it."""
    out: dict[str, dict] = {}
    for code, q in sorted(QUANTITIES.items()):
        row = out.setdefault(q.key, {"zh": q.name, "en": q.en, "unit": q.unit, "kind": q.kind,
                                     "short": short_name(q), "codes": []})
        row["codes"].append(code)
        if q.states:
            row["states"], row["states_en"] = list(q.states), list(q.states_en or q.states)
    return out


def switch_states(sensor) -> tuple[str, str] | None:
    """What a switch point's 0 and 1 mean: its own CDDY texts (off, on) where its record has
    both, else its code's row of the table; None for a point that is not a switch."""
    q = quantity_of(sensor.type_code)
    if q.kind != "switch":
        return None
    if sensor.off_text and sensor.on_text:
        return sensor.off_text, sensor.on_text
    return q.states


_UNIT_ALIASES = {"℃": "°C", "度": "°C", "m3/min": "m³/min", "m3": "m³", "mg/m3": "mg/m³",
                 "PPM": "ppm"}


def normalise_unit(unit: str) -> str:
    return _UNIT_ALIASES.get(unit.strip(), unit.strip())


def quantity_of(type_code: str) -> Quantity:
    """The quantity of a type code; an unknown code is a generic analog ``value_<code>``."""
    q = QUANTITIES.get(type_code)
    return q if q is not None else Quantity(f"value_{type_code}", f"类型{type_code}", None,
                                             "analog", f"type {type_code}", sure=False)


#: Short names for labels, where the chemical formula is what miners write (CH4 0.46 %).
_SHORT = {"ch4": "CH4", "co": "CO", "o2": "O2", "co2": "CO2", "h2": "H2", "c2h4": "C2H4",
          "c2h6": "C2H6", "pipe_ch4": "管道CH4", "h2s": "H2S", "no2": "NO2", "so2": "SO2",
          "nh3": "NH3", "n2": "N2", "pipe_co": "管道CO"}


def short_name(q: Quantity) -> str:
    """A quantity as a label names it: its formula for gases, else its Chinese name."""
    return _SHORT.get(q.key, q.name)


def fmt_reading(v: float | None) -> str:
    """A reading as a dispatcher reads it: two decimals under 10 (0.46, 1.60), one under 100
    (25.4), none above (150) — no float noise. Labels, alarm texts and reports share it."""
    if v is None:
        return "—"
    v = float(v)
    if v != v:
        return "—"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"
