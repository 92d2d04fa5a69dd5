"""What mining exposes, and the model that learns from it.

Exposure points (``geology/exposures.csv``, docs/geology.md) are where the seam has been seen:
floor elevation (and thickness where measured) along roadways driven in the seam and along
the face line each time it is mapped. :class:`GeologyModel` holds the borehole model and
every exposure so far; :meth:`GeologyModel.add` first predicts each new batch *before* using
it — the accuracy log, so the error people see is the error the model really had ahead of
the face — and then refits the seam's exposure correction (twin/geology/surfaces.py).

Prediction ahead (:meth:`GeologyModel.ahead`): floor and thickness with a 95 % band on a grid
reaching a given distance ahead of a face line or a heading.
"""

from __future__ import annotations

import copy
import csv
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from .boreholes import BoreholeError, Boreholes, _rows, load_boreholes
from .surfaces import MAPPING_SIGMA_M, SeamModel, build_seam_model

__all__ = ["Exposures", "GeologyModel", "load_exposures", "write_exposures", "build_geology",
           "face_points", "EXPOSURE_COLUMNS", "Z95"]

EXPOSURE_COLUMNS = ["seam", "x", "y", "floor_z", "thickness_m", "source", "time"]
Z95 = 1.959964                  # two-sided 95 % of a normal error


@dataclass
class Exposures:
    """A table of exposed seam points, local grid: ``floor`` elevations, ``thickness`` (NaN
    where not measured), ``source`` (``roadway:<id>``, ``face:<id>``, ``heading:<id>`` …)
    and ``time_ms``."""
    seam: np.ndarray
    xy: np.ndarray
    floor: np.ndarray
    thickness: np.ndarray
    source: np.ndarray
    time_ms: np.ndarray
    sigma: np.ndarray = None             # one-sigma error of each point, m

    def __post_init__(self) -> None:
        if self.sigma is None:
            self.sigma = np.full(len(self.xy), MAPPING_SIGMA_M)

    @classmethod
    def empty(cls) -> "Exposures":
        return cls(np.array([], dtype=object), np.zeros((0, 2)), np.zeros(0), np.zeros(0),
                   np.array([], dtype=object), np.zeros(0, np.int64), np.zeros(0))

    @classmethod
    def of(cls, seam, xy, floor, thickness=None, source="", time_ms=0,
           sigma=MAPPING_SIGMA_M) -> "Exposures":
        xy = np.asarray(xy, float).reshape(-1, 2)
        n = len(xy)
        th = np.full(n, np.nan) if thickness is None else np.asarray(thickness, float)

        def col(v, dtype):
            return np.asarray(v, dtype) if np.ndim(v) else np.full(n, v, dtype)
        return cls(col(seam, object), xy, np.asarray(floor, float).reshape(n), th.reshape(n),
                   col(source, object), col(time_ms, np.int64), col(sigma, float))

    def __len__(self) -> int:
        return len(self.xy)

    def select(self, mask) -> "Exposures":
        return Exposures(self.seam[mask], self.xy[mask], self.floor[mask], self.thickness[mask],
                         self.source[mask], self.time_ms[mask], self.sigma[mask])

    def __add__(self, other: "Exposures") -> "Exposures":
        return Exposures(np.r_[self.seam, other.seam], np.vstack([self.xy, other.xy]),
                         np.r_[self.floor, other.floor], np.r_[self.thickness, other.thickness],
                         np.r_[self.source, other.source], np.r_[self.time_ms, other.time_ms],
                         np.r_[self.sigma, other.sigma])

    def batches(self) -> list["Exposures"]:
        """The table cut into what was mapped together (one source at one time), in time
        order — the order a replay adds them in."""
        keys = sorted({(int(t), str(s)) for t, s in zip(self.time_ms, self.source)})
        return [self.select((self.time_ms == t) & (self.source == s)) for t, s in keys]


