"""Hidden hazards as zones: where the geological model and the mine's records say a seam is
dangerous, each a closed mesh and a scene layer (docs/geology.md "Hazard zones").

| kind | where | from |
| --- | --- | --- |
| `goaf` | the mined-out area of each face, with its caved zone above | the face's advance (live); the caved and fractured zone heights of the overburden |
| `outburst` | gas pressure ≥ 0.74 MPa (or gas content ≥ a mine's critical content, when set) | borehole gas samples interpolated over the seam |
| `gas` | gas enrichment: gas content ≥ the seam's mean + k standard deviations (or a mine's value) | the same |
| `water` | floor water inrush coefficient Ts = P / M ≥ 0.1 MPa/m, ≥ 0.06 within reach of a mapped fault | aquifer top and head (`water.csv`), the seam floor |
| `stress` | within reach of a mapped fault's cut of the seam, and of remnant pillars | faults, `hazards.toml` pillars |
| `fire` | sealed fire areas, and fire events as they happen | `hazards.toml` sealed areas, `event` observations |

Critical values are REFERENCE.md §4's by default (gas pressure 0.74 MPa; Ts 0.06 / 0.1); the
reaches, the enrichment factor and the overburden's strength are the mine's to set in
``geology/hazards.toml`` ``[criteria]`` — the defaults say what the demo uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import trimesh
from matplotlib.path import Path as Polygon

from ..tomlfile import check_keys, read_toml
from .boreholes import BoreholeError, Boreholes, _num, _rows
from .surfaces import fit_tps

__all__ = ["Criteria", "HazardData", "Zone", "load_hazard_data", "hazard_zones", "zone_mesh",
           "zone_outlines", "zone_outline_mesh", "zone_footprint_mesh",
           "overburden_zones", "WATER_MPA_PER_M"]

WATER_MPA_PER_M = 0.00981          # ρ g of water: MPa per metre of head
ONE_SIDED_95 = 1.644854


@dataclass(frozen=True)
class Criteria:
    gas_pressure_MPa: float = 0.74            # REFERENCE.md §4: outburst critical pressure
    gas_content_m3_t: float | None = None     # a mine's critical gas content, if it sets one
    enrichment_sd: float = 1.0                # gas enrichment: mean + k·sd of the seam's content
    enrichment_m3_t: float | None = None      # or a fixed enrichment content
    inrush_normal: float = 0.1                # REFERENCE.md §4: Ts critical, normal sections
    inrush_disturbed: float = 0.06            # REFERENCE.md §4: structurally disturbed sections
    disturbed_within_m: float = 50.0          # a fault's reach for "structurally disturbed"
    stress_fault_m: float = 30.0              # stress concentration along a fault's cut
    stress_pillar_m: float = 20.0             # and around a remnant pillar
    overburden: str = "medium-hard"           # for the caved / fractured zone heights
    caved_zone_m: float | None = None         # or the mine's measured heights
    fractured_zone_m: float | None = None


@dataclass
class HazardData:
    criteria: Criteria = field(default_factory=Criteria)
    pillars: list[tuple[str, np.ndarray]] = field(default_factory=list)      # name, (n, 2)
    sealed: list[dict] = field(default_factory=list)    # name, outline (n, 2), seam, reason, since
    aquifers: dict[str, dict] = field(default_factory=dict)   # name → xy, top_z, head_z


def overburden_zones(mining_height_m: float, criteria: Criteria = Criteria()) -> tuple[float, float]:
    """(caved zone, water-conducting fractured zone) heights above the seam, m: the mine's
    measured values when set, else the empirical formulas of the coal-pillar code
    (建筑物、水体、铁路及主要井巷煤柱留设与压煤开采规范, 2017) for the overburden's
    strength — not in REFERENCE.md: a mine should set its own."""
    m = float(mining_height_m)
    formulas = {"hard": ((100, 2.1, 16), (100, 1.2, 2.0)),
                "medium-hard": ((100, 4.7, 19), (100, 1.6, 3.6)),
                "soft": ((100, 6.2, 32), (100, 3.1, 5.0))}
    (a1, b1, c1), (a2, b2, c2) = formulas[criteria.overburden]
    caved = criteria.caved_zone_m if criteria.caved_zone_m is not None else a1 * m / (b1 * m + c1)
    frac = criteria.fractured_zone_m if criteria.fractured_zone_m is not None \
        else a2 * m / (b2 * m + c2)
    return round(caved, 2), round(frac, 2)


def _points(raw, origin, where: str) -> np.ndarray:
    try:
        pts = np.asarray(raw, float)[:, :2] - np.asarray(origin, float)[:2]
    except (TypeError, ValueError, IndexError):
        raise BoreholeError(f"{where}: an outline is a list of [x, y] points") from None
    if len(pts) < 3:
        raise BoreholeError(f"{where}: an outline needs at least 3 points")
    return pts


def load_hazard_data(folder: str | Path, origin=(0.0, 0.0, 0.0)) -> HazardData:
    """``hazards.toml`` ([criteria], [[pillar]], [[sealed]]) and ``water.csv`` of a mine's
    geology folder, both optional; problems raise BoreholeError naming the file."""
    folder = Path(folder)
    data = HazardData()
    path = folder / "hazards.toml"
    if path.exists():
        doc = read_toml(path, BoreholeError)
        check_keys(doc, ("criteria", "pillar", "sealed"), str(path), BoreholeError)
        crit = doc.get("criteria", {})
        check_keys(crit, Criteria.__dataclass_fields__, f"{path}: [criteria]", BoreholeError)
        if "overburden" in crit and crit["overburden"] not in ("hard", "medium-hard", "soft"):
            raise BoreholeError(f"{path}: criteria.overburden is hard, medium-hard or soft")
        for k, v in crit.items():
            if k != "overburden" and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise BoreholeError(f"{path}: criteria.{k} is a number")
        data.criteria = Criteria(**crit)
        for i, p in enumerate(doc.get("pillar", [])):
            data.pillars.append((str(p.get("name", f"pillar {i + 1}")),
                                 _points(p.get("outline"), origin, f"{path}: pillar {i + 1}")))
        for i, s in enumerate(doc.get("sealed", [])):
            data.sealed.append({"name": str(s.get("name", f"sealed {i + 1}")),
                                "outline": _points(s.get("outline"), origin, f"{path}: sealed {i + 1}"),
                                "seam": s.get("seam"), "reason": s.get("reason", "fire"),
                                "since": str(s.get("since", ""))})
    path = folder / "water.csv"
    if path.exists():
        o = np.asarray(origin, float)
        for n, r in enumerate(_rows(path, ["aquifer", "x", "y", "top_z", "head_z"]), 2):
            x, y, top, head = (_num(r, k, path, n) for k in ("x", "y", "top_z", "head_z"))
            a = data.aquifers.setdefault(r["aquifer"], {"xy": [], "top_z": [], "head_z": []})
            a["xy"].append((x - o[0], y - o[1]))
            a["top_z"].append(top - o[2])
            a["head_z"].append(head - o[2])
        for a in data.aquifers.values():
            for k in a:
                a[k] = np.asarray(a[k], float)
    return data


def _samples(holes: Boreholes, seam: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(xy, values) of a numeric interval column of a seam's picks (mid-seam position)."""
    xy, vals = [], []
    for h in holes.holes.values():
        for iv in h.intervals:
            if iv["seam"] != seam or not str(iv.get(column, "")).strip():
                continue
            try:
                v = float(iv[column])
            except ValueError:
                raise BoreholeError(f"intervals.csv: {h.id} {seam}: {column} is not a number: "
                                    f"{iv[column]!r}") from None
            xy.append(h.at((iv["from"] + iv["to"]) / 2)[:2])
            vals.append(v)
    return np.asarray(xy, float).reshape(-1, 2), np.asarray(vals, float)


