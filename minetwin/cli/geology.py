"""``minetwin geology …`` (docs/geology.md).

    minetwin geology report --mine DIR [--json] [--plots DIR]
    minetwin geology build --mine DIR --store DIR [--step 25] [--json]
    minetwin geology update --mine DIR --exposures CSV [--dry-run] [--json]
    minetwin geology section --mine DIR --line CSV [--spacing 5] [--png FILE] [--store DIR] [--json]

Errors are one line on stderr and exit status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["add_parsers"]


def _fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def _load(args):
    """(mine model, GeologyModel) of ``--mine``: boreholes, then its exposures replayed."""
    from twin import build_geology
    from twin import load_mine
    mine = load_mine(Path(args.mine))
    return mine, build_geology(Path(args.mine), mine.mine.origin, mine.mine.time_zone)


def _errors():
    from twin import BoreholeError
    from twin import MineDataError
    return (MineDataError, BoreholeError, ValueError, OSError)


def _cmd_report(args) -> int:
    try:
        mine, geo = _load(args)
    except _errors() as exc:
        return _fail(str(exc))
    holes, model = geo.holes, geo.model
    report = {"boreholes": len(holes.holes), "faults": [f.name for f in holes.faults],
              "seams_bottom_up": model.seams, **geo.report()}
    truth_file = Path(args.mine) / "truth" / "geology.toml"
    if truth_file.exists():       # the demo's hidden truth: the boreholes' model graded on it
        from twin import TrueGeology
        from twin.geology import build_seam_model
        collars = np.array([h.collar[:2] for h in holes.holes.values()])
        report.update(TrueGeology.load(truth_file).grade(build_seam_model(holes), collars))
    if args.plots:
        report["plots"] = [str(p) for p in _plots(geo, Path(args.plots))]
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    print(f"{report['boreholes']} boreholes, faults {', '.join(report['faults']) or 'none'}")
    print(f"held-out boreholes: floor RMSE {report['floor_rmse_m']} m "
          f"({report['floor_band_coverage']:.1%} inside the 95 % band), roof "
          f"{report['roof_rmse_m']} m, thickness {report['thickness_rmse_m']} m")
    for s, r in report["seams"].items():
        print(f"  {s}: floor {r['floor_rmse_m']} m, thickness {r['thickness_rmse_m']} m "
              f"({r['boreholes']} boreholes; floor: {r['floor_smoothing']}; roof: "
              f"{r['roof']})")
    if "truth_floor_rmse_m" in report:
        print(f"against the hidden truth (boreholes only, {report['truth_grid_points']} points "
              f"on a 10 m grid inside the boreholes' hull): floor RMSE "
              f"{report['truth_floor_rmse_m']} m, {report['truth_band_coverage']:.1%} inside "
              f"the 95 % band")
    if report["exposure_points"]:
        print(f"exposure: {report['exposure_points']} points in {report['exposure_batches']} "
              f"batches; at the face before use: floor RMSE {report['face_floor_rmse_m']} m "
              f"(boreholes alone {report['face_floor_rmse_boreholes_only_m']} m)")
    for p in report.get("plots", []):
        print(f"wrote {p}")
    return 0


def _plots(geo, folder: Path) -> list[Path]:
    """Error over time (each exposure batch, before it was used, and what the boreholes
    alone would have said) and leave-one-hole-out cross-validation, as PNGs."""
    import matplotlib
    matplotlib.use("Agg")
    from datetime import datetime, timezone

    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    log = [e for e in geo.log if "refused" not in e]
    if log:
        fig, ax = plt.subplots(figsize=(10, 4), dpi=110)
        for kind, marker in (("face:", "o"), ("roadway:", "s"), ("heading:", "^")):
            rows = [e for e in log if e["source"].startswith(kind)]
            if not rows:
                continue
            t = [datetime.fromtimestamp(e["time_ms"] / 1000, timezone.utc) for e in rows]
            ax.plot(t, [e["floor_rmse_m"] for e in rows], marker, ms=3,
                    label=f"{kind.rstrip(':')}: model before use")
            ax.plot(t, [e["floor_rmse_boreholes_only_m"] for e in rows], marker, ms=2,
                    alpha=0.35, label=f"{kind.rstrip(':')}: boreholes alone")
        ax.set_yscale("log")
        ax.set_ylabel("floor RMSE at newly exposed points (m)")
        ax.set_title("accuracy over time: error at each exposure before the model used it")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
        out.append(folder / "error_over_time.png")
        fig.savefig(out[-1])
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=110)
    for seam in geo.model.seams:
        surf = geo.model.floors[seam]
        ax.plot(surf.z, surf.z + surf.cv_errors, ".", label=f"{seam} (restored floor)")
    lo, hi = ax.get_xlim()
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.6)
    ax.set_xlabel("borehole floor pick (m)")
    ax.set_ylabel("predicted without that borehole (m)")
    ax.set_title("leave-one-out cross-validation")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.append(folder / "cross_validation.png")
    fig.savefig(out[-1])
    plt.close(fig)
    return out


def _cmd_build(args) -> int:
    from assets import AssetStore

    from twin import GeologyScene
    try:
        mine, geo = _load(args)
        maker = GeologyScene(geo, mine, AssetStore(args.store), args.step)
        nodes = [(nid, ref.asset) for nid, ref, _ in
                 [maker.seam_node(s) for s in geo.model.seams] + maker.fault_nodes()
                 + maker.shell_nodes()]
    except _errors() as exc:
        return _fail(str(exc))
    result = {"assets": {nid: asset for nid, asset in nodes}, **geo.report()}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for nid, asset in nodes:
            print(f"{nid}: {asset}")
    return 0


def _cmd_update(args) -> int:
    from twin import Exposures, load_exposures, write_exposures
    try:
        mine, geo = _load(args)
        o, tz = mine.mine.origin, mine.mine.time_zone
        new = load_exposures(args.exposures, o, tz)
        entries = [e for b in new.batches() for e in geo.add(b)]
        if not args.dry_run:          # kept with the mine's own exposure file
            path = Path(args.mine) / "geology" / "exposures.csv"
            known = set(geo.model.seams)
            keep = new.select(np.array([s in known for s in new.seam], bool))
            old = load_exposures(path, o, tz) if path.exists() else Exposures.empty()
            write_exposures(path, old + keep, o, tz)
    except _errors() as exc:
        return _fail(str(exc))
    refused = [e for e in entries if "refused" in e]
    if args.json:
        print(json.dumps({"log": entries, **geo.report()}, ensure_ascii=False))
    else:
        for e in entries:
            if "refused" in e:
                print(f"refused {e['points']} points of {e['source']}: {e['refused']}")
            else:
                print(f"{e['source']} {e['seam']}: {e['points']} points, floor error before "
                      f"use {e['floor_rmse_m']} m (boreholes alone "
                      f"{e['floor_rmse_boreholes_only_m']} m)")
    return 2 if refused and len(refused) == len(entries) else 0


def _cmd_section(args) -> int:
    from twin import section, section_mesh, section_png
    try:
        mine, geo = _load(args)
        rows = np.loadtxt(args.line, delimiter=",", ndmin=2, comments="#",
                          skiprows=_header_rows(args.line))
        line = rows[:, :2] - np.asarray(mine.mine.origin[:2]) if args.crs else rows[:, :2]
        sec = section(geo.model, line, args.spacing)
        out = {"length_m": round(float(sec["chainage_m"][-1]), 2), "faults": sec["faults"],
               "seams": {s: {"floor_min_m": round(float(d["floor"].min()), 2),
                             "floor_max_m": round(float(d["floor"].max()), 2),
                             "band95_max_m": round(float((d["floor_hi"] - d["floor_lo"]).max()), 2)}
                         for s, d in sec["seams"].items()}}
        if args.png:
            out["png"] = str(section_png(sec, args.png))
        if args.store:
            from assets import AssetStore
            from assets import glb_from_mesh, mesh_bounds
            mesh = section_mesh(sec)
            out["asset"] = AssetStore(args.store).put_glb(
                glb_from_mesh(mesh, (90, 70, 50), "section"),
                {"kind": "geology section", "units": "m", "bounds": list(mesh_bounds(mesh)),
                 "source": [str(args.line)], "processing": {"spacing_m": args.spacing}})
    except _errors() as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"section of {out['length_m']} m")
        for f in out["faults"]:
            print(f"  fault {f['fault']} cuts {f['seam']} at {f['chainage_m']} m "
                  f"(step {f['step_m']} m)")
        for k in ("png", "asset"):
            if k in out:
                print(f"{k}: {out[k]}")
    return 0


def _header_rows(path) -> int:
    with open(path, encoding="utf-8-sig") as f:
        first = f.readline()
    try:
        [float(v) for v in first.split(",")[:2]]
        return 0
    except ValueError:
        return 1


def add_parsers(sub) -> None:
    g = sub.add_parser("geology", help="the geological model (docs/geology.md)")
    g_sub = g.add_subparsers(dest="geology_command", required=True)
    r = g_sub.add_parser("report", help="accuracy: held-out boreholes, exposure log")
    r.add_argument("--mine", required=True, help="the mine folder")
    r.add_argument("--json", action="store_true")
    r.add_argument("--plots", help="write error_over_time.png and cross_validation.png here")
    r.set_defaults(func=_cmd_report)
    b = g_sub.add_parser("build", help="seam volumes, fault planes and prediction shells "
                                       "into an asset store")
    b.add_argument("--mine", required=True)
    b.add_argument("--store", required=True)
    b.add_argument("--step", type=float, default=25.0, help="seam grid spacing, m")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=_cmd_build)
    u = g_sub.add_parser("update", help="add exposure points (CSV, docs/geology.md); the log "
                                        "says how well each batch was predicted before")
    u.add_argument("--mine", required=True)
    u.add_argument("--exposures", required=True)
    u.add_argument("--dry-run", action="store_true", help="do not keep them in the mine folder")
    u.add_argument("--json", action="store_true")
    u.set_defaults(func=_cmd_update)
    s = g_sub.add_parser("section", help="a cross-section along a polyline")
    s.add_argument("--mine", required=True)
    s.add_argument("--line", required=True, help="CSV x, y[, z] rows (local grid; --crs: "
                                                 "the mine's CRS)")
    s.add_argument("--crs", action="store_true", help="the line is in the mine's CRS")
    s.add_argument("--spacing", type=float, default=5.0)
    s.add_argument("--png", help="draw it here")
    s.add_argument("--store", help="also store it as a GLB ribbon in this asset store")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_section)