def load_exposures(path: str | Path, origin=(0.0, 0.0, 0.0),
                   tz: str = "Asia/Shanghai") -> Exposures:
    """``exposures.csv``: every problem raises BoreholeError naming the file, line and field.
    Times are ISO 8601, local time of the mine unless they carry an offset."""
    path = Path(path)
    o = np.asarray(origin, float)
    zone = ZoneInfo(tz)
    rows = []
    for n, r in enumerate(_rows(path, EXPOSURE_COLUMNS), 2):
        def num(k, blank_ok=False):
            text = (r.get(k) or "").strip()
            if not text and blank_ok:
                return np.nan
            try:
                v = float(text)
            except ValueError:
                raise BoreholeError(f"{path}:{n}: {k} is not a number: {r.get(k)!r}") from None
            if not np.isfinite(v):
                raise BoreholeError(f"{path}:{n}: {k} is not finite")
            return v
        x, y = num("x"), num("y")
        floor, thickness = num("floor_z", True), num("thickness_m", True)
        if np.isnan(floor) and np.isnan(thickness):
            raise BoreholeError(f"{path}:{n}: neither floor_z nor thickness_m")
        if thickness < 0:
            raise BoreholeError(f"{path}:{n}: thickness_m is negative")
        sigma = num("sigma_m", True)            # optional column; blank: the mapping error
        if np.isnan(sigma):
            sigma = MAPPING_SIGMA_M
        elif sigma <= 0:
            raise BoreholeError(f"{path}:{n}: sigma_m must be > 0")
        try:
            when = datetime.fromisoformat(r["time"].strip())
        except (AttributeError, ValueError):
            raise BoreholeError(f"{path}:{n}: time is not ISO 8601: {r['time']!r}") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=zone)
        if not r["seam"].strip():
            raise BoreholeError(f"{path}:{n}: seam is empty")
        rows.append((r["seam"].strip(), x - o[0], y - o[1], floor - o[2], thickness,
                     r["source"].strip(), int(when.timestamp() * 1000), sigma))
    if not rows:
        return Exposures.empty()
    seam, x, y, z, th, src, t, sig = zip(*rows)
    return Exposures.of(np.array(seam, object), np.c_[x, y], z, th, np.array(src, object),
                        np.array(t, np.int64), np.array(sig, float))


def write_exposures(path: str | Path, exp: Exposures, origin=(0.0, 0.0, 0.0),
                    tz: str = "Asia/Shanghai") -> None:
    o = np.asarray(origin, float)
    zone = ZoneInfo(tz)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(EXPOSURE_COLUMNS + ["sigma_m"])
        for i in range(len(exp)):
            th, z = exp.thickness[i], exp.floor[i]
            when = datetime.fromtimestamp(int(exp.time_ms[i]) / 1000, zone)
            w.writerow([exp.seam[i], f"{exp.xy[i, 0] + o[0]:.2f}", f"{exp.xy[i, 1] + o[1]:.2f}",
                        "" if not np.isfinite(z) else f"{z + o[2]:.3f}",
                        "" if not np.isfinite(th) else f"{th:.3f}", exp.source[i],
                        when.replace(tzinfo=None).isoformat(timespec="seconds"),
                        f"{exp.sigma[i]:g}"])