@dataclass
class Zone:
    kind: str                     # goaf | outburst | gas | water | stress | fire
    seam: str | None
    name: str
    mask: np.ndarray              # (ny, nx) cells
    lower: np.ndarray             # (ny + 1, nx + 1) corner elevations
    upper: np.ndarray
    props: dict
    criterion_zh: str = ""        # props["criterion"] in Chinese (the forecast notice's)


def _fault_distance(fault, x, y, z) -> np.ndarray:
    """Plan distance from points on a surface to where the fault plane cuts it (near enough:
    the distance to the plane over the sine of its dip)."""
    s = np.radians(fault.strike_deg)
    right = np.array([np.cos(s), -np.sin(s)])
    d = np.radians(fault.dip_deg)
    n = np.array([right[0] * np.sin(d), right[1] * np.sin(d), np.cos(d)])
    p = np.asarray(fault.point)
    return np.abs((x - p[0]) * n[0] + (y - p[1]) * n[1] + (z - p[2]) * n[2]) / np.sin(d)


def _inside(poly: np.ndarray, x, y, reach: float = 0.0) -> np.ndarray:
    pts = np.c_[np.ravel(x), np.ravel(y)]
    inside = Polygon(poly).contains_points(pts)
    if reach > 0:
        a, b = poly, np.roll(poly, -1, axis=0)
        ab = b - a
        t = np.clip(np.einsum("ijk,jk->ij", pts[:, None, :] - a[None], ab)
                    / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-12), 0, 1)
        near = a[None] + t[..., None] * ab[None]
        inside |= np.linalg.norm(pts[:, None, :] - near, axis=2).min(axis=1) <= reach
    return inside.reshape(np.shape(x))


