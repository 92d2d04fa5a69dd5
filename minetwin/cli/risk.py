"""``minetwin risk …`` (docs/risk.md).

    minetwin risk check --mine DIR [--json]          validate risks.toml against the mine
    minetwin risk default --mine DIR [--write]       the register derived from the mine model
    minetwin risk forecast --mine DIR [--json]       what lies ahead of each face and heading
    minetwin risk notice --mine DIR --out DIR [--working ID] [--date D] [--lang zh|en] [--no-pdf]
                                                     the written forecast notice (HTML, PDF)
    minetwin risk dangers [--config C] [--state S] [--area A] [--overdue] [--lang zh|en]
                          [--format json|csv|xlsx] [--out FILE]
                                                     the hidden dangers (docs/dangers.md)

``check`` validates the folder's dangers.toml (docs/dangers.md) with its risks.toml.

Errors: every problem of the register on stderr, one a line, and exit status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["add_parsers"]


def _mine(args):
    from twin import load_mine
    return load_mine(Path(args.mine))


def _errors():
    from twin import BoreholeError, MineDataError
    return (MineDataError, BoreholeError, ValueError, OSError)


def _cmd_check(args) -> int:
    from safety import check_register, load_register
    from safety import check_workflow
    try:
        model = _mine(args)
        problems = check_register(Path(args.mine), model) + check_workflow(Path(args.mine))
    except _errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if problems:
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        return 2
    reg = load_register(Path(args.mine), model)
    out = {"ok": True, "points": len(reg.points), "derived": reg.derived,
           "lines": len(reg.lines), "rules": len(reg.rules), "raise_at": reg.raise_at}
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        src = "derived from the mine model (no risks.toml)" if reg.derived else "risks.toml"
        print(f"risk register ok: {out['points']} risk points ({src}), {out['lines']} warning "
              f"lines, {out['rules']} level rules, {reg.raise_at} facts at the top raise a level")
    return 0


def _cmd_default(args) -> int:
    from safety import default_points, format_register
    try:
        model = _mine(args)
    except _errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = format_register(default_points(model))
    if args.write:
        path = Path(args.mine) / "risks.toml"
        if path.exists():
            print(f"error: {path} exists; not overwritten", file=sys.stderr)
            return 2
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    else:
        sys.stdout.write(text)
    return 0


def _forecasts(args, model=None):
    """(model, register, forecasts) of ``--mine``: its geology as the twin builds it."""
    import tempfile

    from assets import AssetStore
    from safety import load_register
    from twin import GeologyScene, build_geology, load_hazard_data
    from twin.geology.forecast import forecast_workings
    model = model or _mine(args)
    mine_dir = Path(args.mine)
    geo = build_geology(mine_dir, model.mine.origin, model.mine.time_zone)
    hazards = load_hazard_data(mine_dir / "geology", model.mine.origin)
    reg = load_register(mine_dir, model)
    with tempfile.TemporaryDirectory() as tmp:
        maker = GeologyScene(geo, model, AssetStore(tmp), hazards=hazards)
        maker.hazard_nodes()
        fcs = forecast_workings(geo, model, maker.workings(), list(maker.zones.values()),
                                maker.zone_grid)
    return model, reg, fcs


def _cmd_forecast(args) -> int:
    from safety import RiskEngine
    try:
        model, reg, fcs = _forecasts(args)
    except _errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    engine = RiskEngine(model, reg)
    engine.evaluate(0, forecasts=fcs)
    rec = engine.record(fcs)
    if args.json:
        print(json.dumps({"forecasts": rec["forecasts"], "levels": rec["levels"]},
                         ensure_ascii=False))
        return 0
    for f in rec["forecasts"]:
        print(f"{f['name']} ({f['working']}, {f['seam']}): advanced {f['advanced_m']} m, "
              f"{f['rate_m_per_day']:g} m/day, looking {f['reach_m']} m ahead")
        for a in f["ahead"]:
            when = "in it now" if not a["distance_m"] else \
                "" if a["days"] is None else f"{a['days']:.0f} days"
            print(f"  {a['distance_m']:7.1f} m  {when:>10}  {a['kind']:<10} {a['name']}")
    print()
    for lv in rec["levels"]:
        why = "; ".join(r["en"] for r in lv["reasons"][:2])
        print(f"{lv['name']} ({lv['area']}): {lv['level']}{' — ' + why if why else ''}")
    return 0


def _cmd_notice(args) -> int:
    from datetime import date

    from safety.notice import forecast_notice
    try:
        issued = date.fromisoformat(args.date) if args.date else date.today()
        model = _mine(args)
        known = [f"face:{k}" for k in model.longwalls] + [f"heading:{k}" for k in model.headings]
        if args.working is not None and not any(args.working in (w, w.partition(":")[2])
                                                for w in known):
            print(f"error: no face or heading {args.working!r} (one of: {', '.join(known)})",
                  file=sys.stderr)
            return 2
        model, reg, fcs = _forecasts(args, model)
    except _errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    chosen = [f for f in fcs if args.working in (None, f.working, f.working.partition(":")[2])]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for f in chosen:
        name = f"notice-{f.working.replace(':', '-')}-{issued.strftime('%Y%m%d')}-{args.lang}"
        path = out / f"{name}.html"
        path.write_text(forecast_notice(f.record(), reg.lines, model.mine.name, issued, args.lang),
                        encoding="utf-8")
        item = {"working": f.working, "html": str(path), "pdf": None, "targets": len(f.ahead)}
        if not args.no_pdf:
            from render import write_pdf
            pdf = out / f"{name}.pdf"
            item["pdf"] = str(pdf) if write_pdf(path, pdf) else None
        written.append(item)
    print(json.dumps(written, ensure_ascii=False))
    return 0


def _cmd_dangers(args) -> int:
    import time

    from safety import DangerBook, load_workflow

    from ._common import load_config_or_exit
    config = load_config_or_exit(args.config)
    db = config.resolve_path(config.dangers.db)
    try:
        if not db.exists():
            raise OSError(f"{db} does not exist: no hidden dangers recorded yet")
        mine = config.resolve_path(config.mine.path)
        from twin import load_mine
        model = load_mine(mine)
        book = DangerBook(model, load_workflow(mine), path=db)
        now = int(time.time() * 1000)
        items = book.query(state=args.state, area=args.area, overdue=True if args.overdue else None,
                           now_ms=now, limit=100_000)
    except _errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        data = json.dumps([book.record(d, now, steps=True) for d in items],
                          ensure_ascii=False, indent=1).encode()
    elif args.format == "csv":
        data = book.export_csv(items, now, args.lang)
    else:
        data = book.export_xlsx(items, now, args.lang)
    book.close()
    if args.out:
        Path(args.out).write_bytes(data)
        print(json.dumps({"out": args.out, "items": len(items)}, ensure_ascii=False))
    elif args.format == "xlsx":
        print("error: --format xlsx needs --out FILE", file=sys.stderr)
        return 2
    else:
        sys.stdout.buffer.write(data)
    return 0


def add_parsers(sub) -> None:
    g = sub.add_parser("risk", help="risk pre-control: register, forecasts (docs/risk.md)")
    g_sub = g.add_subparsers(dest="risk_command", required=True)
    c = g_sub.add_parser("check", help="validate the mine's risks.toml")
    c.add_argument("--mine", required=True)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_cmd_check)
    d = g_sub.add_parser("default", help="the register derived from the mine model")
    d.add_argument("--mine", required=True)
    d.add_argument("--write", action="store_true", help="as the folder's risks.toml")
    d.set_defaults(func=_cmd_default)
    f = g_sub.add_parser("forecast", help="what lies ahead of each face and heading")
    f.add_argument("--mine", required=True)
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=_cmd_forecast)
    n = g_sub.add_parser("notice", help="the written forecast notice (预测预报通知单) per working")
    n.add_argument("--mine", required=True)
    n.add_argument("--working", help="face:<id>, heading:<id> or the id (default: every one)")
    n.add_argument("--out", required=True, help="folder for the HTML (and PDF) notices")
    n.add_argument("--date", help="issue date, YYYY-MM-DD (default: today)")
    n.add_argument("--lang", choices=("zh", "en"), default="zh")
    n.add_argument("--no-pdf", action="store_true")
    n.set_defaults(func=_cmd_notice)
    h = g_sub.add_parser("dangers", help="the hidden dangers recorded (隐患): list or export")
    h.add_argument("--config", help="config.toml (default: the repository's)")
    h.add_argument("--state", help="states, comma-separated (reported, assessed, assigned, "
                                   "rectified, verified, closed, rejected)")
    h.add_argument("--area", help="an area code")
    h.add_argument("--overdue", action="store_true", help="only items past their deadline")
    h.add_argument("--lang", choices=("zh", "en"), default="zh")
    h.add_argument("--format", choices=("json", "csv", "xlsx"), default="json")
    h.add_argument("--out", help="write to this file (needed for xlsx)")
    h.set_defaults(func=_cmd_dangers)