def face_points(a_xy, b_xy, spacing: float = 10.0) -> np.ndarray:
    """Where a face line is mapped: every ``spacing`` metres, half a spacing in from its ends."""
    a, b = np.asarray(a_xy, float)[:2], np.asarray(b_xy, float)[:2]
    n = max(int(np.linalg.norm(b - a) // spacing), 1)
    t = (np.arange(n) + 0.5) / n
    return a + (b - a) * t[:, None]


def _rmse(e) -> float:
    e = np.asarray(e, float)
    return round(float(np.sqrt(np.mean(np.square(e)))), 3) if len(e) else float("nan")


@dataclass
class GeologyModel:
    """The borehole model, every exposure added so far, and the accuracy log."""
    holes: Boreholes
    model: SeamModel
    exposed: Exposures = field(default_factory=Exposures.empty)
    log: list[dict] = field(default_factory=list)
    boreholes_only: SeamModel | None = None

    def __post_init__(self) -> None:
        if self.boreholes_only is None:
            self.boreholes_only = copy.copy(self.model)
            self.boreholes_only.floor_fix, self.boreholes_only.thickness_fix = {}, {}

    def add(self, batch: Exposures) -> list[dict]:
        """Log how well the model predicted ``batch`` (before it sees it), then learn from
        it. Points of a seam the model does not have are logged as refused and kept out."""
        entries = []
        t0 = time.perf_counter()
        keep = np.ones(len(batch), bool)
        for seam in sorted(set(batch.seam.tolist())):
            sel = batch.seam == seam
            b = batch.select(sel)
            entry = {"time_ms": int(b.time_ms.max()) if len(b) else 0,
                     "source": ",".join(sorted(set(b.source.tolist()))), "seam": seam,
                     "points": int(len(b))}
            if seam not in self.model.seams:
                keep &= ~sel
                entries.append({**entry, "refused": f"no seam {seam!r} in the model"})
                continue
            fl = np.isfinite(b.floor)
            x, y = b.xy[fl, 0], b.xy[fl, 1]
            th = np.isfinite(b.thickness)
            if fl.any():
                err = self.model.floor(seam, x, y) - b.floor[fl]
                err0 = self.boreholes_only.floor(seam, x, y) - b.floor[fl]
                band = Z95 * np.hypot(self.model.floor_sigma(seam, x, y), b.sigma[fl])
                entry.update({
                    "floor_rmse_m": _rmse(err), "floor_bias_m": round(float(err.mean()), 3),
                    "floor_max_m": round(float(np.abs(err).max()), 3),
                    "floor_rmse_boreholes_only_m": _rmse(err0),
                    "floor_within_95": round(float(np.mean(np.abs(err) <= band)), 3)})
            tx, ty = b.xy[th, 0], b.xy[th, 1]
            entry["thickness_rmse_m"] = _rmse(self.model.thickness(seam, tx, ty)
                                              - b.thickness[th]) if th.any() else None
            entry["sigma_m"] = round(float(np.median(b.sigma)), 3)
            entries.append(entry)
        batch = batch.select(keep)
        self.exposed = self.exposed + batch
        for seam in sorted(set(batch.seam.tolist())):
            mine = self.exposed.select(self.exposed.seam == seam)
            self.model.set_exposure(seam, mine.xy, mine.floor, mine.thickness, mine.sigma)
        took = time.perf_counter() - t0
        for e in entries:
            e["update_s"] = round(took, 4)
        self.log.extend(entries)
        return entries

    def report(self) -> dict:
        """The borehole report (docs/geology.md) plus what the exposure log says."""
        rep = self.model.report()
        ok = [e for e in self.log if "refused" not in e and "floor_rmse_m" in e]

        def pooled(entries, key="floor_rmse_m"):
            n = sum(e["points"] for e in entries)
            if not n:
                return None
            return round(float(np.sqrt(sum(e[key] ** 2 * e["points"] for e in entries) / n)), 3)
        face = [e for e in ok if e["source"].startswith("face:")]
        rep.update({
            "face_floor_rmse_m": pooled(face),
            "face_floor_rmse_boreholes_only_m": pooled(face, "floor_rmse_boreholes_only_m"),
            "exposure_floor_rmse_m": pooled(ok),
            "exposure_points": int(len(self.exposed)),
            "exposure_batches": sum(1 for e in self.log if "refused" not in e),
            "refused_batches": sum(1 for e in self.log if "refused" in e)})
        return rep

    # ---------------------------------------------------------------- ahead of the face

    def ahead(self, seam: str, line_xy: np.ndarray, direction, distance_m: float = 100.0,
              step_m: float = 10.0) -> dict:
        """Floor and thickness with their 95 % bands on a grid from the points ``line_xy``
        (the face line, or a heading's end across its width) out to ``distance_m`` along
        ``direction`` (plan, unit). Arrays are (ahead, along the line); ``summary`` gives
        each distance's mean and widest band."""
        d = np.asarray(direction, float)[:2]
        d = d / np.linalg.norm(d)
        steps = np.arange(0.0, distance_m + 1e-9, step_m)
        line = np.asarray(line_xy, float).reshape(-1, 2)
        gx = line[None, :, 0] + steps[:, None] * d[0]
        gy = line[None, :, 1] + steps[:, None] * d[1]
        m = self.model
        floor, thick = m.floor(seam, gx, gy), m.thickness(seam, gx, gy)
        fs, ts = m.floor_sigma(seam, gx, gy), m.thickness_sigma(seam, gx, gy)
        out = {"seam": seam, "ahead_m": steps, "x": gx, "y": gy, "floor_z": floor,
               "floor_lo": floor - Z95 * fs, "floor_hi": floor + Z95 * fs,
               "thickness_m": thick, "thickness_lo": np.maximum(thick - Z95 * ts, 0.0),
               "thickness_hi": thick + Z95 * ts}
        out["summary"] = [{"ahead_m": float(a), "floor_z": round(float(floor[i].mean()), 2),
                           "floor_band95_m": round(float(2 * Z95 * fs[i].max()), 2),
                           "thickness_m": round(float(thick[i].mean()), 2),
                           "thickness_band95_m": round(float(2 * Z95 * ts[i].max()), 2)}
                          for i, a in enumerate(steps)]
        return out


def build_geology(mine_dir: str | Path, origin=(0.0, 0.0, 0.0), tz: str = "Asia/Shanghai",
                  exclude: set[str] = frozenset()) -> GeologyModel:
    """The mine folder's boreholes, then its exposures (if any) replayed in time order —
    so the accuracy log says how each batch would have been predicted when it was mapped."""
    folder = Path(mine_dir) / "geology"
    holes = load_boreholes(folder, origin)
    geo = GeologyModel(holes, build_seam_model(holes, exclude))
    table = Exposures.empty()
    for name in ("exposures.csv", "geophysics.csv"):     # hard data and soft, in one history
        if (folder / name).exists():
            table = table + load_exposures(folder / name, origin, tz)
    for batch in table.batches():
        geo.add(batch)
    return geo
