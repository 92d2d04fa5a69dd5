"""``minetwin geology …`` (docs/geology.md). So far: ``report``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["add_parsers"]


def _cmd_report(args) -> int:
    from .geology import BoreholeError, build_seam_model, load_boreholes
    from .minefolder import MineDataError, load_mine
    try:
        model = load_mine(Path(args.mine))
        holes = load_boreholes(Path(args.mine) / "geology", model.mine.origin)
        seams = build_seam_model(holes)
    except (MineDataError, BoreholeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = {"boreholes": len(holes.holes), "faults": [f.name for f in holes.faults],
              "seams_bottom_up": seams.seams, **seams.report()}
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(f"{report['boreholes']} boreholes, faults {', '.join(report['faults']) or 'none'}")
        print(f"held-out boreholes: floor RMSE {report['floor_rmse_m']} m, roof "
              f"{report['roof_rmse_m']} m, thickness {report['thickness_rmse_m']} m")
        for s, r in report["seams"].items():
            print(f"  {s}: floor {r['floor_rmse_m']} m, thickness {r['thickness_rmse_m']} m "
                  f"({r['boreholes']} boreholes)")
    return 0


def add_parsers(sub) -> None:
    g = sub.add_parser("geology", help="the geological model (docs/geology.md)")
    g_sub = g.add_subparsers(dest="geology_command", required=True)
    r = g_sub.add_parser("report", help="the model's accuracy at held-out boreholes")
    r.add_argument("--mine", required=True, help="the mine folder")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=_cmd_report)
