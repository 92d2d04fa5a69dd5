"""What lies ahead of each face and heading (地质预测预报): along its advance, the distance to
each mapped fault (where its plane cuts the seam floor), to each hazard zone, to where the
seam's thickness changes and to where the floor leaves its present grade — each with the
days it takes at the plan rate and the model's uncertainty there.

The facts only: how near is near enough to warn is the mine's (safety/risk.py reads these
and its warning lines). A face advances straight along its panel's advance direction up to
the panel's end; a heading along the direction it is driving now (the roadway's design
beyond its end is not known to the geology). docs/risk.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .surfaces import POSITION_SIGMA_M, throw_sigma

__all__ = ["Ahead", "Forecast", "forecast_workings", "FORECAST_REACH_M"]

#: How far ahead a forecast looks (m): a heading at 6 m a day, some 80 days.
FORECAST_REACH_M = 500.0
#: A thickness change worth a forecast (m) and a departure of the floor from its present
#: grade (m): MineTwin's defaults, *verify* against the mine's mining conditions.
THICKNESS_CHANGE_M = 0.5
UNDULATION_M = 3.0
Z95 = 1.96


@dataclass(frozen=True, slots=True)
class Ahead:
    """One thing a working meets: ``kind`` fault | a hazard-zone kind (outburst, gas, water,
    stress, fire, goaf) | thickness | undulation; ``name`` (the fault's, the zone's);
    ``distance_m`` along the advance (0: it is in it now), ``days`` at the plan rate (None
    when the working does not advance), ``position`` (x, y, z) where it is met, ``detail``
    its figures (a fault's throw and its uncertainty, the thickness there and its band …)."""

    kind: str
    name: str
    distance_m: float
    days: float | None
    position: tuple[float, float, float]
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Forecast:
    """A face's or heading's forecast: ``working`` ``face:<id>`` / ``heading:<id>``, its scene
    node, seam, advance now, plan rate, how far it looks (``reach_m``, the panel's end for a
    face) and what lies ahead, nearest first."""

    working: str
    node: str
    name: str
    seam: str
    advanced_m: float
    rate_m_per_day: float
    reach_m: float
    position: tuple[float, float, float]
    direction: tuple[float, float]
    ahead: tuple[Ahead, ...]

    def record(self) -> dict:
        def r(v):
            return None if v is None else round(float(v), 1)
        return {"working": self.working, "node": self.node, "name": self.name,
                "seam": self.seam, "advanced_m": r(self.advanced_m),
                "rate_m_per_day": self.rate_m_per_day, "reach_m": r(self.reach_m),
                "position": [round(float(v), 1) for v in self.position],
                "direction": [round(float(v), 4) for v in self.direction],
                "ahead": [{"kind": a.kind, "name": a.name, "distance_m": r(a.distance_m),
                           "days": r(a.days), "position": [round(float(v), 1) for v in a.position],
                           **a.detail} for a in self.ahead]}


def _first(hit: np.ndarray) -> int | None:
    """The first step (row) where any point of the line is hit."""
    rows = np.flatnonzero(hit.any(axis=1) if hit.ndim == 2 else hit)
    return int(rows[0]) if len(rows) else None


def forecast_workings(geo, mine, workings, zones=(), grid=None, *,
                      reach_m: float = FORECAST_REACH_M, step_m: float = 5.0,
                      thickness_change_m: float = THICKNESS_CHANGE_M,
                      undulation_m: float = UNDULATION_M) -> list[Forecast]:
    """Forecasts for ``workings`` (GeologyScene.workings(): key, seam, line points, direction,
    name, advance) against the model ``geo`` (a GeologyModel), the hazard ``zones``
    (hazard_zones.Zone, on the cell edges ``grid`` = (xs, ys))."""
    m = geo.model
    out = []
    for key, seam, line, d, name, adv in workings:
        kind, _, wid = key.partition("-")
        d = np.asarray(d, float)[:2]
        d = d / np.linalg.norm(d)
        line = np.asarray(line, float).reshape(-1, 2)
        if len(line) > 5:                      # its ends, middle and quarters are enough
            line = line[np.linspace(0, len(line) - 1, 5).round().astype(int)]
        if kind == "face":
            f = mine.longwalls[wid]
            # to the panel's end: the outline's farthest point along the advance
            start = float(np.min((f.start_line[:, :2] @ d)))
            end = float(np.max(np.asarray(f.outline, float) @ d))
            reach = max(min(reach_m, end - start - adv), 0.0)
            rate = f.plan_m_per_day
        else:
            h = mine.headings[wid]
            reach, rate = reach_m, h.plan_m_per_day
        steps = np.arange(0.0, reach + 1e-9, step_m)
        if len(steps) < 2:
            steps = np.array([0.0, step_m])
        gx = line[None, :, 0] + steps[:, None] * d[0]
        gy = line[None, :, 1] + steps[:, None] * d[1]
        floor = m.floor(seam, gx, gy)
        fs = m.floor_sigma(seam, gx, gy)
        thick = m.thickness(seam, gx, gy)
        ts = m.thickness_sigma(seam, gx, gy)
        mid = line.shape[0] // 2
        days = (lambda s: s / rate if rate > 0 else None)

        def at(i, j=mid):
            return (float(gx[i, j]), float(gy[i, j]), float(floor[i, j]))
        found: list[Ahead] = []
        for fault in m.faults:
            side = np.sign(fault.plan_distance(gx, gy, floor))
            cross = side != side[:1]
            i = _first(cross)
            if i is None:
                continue
            j = int(np.flatnonzero(cross[i])[0])
            # between the steps: where the plan distance changes sign (linear)
            if i == 0:                         # the line straddles it now
                s = 0.0
            else:
                p0 = fault.plan_distance(gx[i - 1, j], gy[i - 1, j], floor[i - 1, j])
                p1 = fault.plan_distance(gx[i, j], gy[i, j], floor[i, j])
                s = float(steps[i - 1] + (steps[i] - steps[i - 1]) * p0 / (p0 - p1)) \
                    if p0 != p1 else float(steps[i])
            pos = fault.position_sigma_m if fault.position_sigma_m is not None else \
                POSITION_SIGMA_M
            found.append(Ahead("fault", fault.name, s, days(s), at(i, j), {
                "throw_m": fault.throw_m, "throw_sigma_m": round(throw_sigma(fault), 2),
                "position_sigma_m": pos,
                "dip_deg": fault.dip_deg, "strike_deg": fault.strike_deg}))
        if grid is not None:
            xs, ys = grid
            ix = np.floor((gx - xs[0]) / (xs[1] - xs[0])).astype(int)
            iy = np.floor((gy - ys[0]) / (ys[1] - ys[0])).astype(int)
            inside = (ix >= 0) & (iy >= 0) & (ix < len(xs) - 1) & (iy < len(ys) - 1)
            ixc, iyc = np.clip(ix, 0, len(xs) - 2), np.clip(iy, 0, len(ys) - 2)
            for z in zones:
                if z.seam not in (None, seam):
                    continue
                hit = inside & z.mask[iyc, ixc]
                i = _first(hit)
                if i is None:
                    continue
                j = int(np.flatnonzero(hit[i])[0]) if hit.ndim == 2 else mid
                # how far it runs: the first step after i where no point is inside
                rest = np.flatnonzero(~hit[i:].any(axis=1))
                length = float(steps[i + rest[0]] - steps[i]) if len(rest) else None
                detail = {"zone": z.name, "criterion": z.props.get("criterion", ""),
                          "criterion_zh": getattr(z, "criterion_zh", "") or "",
                          "length_m": None if length is None else round(length, 1)}
                found.append(Ahead(z.kind, z.name, float(steps[i]), days(float(steps[i])),
                                   at(i, j), detail))
        # the seam's thickness leaving its value here by more than thickness_change_m
        t_mean = thick.mean(axis=1)
        i = _first(np.abs(t_mean - t_mean[0]) > thickness_change_m)
        if i is not None:
            found.append(Ahead("thickness", seam, float(steps[i]), days(float(steps[i])), at(i), {
                "thickness_here_m": round(float(t_mean[0]), 2),
                "thickness_m": round(float(t_mean[i]), 2),
                "thickness_band95_m": round(float(2 * Z95 * ts[i].max()), 2)}))
        # the floor leaving the grade of the first 20 m by more than undulation_m and by more
        # than its own band (a departure the model is sure of, not its uncertainty)
        f_mean = floor.mean(axis=1)
        k = max(int(round(20.0 / step_m)), 1)
        grade = (f_mean[min(k, len(f_mean) - 1)] - f_mean[0]) / max(steps[min(k, len(steps) - 1)], 1e-9)
        dep = f_mean - (f_mean[0] + grade * steps)
        band = Z95 * fs.max(axis=1)
        i = _first((np.abs(dep) > undulation_m) & (np.abs(dep) > band))
        if i is not None:
            found.append(Ahead("undulation", seam, float(steps[i]), days(float(steps[i])), at(i), {
                "departure_m": round(float(dep[i]), 2),
                "floor_band95_m": round(float(2 * band[i]), 2),
                "grade_pct": round(float(100 * grade), 1)}))
        found.sort(key=lambda a: a.distance_m)
        node = f"{kind}/{wid}"
        out.append(Forecast(f"{kind}:{wid}", node, name, seam, float(adv), float(rate),
                            float(reach), at(0), (float(d[0]), float(d[1])), tuple(found)))
    return out
