"""Geology benchmark (issues: transparent geology, #21): our seam model against scipy's
thin-plate RBF and pykrige's ordinary and universal kriging on the same boreholes, on the demo
mine and on public well tops; and the model's accuracy at the face once exposure comes in.

    .venv/bin/python -m pip install -c constraints.txt -e '.[bench]'     # pykrige
    .venv/bin/python bench/bench_geology.py [--public-only]

On the demo mine (48 boreholes, three mapped faults, the hidden truth known):
- floor RMSE at held-out boreholes (leave one hole out) and against the hidden truth on a
  10 m grid inside the boreholes' hull (as `geology report` grades it), ours vs each peer:
  TPS with smoothing 0, pykrige OK with each variogram model and UK with a linear drift
  (variograms fitted by pykrige), on the raw picks and — to be fair to them — on the picks
  restored across the mapped faults and faulted back, like ours; each peer's best variant;
- build time of each;
- after exposure: the face's floor error before each mapping (the accuracy log), and the
  time to build with the whole exposure history and to add one face mapping.
On the public well tops (twin/geology/validation.py: the Claudius horizons, 50 and 230
pseudo-wells per unit): 10-fold CV over the wells on the same folds for every model (floor,
roof, thickness), the floor against the horizon's points between the wells, the band's
coverage, build time.
Target (#21): floor RMSE ≤ 0.8 × the best peer on both; face RMSE kept at 0.056 m.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.spatial import Delaunay

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twin.geology import build_seam_model, load_boreholes  # noqa: E402
from twin.geology.exposure import Exposures, build_geology, face_points  # noqa: E402
from twin.geology.surfaces import fault, restore  # noqa: E402
from twin.demo.truth import TrueGeology  # noqa: E402


def _rmse(e) -> float:
    return float(np.sqrt(np.mean(np.square(e))))


def main() -> None:
    from pykrige.ok import OrdinaryKriging
    from pykrige.uk import UniversalKriging

    def kriging(kind, x, y, z, model):
        if kind == "tps":
            f = _peer("tps", None, np.c_[x, y], z)
            return type("TPS", (), {"execute": lambda self, _, qx, qy: (f(np.c_[qx, qy]), None)})()
        if kind == "ok":
            return OrdinaryKriging(x, y, z, variogram_model=model)
        return UniversalKriging(x, y, z, variogram_model=model, drift_terms=["regional_linear"])

    from twin.demo.generator import generate_demo
    from twin.minefolder import load_mine
    tmp = tempfile.mkdtemp()
    mine_dir = generate_demo(Path(tmp) / "demo")
    mine = load_mine(mine_dir)
    truth = TrueGeology.load(mine_dir / "truth" / "geology.toml")
    holes = load_boreholes(mine_dir / "geology", mine.mine.origin)

    t0 = time.perf_counter()
    ours = build_seam_model(holes)
    t_ours = time.perf_counter() - t0
    rep = ours.report()
    print(f"ours (kriging with REML covariance or thin-plate RBF by leave-one-out, faults "
          f"restored, their throw errors carried): build {t_ours * 1000:.0f} ms for "
          f"{len(ours.seams)} seams — " + ", ".join(
              f"{s}: {v['floor_smoothing']}, roof {v['roof']}" for s, v in rep["seams"].items()))

    rows = []
    hole_xy = np.vstack([holes.picks(s)["floor"][:, :2] for s in ours.seams])
    graded = truth.grade(ours, hole_xy)
    hull = Delaunay(hole_xy)
    lo, hi = hole_xy.min(axis=0), hole_xy.max(axis=0)
    gx, gy = np.meshgrid(np.arange(lo[0], hi[0] + 1e-9, 10.0), np.arange(lo[1], hi[1] + 1e-9, 10.0))
    g = np.c_[gx.ravel(), gy.ravel()]
    g = g[hull.find_simplex(g) >= 0]                  # truth.grade's 10 m grid inside the hull
    print(f"against the hidden truth: {graded['truth_grid_points']} points of a 10 m grid "
          f"inside the boreholes' hull; ours {graded['truth_floor_rmse_m']} m, "
          f"{graded['truth_band_coverage']:.1%} inside the 95 % band; held out "
          f"{rep['floor_band_coverage']:.1%}")
    for seam in ours.seams:
        p = holes.picks(seam)["floor"]
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        t_true = truth.floor(seam, g[:, 0], g[:, 1])
        row = {"seam": seam, "ours_loo": rep["seams"][seam]["floor_rmse_m"],
               "ours_truth": graded["truth_seams"][seam]["truth_floor_rmse_m"]}
        zr = restore(z, x, y, holes.faults)
        for kind, model in [("tps", "smoothing 0")] \
                + [("ok", m) for m in ("linear", "spherical", "exponential", "gaussian")] \
                + [("uk", m) for m in ("linear", "spherical", "exponential")]:
            for label, target in (("raw", z), ("restored", zr)):
                err = []
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    for i in range(len(x)):
                        keep = np.arange(len(x)) != i
                        ok = kriging(kind, x[keep], y[keep], target[keep], model)
                        zi, _ = ok.execute("points", x[i:i + 1], y[i:i + 1])
                        pred = float(zi[0])
                        if label == "restored":
                            pred = float(fault(np.array([pred]), x[i:i + 1], y[i:i + 1],
                                               holes.faults)[0])
                        err.append(pred - z[i])
                    t_loo = time.perf_counter() - t0
                    t0 = time.perf_counter()
                    ok = kriging(kind, x, y, target, model)
                    zi, _ = ok.execute("points", g[:, 0], g[:, 1])
                    t_build = time.perf_counter() - t0
                pred = np.asarray(zi)
                if label == "restored":
                    pred = fault(pred, g[:, 0], g[:, 1], holes.faults)
                row[f"{kind}_{model}_{label}"] = (_rmse(err), _rmse(pred - t_true), t_build,
                                                  t_loo)
        rows.append(row)

    print("\nfloor RMSE (m) held out (leave one hole out) / against the hidden truth; each "
          "peer's best variant by its truth figure (ratio ours / it, truth)")
    print("| seam | ours | TPS (data) | ratio | ordinary kriging (variogram, data) | ratio | "
          "universal kriging, linear drift | ratio |")
    print("| --- | ---: | --- | ---: | --- | ---: | --- | ---: |")
    for r in rows:
        cells = []
        for kind in ("tps", "ok", "uk"):
            best = min((k for k in r if k.startswith(kind + "_")), key=lambda k: r[k][1])
            cells.append(f"{r[best][0]:.2f} / {r[best][1]:.2f} ({best[len(kind) + 1:]}) | "
                         f"{r['ours_truth'] / r[best][1]:.2f}")
        print(f"| {r['seam']} | {r['ours_loo']:.2f} / {r['ours_truth']:.2f} | "
              + " | ".join(cells) + " |")
    print("\nall pykrige variants (LOO RMSE / vs truth / build+predict s):")
    for r in rows:
        print(r["seam"], ", ".join(f"{k} {v[0]:.2f}/{v[1]:.2f}/{v[2]:.2f}s"
                                   for k, v in r.items() if k[:3] in ("ok_", "uk_", "tps")))

    t0 = time.perf_counter()
    geo = build_geology(mine_dir, mine.mine.origin)
    t_replay = time.perf_counter() - t0
    g_rep = geo.report()
    face = [e for e in geo.log if e["source"].startswith("face:")]
    ups = [e["update_s"] for e in geo.log]
    print(f"\nexposure: {g_rep['exposure_points']} points in {g_rep['exposure_batches']} "
          f"batches; build with the whole history replayed {t_replay:.2f} s "
          f"(each batch predicted, then used: mean {np.mean(ups) * 1000:.1f} ms, max "
          f"{np.max(ups) * 1000:.1f} ms)")
    print(f"face floor RMSE before each mapping: {g_rep['face_floor_rmse_m']} m over "
          f"{len(face)} mappings (boreholes alone: {g_rep['face_floor_rmse_boreholes_only_m']} m); "
          f"within the 95 % band: "
          f"{np.mean([e['floor_within_95'] for e in face]) * 100:.0f} %")
    f = mine.longwalls["11901"]
    a, b = f.face_line(f.advanced_m + 4.8)
    pts = face_points(a, b)
    z, th = truth.mapped("M9", pts, np.random.default_rng(9))
    t0 = time.perf_counter()
    e = geo.add(Exposures.of("M9", pts, z, th, "face:11901", 2_000_000_000_000))[0]
    t_add = time.perf_counter() - t0
    print(f"one more face mapping ({len(pts)} points): error before use {e['floor_rmse_m']} m, "
          f"added in {t_add * 1000:.0f} ms")
    err = geo.model.floor("M9", *pts.T) - truth.floor("M9", *pts.T)
    print(f"the face line against the truth after the update: {_rmse(err):.3f} m")


PEERS = (("tps", None), ("ok", "exponential"), ("ok", "spherical"), ("uk", "exponential"),
         ("uk", "spherical"), ("uk", "linear"))


def _peer(kind, model, xy, z):
    """A peer's predictor from points: scipy's thin-plate RBF (smoothing 0, the linear term
    it always has), pykrige ordinary kriging, or universal kriging with a linear drift —
    pykrige's variogram fitted by pykrige."""
    from scipy.interpolate import RBFInterpolator
    if kind == "tps":
        f = RBFInterpolator(xy, z, kernel="thin_plate_spline", smoothing=0.0)
        return lambda q: f(q)
    from pykrige.ok import OrdinaryKriging
    from pykrige.uk import UniversalKriging
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = (OrdinaryKriging(xy[:, 0], xy[:, 1], z, variogram_model=model) if kind == "ok" else
             UniversalKriging(xy[:, 0], xy[:, 1], z, variogram_model=model,
                              drift_terms=["regional_linear"]))

    def predict(q):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(k.execute("points", q[:, 0], q[:, 1])[0])
    return predict