def hazard_zones(geo, data: HazardData, extent, step: float = 25.0, seams=None
                 ) -> tuple[list[Zone], tuple[np.ndarray, np.ndarray]]:
    """Every static zone of every seam (of ``seams``) over ``extent`` on a ``step`` grid,
    and the grid's corner coordinates (xs, ys). The goaf is the scene's live node; fire
    events come live."""
    from .meshes import extent_grid
    m, c = geo.model, data.criteria
    gx, gy = extent_grid(extent, step)                    # corners
    xs, ys = gx[0], gy[:, 0]
    cx, cy = (gx[:-1, :-1] + gx[1:, 1:]) / 2, (gy[:-1, :-1] + gy[1:, 1:]) / 2   # cell centres
    area = float((xs[1] - xs[0]) * (ys[1] - ys[0]))
    zones: list[Zone] = []
    for seam in (m.seams if seams is None else [k for k in m.seams if k in seams]):
        floor_c = m.floor(seam, gx, gy)
        roof_c = floor_c + m.thickness(seam, gx, gy)
        slab = (floor_c - 0.5, roof_c + 0.5)
        floor = m.floor(seam, cx, cy)

        def add(kind, mask, name, props, lower_upper=slab, seam=seam, zh=""):
            mask = _no_pinches(mask)
            if mask.any():
                zones.append(Zone(kind, seam, name, mask, *lower_upper, {
                    "seam": seam, "area_m2": (round(float(mask.sum()) * area), "m²"), **props},
                    zh))
        # Gas: outburst danger and enrichment from the boreholes' samples.
        xy_c, content_s = _samples(geo.holes, seam, "gas_content_m3_t")
        content = fit_tps(xy_c, content_s)(cx, cy) if len(content_s) >= 3 else None
        xy, p = _samples(geo.holes, seam, "gas_pressure_MPa")
        if len(p) >= 3:
            # A safety zone errs on the safe side: danger where the pressure may reach the
            # critical value — its one-sided 95 % upper bound (sparse samples flatten peaks).
            surf = fit_tps(xy, p)
            pressure = surf(cx, cy)
            danger = pressure + ONE_SIDED_95 * surf.sigma(cx, cy) >= c.gas_pressure_MPa
            crit = f"gas pressure (95 % upper bound) ≥ {c.gas_pressure_MPa} MPa"
            zh = f"瓦斯压力（95% 上限）≥ {c.gas_pressure_MPa} MPa"
            if c.gas_content_m3_t is not None and content is not None:
                danger |= content >= c.gas_content_m3_t
                crit += f" or gas content ≥ {c.gas_content_m3_t} m³/t"
                zh += f" 或瓦斯含量 ≥ {c.gas_content_m3_t} m³/t"
            add("outburst", danger, f"{seam}突出危险区", {
                "criterion": crit, "max_gas_pressure_MPa": (round(float(pressure.max()), 2), "MPa")},
                zh=zh)
        if content is not None:
            limit = c.enrichment_m3_t if c.enrichment_m3_t is not None else \
                float(content_s.mean() + c.enrichment_sd * content_s.std())
            add("gas", content >= limit, f"{seam}瓦斯富集区", {
                "criterion": f"gas content ≥ {limit:.2f} m³/t",
                "max_gas_content_m3_t": (round(float(content.max()), 2), "m³/t")},
                zh=f"瓦斯含量 ≥ {limit:.2f} m³/t")
        # Water: the floor's inrush coefficient over each aquifer below the seam.
        near_fault = np.zeros(cx.shape, bool)
        for f in m.faults:
            near_fault |= _fault_distance(f, cx, cy, floor) <= c.disturbed_within_m
        for name, a in data.aquifers.items():
            if len(a["xy"]) < 3:
                continue
            top = fit_tps(a["xy"], a["top_z"])
            head = fit_tps(a["xy"], a["head_z"])
            t_c = top(cx, cy)
            thick = floor - t_c
            below = thick > 0
            pressure = np.maximum(head(cx, cy) - t_c, 0) * WATER_MPA_PER_M
            ts = np.where(below, pressure / np.maximum(thick, 1e-6), 0.0)
            # On the safe side: the aquiclude as thin as the floor's and the aquifer top's
            # errors allow (one-sided 95 %), so Ts at its upper bound.
            spread = ONE_SIDED_95 * np.hypot(m.floor_sigma(seam, cx, cy), top.sigma(cx, cy))
            ts_hi = np.where(below, pressure / np.maximum(thick - spread, 1.0), 0.0)
            crit = np.where(near_fault, c.inrush_disturbed, c.inrush_normal)
            add("water", below & (ts_hi >= crit), f"{seam}水害区({name})", {
                "aquifer": name, "criterion": f"Ts (95 % upper bound) ≥ {c.inrush_normal} MPa/m "
                f"(≥ {c.inrush_disturbed} within {c.disturbed_within_m:g} m of a fault)",
                "max_inrush_coefficient_MPa_m": (round(float(ts[below].max()), 3)
                                                 if below.any() else 0.0, "MPa/m")},
                (np.minimum(top(gx, gy), floor_c - 0.5), floor_c),
                zh=f"突水系数（95% 上限）≥ {c.inrush_normal} MPa/m（断层 {c.disturbed_within_m:g} m "
                   f"内 ≥ {c.inrush_disturbed}）")
        # Stress: along each fault's cut of the seam, and around remnant pillars.
        stress = np.zeros(cx.shape, bool)
        for f in m.faults:
            stress |= _fault_distance(f, cx, cy, floor) <= c.stress_fault_m
        for _, poly in data.pillars:
            stress |= _inside(poly, cx, cy, c.stress_pillar_m)
        add("stress", stress, f"{seam}应力集中区", {
            "criterion": f"within {c.stress_fault_m:g} m of a fault's cut, "
                         f"{c.stress_pillar_m:g} m of a remnant pillar"},
            zh=f"断层切割线 {c.stress_fault_m:g} m 内、残留煤柱 {c.stress_pillar_m:g} m 内")
        # Fire: sealed areas.
        for s in data.sealed:
            if s["seam"] not in (None, seam):
                continue
            add("fire", _inside(s["outline"], cx, cy), s["name"], {
                "reason": s["reason"], "sealed_since": s["since"]})
    for z in zones:
        z.props["grid_step_m"] = (float(xs[1] - xs[0]), "m")
    return zones, (xs, ys)


