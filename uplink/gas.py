"""The gas-geology export (瓦斯地质): what the provincial gas database collects about each seam
sample — gas content and pressure, firmness f, initial desorption velocity ΔP, permeability,
burial depth, seam thickness and dip, coordinates and the outburst indices — from the
boreholes' coal samples and the geological model, in a configurable table (docs/uplink.md).

Per sample (a coal interval of ``intervals.csv`` with any gas column):

- coordinates: mid-seam along the hole, in the mine's CRS; burial depth ``H`` = the collar's
  elevation − the sample's;
- thickness and dip: the geological model's at the sample (vertical thickness; dip from the
  restored floor's gradient over ±5 m, so a fault's step is not read as dip);
- outburst indices by the combined-index method (防治煤与瓦斯突出细则):
  ``D = (0.0075·H / f − 3)·(P − 0.74)`` and ``K = ΔP / f``, critical D 0.25 and K 20
  (anthracite) or 15 (others) — REFERENCE.md §4; ``outburst_danger`` is 1 when either reaches
  its critical value, empty when a needed value is missing.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

__all__ = ["GasFormat", "GAS_FIELDS", "gas_records", "render_gas", "check_gas", "GasExportError"]

#: Field → (the default column title, unit).
GAS_FIELDS = {
    "mine_code": ("矿井编码", ""), "mine_name": ("矿井名称", ""), "seam": ("煤层", ""),
    "hole": ("钻孔编号", ""), "x": ("X坐标", "m"), "y": ("Y坐标", "m"), "z": ("标高", "m"),
    "burial_depth_m": ("埋深", "m"), "thickness_m": ("煤厚", "m"), "dip_deg": ("倾角", "°"),
    "gas_content_m3_t": ("瓦斯含量", "m³/t"), "gas_pressure_MPa": ("瓦斯压力", "MPa"),
    "firmness_f": ("坚固性系数f", ""), "desorption_dP_mmHg": ("瓦斯放散初速度ΔP", "mmHg"),
    "permeability_m2_MPa2d": ("透气性系数", "m²/(MPa²·d)"), "D": ("综合指标D", ""),
    "K": ("综合指标K", ""), "outburst_danger": ("突出危险性", ""), "data_time": ("数据时间", ""),
}
D_CRITICAL = 0.25                           # REFERENCE.md §4
K_CRITICAL = {"anthracite": 20.0, "other": 15.0}


class GasExportError(ValueError):
    """A bad format file; the message names what and where."""


@dataclass(frozen=True)
class GasFormat:
    """The table a province's gas database takes: file name, separator, encoding, columns."""
    name_pattern: str = "{mine}_WSDZ_{time}.csv"
    name_time: str = "%Y%m%d%H%M%S"
    delimiter: str = ","
    encoding: str = "utf-8"
    bom: bool = True                          # spreadsheet programs read UTF-8 CSV by it
    header: bool = True
    time_format: str = "%Y-%m-%d %H:%M:%S"
    coal_rank: str = "other"                  # "anthracite" sets K's critical value to 20
    columns: list = field(default_factory=lambda: [
        {"field": f, "title": t + (f"({u})" if u else "")} for f, (t, u) in GAS_FIELDS.items()])

    @classmethod
    def load(cls, path: str | Path) -> "GasFormat":
        from uplink.files import check_encoding, read_toml_for
        doc = read_toml_for(cls, path, GasExportError, rename={"column": "columns"})
        fmt = cls(**doc)
        if not isinstance(fmt.columns, list) or not fmt.columns:
            raise GasExportError(f"{path}: [[column]] tables, at least one")
        for i, c in enumerate(fmt.columns, 1):
            if not isinstance(c, dict) or c.get("field") not in GAS_FIELDS:
                raise GasExportError(f"{path}: column {i}: field must be one of "
                                     f"{', '.join(GAS_FIELDS)}")
            if set(c) - {"field", "title", "decimals"}:
                raise GasExportError(f"{path}: column {i}: only field, title, decimals")
        if fmt.coal_rank not in K_CRITICAL:
            raise GasExportError(f"{path}: coal_rank is 'anthracite' or 'other'")
        if len(fmt.delimiter) != 1:
            raise GasExportError(f"{path}: delimiter is one character")
        check_encoding(fmt.encoding, path, GasExportError)
        return fmt


