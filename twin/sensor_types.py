"""Sensor type codes (REFERENCE.md §3) → the quantity they measure, as the scene names it.

Each quantity is a typed scene property with its unit (gas concentrations as the
regulations write them: % for CH4/CO2/O2, ppm for CO and the other toxic gases), so a CH4
sensor's live value is the ``ch4`` property in %, its thresholds ``ch4_alarm_upper`` … in %.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Quantity", "QUANTITIES", "quantity_of", "normalise_unit", "short_name", "fmt_reading"]


@dataclass(frozen=True, slots=True)
class Quantity:
    key: str          # property name in the scene
    name: str         # what miners call it
    unit: str | None  # None for switches and states
    kind: str         # "analog", "switch", "cumulative", "multistate"


QUANTITIES: dict[str, Quantity] = {
    "0001": Quantity("ch4", "甲烷", "%", "analog"),
    "0002": Quantity("air_velocity", "风速", "m/s", "analog"),
    "0003": Quantity("temperature", "温度", "°C", "analog"),
    "0004": Quantity("co", "一氧化碳", "ppm", "analog"),
    "0005": Quantity("air_pressure", "风压", "kPa", "analog"),
    "0006": Quantity("negative_pressure", "负压", "kPa", "analog"),
    "0011": Quantity("ch4", "高低浓甲烷", "%", "analog"),
    "0012": Quantity("o2", "氧气", "%", "analog"),
    "0013": Quantity("co2", "二氧化碳", "%", "analog"),
    "0014": Quantity("dust", "粉尘", "mg/m³", "analog"),
    "0019": Quantity("air_quantity", "风量", "m³/min", "analog"),
    "0020": Quantity("roof_separation", "顶板离层", "mm", "analog"),
    "0022": Quantity("pipe_ch4", "管道甲烷", "%", "analog"),
    "0033": Quantity("rock_stress", "矿压", "MPa", "analog"),
    "0034": Quantity("borehole_stress", "钻孔应力", "MPa", "analog"),
    "0035": Quantity("bolt_stress", "锚杆应力", "kN", "analog"),
    "0036": Quantity("mixed_gas_flow", "混合流量", "m³/min", "analog"),
    "0037": Quantity("pure_gas_flow", "纯流量", "m³/min", "analog"),
    "0039": Quantity("h2", "氢气", "ppm", "analog"),
    "0043": Quantity("ch4", "激光甲烷", "%", "analog"),
    "0046": Quantity("c2h4", "乙烯", "ppm", "analog"),
    "0047": Quantity("c2h6", "乙烷", "ppm", "analog"),
    "1001": Quantity("local_fan", "局部通风机", None, "switch"),
    "1002": Quantity("air_door", "风门", None, "switch"),
    "1003": Quantity("duct", "风筒", None, "switch"),
    "1004": Quantity("equipment_on", "设备开停", None, "switch"),
    "1006": Quantity("air_direction", "风向", None, "switch"),
    "1008": Quantity("smoke", "烟雾", None, "switch"),
    "1009": Quantity("breaker", "馈电", None, "switch"),
    "1010": Quantity("main_fan", "主通风机", None, "switch"),
    "1011": Quantity("feed", "馈电", None, "switch"),
    "1015": Quantity("feed", "馈电", None, "switch"),
    "3001": Quantity("output", "产量", "t", "cumulative"),
    "3002": Quantity("drained_gas", "抽采量", "m³", "cumulative"),
    "4001": Quantity("outstation", "分站", None, "multistate"),
    "4002": Quantity("power", "电源", None, "multistate"),
}

_UNIT_ALIASES = {"℃": "°C", "度": "°C", "m3/min": "m³/min", "m3": "m³", "mg/m3": "mg/m³",
                 "PPM": "ppm"}


def normalise_unit(unit: str) -> str:
    return _UNIT_ALIASES.get(unit.strip(), unit.strip())


def quantity_of(type_code: str) -> Quantity:
    """The quantity of a type code; an unknown code is a generic analog ``value_<code>``."""
    q = QUANTITIES.get(type_code)
    return q if q is not None else Quantity(f"value_{type_code}", f"类型{type_code}", None,
                                             "analog")


#: Short names for labels, where the chemical formula is what miners write (CH4 0.46 %).
_SHORT = {"ch4": "CH4", "co": "CO", "o2": "O2", "co2": "CO2", "h2": "H2", "c2h4": "C2H4",
          "c2h6": "C2H6", "pipe_ch4": "管道CH4"}


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