def _no_pinches(mask: np.ndarray) -> np.ndarray:
    """Cells touching only at a corner share one vertical edge between four walls (not a
    closed surface): fill one of the other two cells of each such pair — the zone grows by
    a cell there, on the safe side."""
    m = mask.copy()
    while True:
        a, b, c, d = m[:-1, :-1], m[:-1, 1:], m[1:, :-1], m[1:, 1:]
        diag = a & d & ~b & ~c
        anti = b & c & ~a & ~d
        if not (diag.any() or anti.any()):
            return m
        r, k = np.nonzero(diag)
        m[r, k + 1] = True
        r, k = np.nonzero(anti)
        m[r, k] = True


def zone_mesh(zone: Zone, xs: np.ndarray, ys: np.ndarray) -> trimesh.Trimesh:
    """The zone's cells as one closed mesh between its lower and upper corner elevations:
    tops, bottoms, and walls where a cell's neighbour is outside the zone."""
    ny, nx = zone.mask.shape
    gx, gy = np.meshgrid(xs, ys)
    lower = zone.lower
    upper = np.maximum(zone.upper, lower + 0.01)
    n = (ny + 1) * (nx + 1)
    verts = np.vstack([np.c_[gx.ravel(), gy.ravel(), lower.ravel()],
                       np.c_[gx.ravel(), gy.ravel(), upper.ravel()]])
    r, c = np.nonzero(zone.mask)
    a = r * (nx + 1) + c
    b, c2, d = a + 1, a + nx + 2, a + nx + 1
    faces = [np.c_[a, b, c2] + n, np.c_[a, c2, d] + n, np.c_[a, c2, b], np.c_[a, d, c2]]
    pad = np.pad(zone.mask, 1)
    for (dr, dc), (p, q) in (((-1, 0), (a, b)), ((0, 1), (b, c2)), ((1, 0), (c2, d)),
                             ((0, -1), (d, a))):
        open_ = ~pad[r + 1 + dr, c + 1 + dc]
        p, q = p[open_], q[open_]
        faces += [np.c_[p, q, q + n], np.c_[p, q + n, p + n]]
    mesh = trimesh.Trimesh(verts, np.vstack(faces), process=False)
    mesh.remove_unreferenced_vertices()
    return mesh