def _num(iv: dict, key: str) -> float | None:
    v = str(iv.get(key, "")).strip()
    if not v:
        return None
    try:
        x = float(v)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def gas_records(holes, model, origin, coal_rank: str = "other") -> list[dict]:
    """One record per coal sample with gas data (named fields, numbers unrounded)."""
    ox, oy, oz = origin
    k_crit = K_CRITICAL[coal_rank]
    out = []
    for h in sorted(holes.holes.values(), key=lambda h: h.id):
        for iv in h.intervals:
            vals = {k: _num(iv, k) for k in ("gas_content_m3_t", "gas_pressure_MPa",
                                               "firmness_f", "desorption_dP_mmHg",
                                               "permeability_m2_MPa2d")}
            if not iv.get("seam") or all(v is None for v in vals.values()):
                continue
            seam = iv["seam"]
            x, y, z = h.at((iv["from"] + iv["to"]) / 2)
            r = {"seam": seam, "hole": h.id, "x": x + ox, "y": y + oy, "z": z + oz,
                 "burial_depth_m": float(h.collar[2] - z), **vals}
            if model is not None and seam in model.seams:
                r["thickness_m"] = float(model.thickness(seam, x, y))
                d = 5.0
                gx = (model.restored_floor(seam, x + d, y) - model.restored_floor(seam, x - d, y)) / (2 * d)
                gy = (model.restored_floor(seam, x, y + d) - model.restored_floor(seam, x, y - d)) / (2 * d)
                r["dip_deg"] = float(np.degrees(np.arctan(np.hypot(gx, gy))))
            f, p, dp, depth = vals["firmness_f"], vals["gas_pressure_MPa"], \
                vals["desorption_dP_mmHg"], r["burial_depth_m"]
            if f and p is not None:
                r["D"] = (0.0075 * depth / f - 3.0) * (p - 0.74)
            if f and dp is not None:
                r["K"] = dp / f
            if "D" in r or "K" in r:
                r["outburst_danger"] = int(r.get("D", -1) >= D_CRITICAL
                                           or r.get("K", -1) >= k_crit)
            out.append(r)
    return out


_DECIMALS = {"x": 2, "y": 2, "z": 2, "burial_depth_m": 1, "thickness_m": 2, "dip_deg": 1,
             "gas_content_m3_t": 2, "gas_pressure_MPa": 3, "firmness_f": 2,
             "desorption_dP_mmHg": 1, "permeability_m2_MPa2d": 3, "D": 3, "K": 1}


def render_gas(records: list[dict], mine_code: str, mine_name: str, when: datetime,
               fmt: GasFormat = GasFormat()) -> tuple[str, bytes]:
    """(file name, bytes) of the table."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=fmt.delimiter, lineterminator="\r\n")
    if fmt.header:
        w.writerow([c.get("title", c["field"]) for c in fmt.columns])
    stamp = when.strftime(fmt.time_format)
    for r in records:
        row = []
        for c in fmt.columns:
            f = c["field"]
            v = {"mine_code": mine_code, "mine_name": mine_name, "data_time": stamp}.get(f, r.get(f))
            if isinstance(v, float):
                v = f"{v:.{c.get('decimals', _DECIMALS.get(f, 3))}f}"
            row.append("" if v is None else str(v))
        w.writerow(row)
    data = buf.getvalue().encode(fmt.encoding)
    if fmt.bom and fmt.encoding.lower().replace("-", "") == "utf8":
        data = b"\xef\xbb\xbf" + data
    name = fmt.name_pattern.format(mine=mine_code, type="WSDZ", time=when.strftime(fmt.name_time))
    return name, data


def check_gas(name: str, data: bytes, fmt: GasFormat, count: int) -> list[str]:
    """Read the table back: it decodes, every row has every column, the numbers are numbers,
    the rows are the records written. An empty list: clean."""
    try:
        text = data.decode("utf-8-sig" if fmt.encoding.lower().replace("-", "") == "utf8"
                           else fmt.encoding)
    except UnicodeDecodeError as exc:
        return [f"{name}: {exc}"]
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=fmt.delimiter))
    if fmt.header:
        rows = rows[1:]
    problems = []
    if len(rows) != count:
        problems.append(f"{name}: {len(rows)} rows, {count} records")
    numeric = [i for i, c in enumerate(fmt.columns) if c["field"] in _DECIMALS]
    for n, row in enumerate(rows, 2 if fmt.header else 1):
        if len(row) != len(fmt.columns):
            problems.append(f"{name}: line {n}: {len(row)} fields, {len(fmt.columns)} columns")
            continue
        for i in numeric:
            if row[i]:
                try:
                    float(row[i])
                except ValueError:
                    problems.append(f"{name}: line {n}: {fmt.columns[i]['field']} {row[i]!r}")
    return problems