def public_wells(counts=(50, 230), k=10) -> None:
    """The public well tops (twin.geology.validation: the Claudius horizons in LoopStructural's
    wheel): per unit and well count, 10-fold CV over the wells (the same folds for every
    model) and the floor against the hidden points between the wells."""
    from twin.geology.validation import (PUBLIC_UNITS, _folds, cross_validate, public_horizons,
                                         public_unit)
    h = public_horizons()
    print("\npublic well tops (Claudius, 3-D seismic horizons; pseudo-wells seed 21)")
    print("| unit (floor–roof) | wells | model | CV floor | CV roof | CV thickness | "
          "truth floor | band: CV / truth | build s |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    pooled: dict = {}
    for n in counts:
        for floor, roof in PUBLIC_UNITS:
            u = public_unit(floor, roof, n, horizons=h)
            p = u.holes.picks("U")
            xy, fz, rz = p["floor"][:, :2], p["floor"][:, 2], p["roof"][:, 2]
            tx, ty = u.truth_xy.T
            t0 = time.perf_counter()
            m = build_seam_model(u.holes)
            t_build = time.perf_counter() - t0
            e = m.floor("U", tx, ty) - u.truth_floor
            cov = float(np.mean(np.abs(e) <= 1.96 * m.floor_sigma("U", tx, ty)))
            cv = cross_validate(u.holes, k=k)
            rows = [("ours", cv["floor_rmse_m"], cv["roof_rmse_m"], cv["thickness_rmse_m"],
                     _rmse(e), f"{cv['floor_band_coverage']:.2f} / {cov:.2f}", t_build)]
            pooled.setdefault((n, "ours"), []).append(e)
            for kind, model in PEERS:
                ef, er, et = [], [], []
                for fold in _folds(len(fz), k, 0):
                    keep = np.setdiff1d(np.arange(len(fz)), fold)
                    pf = _peer(kind, model, xy[keep], fz[keep])(xy[fold])
                    pr = _peer(kind, model, xy[keep], rz[keep])(xy[fold])
                    ef.append(pf - fz[fold])
                    er.append(pr - rz[fold])
                    et.append((pr - pf) - (rz[fold] - fz[fold]))
                t0 = time.perf_counter()
                pt = _peer(kind, model, xy, fz)(u.truth_xy) - u.truth_floor
                t_peer = time.perf_counter() - t0
                name = kind if model is None else f"{kind} {model}"
                rows.append((name, *(_rmse(np.concatenate(v)) for v in (ef, er, et)),
                             _rmse(pt), "", t_peer))
                pooled.setdefault((n, name), []).append(pt)
            for i, r in enumerate(rows):
                lead = f"| {u.name} | {n} |" if i == 0 else "| | |"
                print(f"{lead} {r[0]} | {r[1]:.2f} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.2f} | "
                      f"{r[5]} | {r[6]:.2f} |")
    print("\nfloor against the truth, pooled over the three units (m; ratio to ours):")
    for n in counts:
        ours = _rmse(np.concatenate(pooled[(n, "ours")]))
        cells = [f"ours {ours:.2f}"] + [
            f"{name} {_rmse(np.concatenate(v)):.2f} ({ours / _rmse(np.concatenate(v)):.2f})"
            for (c, name), v in pooled.items() if c == n and name != "ours"]
        print(f"  {n} wells: " + ", ".join(cells))


if __name__ == "__main__":
    if "--public-only" not in sys.argv:
        main()
    public_wells()