def _smooth_field(zone: Zone, xs: np.ndarray, ys: np.ndarray, upsample: int = 1,
                  sigma: float = 0.8):
    """The zone's cell mask as a smooth field on cell centres (padded by one empty cell, so
    every outline closes): (x centres, y centres, field). A Gaussian over one cell rounds the
    grid's stair steps; ``upsample`` > 1 resamples it finer (bilinear) for the footprint."""
    from scipy.ndimage import gaussian_filter, zoom
    step_x, step_y = float(xs[1] - xs[0]), float(ys[1] - ys[0])
    field = np.pad(zone.mask.astype(float), 2)
    if sigma:
        field = gaussian_filter(field, sigma=sigma)
    cx = (xs[0] - 1.5 * step_x) + step_x * np.arange(field.shape[1])
    cy = (ys[0] - 1.5 * step_y) + step_y * np.arange(field.shape[0])
    if upsample > 1:
        field = zoom(field, upsample, order=1, grid_mode=False)
        cx = np.linspace(cx[0], cx[-1], field.shape[1])
        cy = np.linspace(cy[0], cy[-1], field.shape[0])
    return cx, cy, field


def _elevation(zone: Zone, xs: np.ndarray, ys: np.ndarray):
    """The zone's lower surface (the seam floor) at any plan point, extrapolated past the grid."""
    from scipy.interpolate import RegularGridInterpolator
    f = RegularGridInterpolator((ys, xs), zone.lower, bounds_error=False, fill_value=None)
    return lambda x, y: f(np.c_[np.asarray(y, float), np.asarray(x, float)])


def zone_outlines(zone: Zone, xs: np.ndarray, ys: np.ndarray) -> list[np.ndarray]:
    """The zone's boundary as smooth closed plan lines ((n, 2) each, contourpy on the
    smoothed mask): no stair steps of the grid. Each connected part is contoured at one half
    of its own smoothed peak where that is under one half, so a part a cell or two wide, which
    the smoothing would lose at one half, still gets a round outline of its own."""
    import contourpy
    from scipy.ndimage import label
    parts, n = label(zone.mask)
    lines = []
    for i in range(1, n + 1):
        part = replace(zone, mask=parts == i)
        # a small part resampled finer, so its few cells make a round line, not an octagon
        cx, cy, field = _smooth_field(part, xs, ys, upsample=4 if part.mask.sum() < 25 else 1)
        gen = contourpy.contour_generator(cx, cy, field, line_type="Separate")
        lines += [ln for ln in gen.lines(min(0.5, 0.5 * float(field.max()))) if len(ln) >= 4]
    return lines


def zone_outline_mesh(zone: Zone, xs: np.ndarray, ys: np.ndarray, *, width: float = 5.0,
                      fence: float = 4.0, lift: float = 0.5) -> trimesh.Trimesh | None:
    """The zone drawn as its outline draped on the seam floor: a flat band ``width`` m wide
    (what a plan view shows as a line) and a low fence ``fence`` m tall on it (what an
    oblique view shows) — the inside left clear, so the roadways and people in it show."""
    z_at = _elevation(zone, xs, ys)
    verts, faces = [], []
    for ln in zone_outlines(zone, xs, ys):
        d = np.gradient(ln, axis=0)
        n = np.c_[-d[:, 1], d[:, 0]]
        n /= np.maximum(np.linalg.norm(n, axis=1), 1e-9)[:, None]
        z = z_at(ln[:, 0], ln[:, 1]) + lift
        m = len(ln)
        k = np.arange(m - 1)
        for a, b in ((np.c_[ln + n * width / 2, z], np.c_[ln - n * width / 2, z]),   # band
                     (np.c_[ln, z], np.c_[ln, z + fence])):                          # fence
            base = sum(len(v) for v in verts)
            verts.append(np.vstack([a, b]))
            quads = np.r_[np.c_[k, k + m, k + 1], np.c_[k + 1, k + m, k + m + 1]]
            faces.append(quads + base)           # the material is double-sided
    if not verts:
        return None
    return trimesh.Trimesh(np.vstack(verts), np.vstack(faces), process=False)


def zone_footprint_mesh(zone: Zone, xs: np.ndarray, ys: np.ndarray, *, upsample: int = 2,
                        lift: float = 0.3) -> trimesh.Trimesh | None:
    """The zone's area as a thin surface draped on the seam floor, on a grid ``upsample``
    times finer than the zone's, its edge following the smoothed outline — the light fill a
    user switches on to see what lies inside."""
    for sigma in (0.8, 0.0):
        cx, cy, field = _smooth_field(zone, xs, ys, upsample, sigma)
        inside = (field[:-1, :-1] + field[1:, :-1] + field[:-1, 1:] + field[1:, 1:]) / 4 >= 0.5
        r, c = np.nonzero(inside)
        if len(r):
            break
    else:
        return None
    gx, gy = np.meshgrid(cx, cy)
    z = _elevation(zone, xs, ys)(gx.ravel(), gy.ravel()) + lift
    verts = np.c_[gx.ravel(), gy.ravel(), z]
    nx = len(cx)
    a = r * nx + c
    b, c2, d = a + 1, a + nx + 1, a + nx
    faces = np.r_[np.c_[a, b, c2], np.c_[a, c2, d]]
    mesh = trimesh.Trimesh(verts, faces, process=False)
    mesh.remove_unreferenced_vertices()
    return mesh
