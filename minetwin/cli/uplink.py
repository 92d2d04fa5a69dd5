"""``minetwin uplink …`` (docs/uplink.md).

    minetwin uplink export --mine DIR --out DIR --once [--dialect TOML] [--seconds 30]
                           [--encrypt-key env:NAME|file:PATH] [--manifest sm3|sha256]
                           [--sign-key env:NAME|file:PATH]
    minetwin uplink gas --mine DIR --out DIR [--format TOML]
                           the gas-geology table (WSDZ) from the boreholes and the model
    minetwin uplink run [--config FILE] [--mine DIR] [serve's options]
                           the twin with its uplink on: the exporter at its cadences and the
                           outbox sending to the destinations of ``[uplink]``
    minetwin uplink status [--config FILE] [--json]
                           the outbox per destination (backlog, oldest, failures, the error
                           holding it up) and the files held back, from the files on disk

Builds the twin of the mine folder, lets the simulator feed it for ``--seconds`` of simulated
time (a real deployment exports from the running twin), and writes one full set of files.
Prints {"written": [...], "held": {name: [problems]}} as JSON; exit status 2 when anything
was held back or the request is bad.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

__all__ = ["add_parsers"]


def _cmd_export(args) -> int:
    from live_bindings import DefaultBindings

    from minetwin.app import AppError, load_mine_scene
    from minetwin.config import parse_config
    from twin import Simulator
    from uplink import DEFINITIONS, REALTIME, STANDARD, Dialect, UplinkError, export_once
    from uplink.files import LAYOUT_TYPES
    from uplink import LiveRecords
    from uplink import SecurityError, load_key, load_sm2_key
    if not args.once:
        print("error: say --once (`minetwin uplink run` exports continuously)",
              file=sys.stderr)
        return 2
    try:
        dialect = Dialect.load(args.dialect) if args.dialect else STANDARD
        key = load_key(args.encrypt_key) if args.encrypt_key else None
        sign = load_sm2_key(args.sign_key) if args.sign_key else None
        if sign and not args.manifest:
            raise UplinkError("--sign-key signs the manifest: say --manifest too")
        with tempfile.TemporaryDirectory() as tmp:
            config = parse_config({"assets": {"path": f"{tmp}/assets"}}, Path(tmp) / "c.toml")
            model, _, scene = load_mine_scene(config, Path(args.mine))
            bindings = DefaultBindings(model, scene)
            scene.commit()
            sim = Simulator(model, seed=args.seed)
            live = LiveRecords(model)
            obs = sim.advance(args.seconds)
            bindings.apply(obs)
            live.observe(obs)
            scene.commit()
            when = sim.local_time().replace(tzinfo=None, microsecond=0)
            types = DEFINITIONS + REALTIME + LAYOUT_TYPES + tuple(dialect.equipment_types())
            result = export_once(model, scene, args.out, when, dialect, types, live,
                                 encrypt_key=key, digest=args.manifest, sign_key=sign)
    except (AppError, UplinkError, SecurityError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False))
    return 2 if result["held"] else 0


def _cmd_gas(args) -> int:
    from datetime import datetime

    from uplink import GasExportError, GasFormat, check_gas, gas_records, render_gas
    from twin import BoreholeError
    from twin import build_geology
    from twin import MineDataError, load_mine
    from uplink import write_atomic, hold_back
    try:
        fmt = GasFormat.load(args.format) if args.format else GasFormat()
        model = load_mine(Path(args.mine))
        m = model.mine
        geo = build_geology(args.mine, m.origin, m.time_zone)
        records = gas_records(geo.holes, geo.model, m.origin, fmt.coal_rank)
    except (GasExportError, BoreholeError, MineDataError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name, data = render_gas(records, m.code, m.name, datetime.now().replace(microsecond=0), fmt)
    problems = check_gas(name, data, fmt, len(records))
    if problems:
        hold_back(out, name, data, problems)
    else:
        write_atomic(out / name, data)
    danger = sum(1 for r in records if r.get("outburst_danger") == 1)
    print(json.dumps({"written": [] if problems else [name], "held": problems,
                      "records": len(records), "outburst_danger": danger}, ensure_ascii=False))
    return 2 if problems else 0


def _cmd_run(args) -> int:
    import dataclasses

    from .serve import cmd_serve
    from ._common import load_config_or_exit
    config = load_config_or_exit(args.config)
    config = dataclasses.replace(config, uplink=dataclasses.replace(config.uplink, enabled=True))
    return cmd_serve(args, config)


def _cmd_status(args) -> int:
    from ._common import load_config_or_exit
    from uplink import Outbox
    config = load_config_or_exit(args.config)
    cfg = config.uplink
    db, out = config.resolve_path(cfg.outbox), config.resolve_path(cfg.out)
    dests = {}
    if db.exists():
        box = Outbox(db)
        dests = box.status()
        box.close()
    held_dir = out / "held"
    held = sorted(p.name for p in held_dir.iterdir() if not p.name.endswith(".problems.txt")) \
        if held_dir.is_dir() else []
    waiting = sorted(p.name for p in out.iterdir() if p.is_file() and not p.name.startswith(".")) \
        if out.is_dir() else []
    problems = {}
    for name in held[-10:]:
        f = held_dir / f"{name}.problems.txt"
        problems[name] = f.read_text(encoding="utf-8").splitlines()[:3] if f.exists() else []
    report = {"enabled": cfg.enabled, "out": str(out), "files_in_out": len(waiting),
              "destinations": dests, "held": len(held), "latest_held": problems}
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print(f"uplink {'on' if cfg.enabled else 'off'}: {len(waiting)} files in {out}, "
              f"{len(held)} held back")
        for name, d in sorted(dests.items()):
            age = d["oldest_undelivered_s"]
            print(f"  {name}: backlog {d['backlog']}"
                  f"{f', oldest {age:.0f} s' if age is not None else ''}, delivered "
                  f"{d['delivered']}, failed attempts {d['failed_attempts']}"
                  f"{', ' + d['head_error'] if d['head_error'] else ''}")
        for name, lines in problems.items():
            print(f"  held {name}: {'; '.join(lines)}")
    stale = any((d["oldest_undelivered_s"] or 0) > cfg.stale_after_s for d in dests.values())
    return 1 if stale or held else 0


def add_parsers(sub) -> None:
    u = sub.add_parser("uplink", help="standard upload files out to the provincial platform "
                                      "(docs/uplink.md)")
    u_sub = u.add_subparsers(dest="uplink_command", required=True)
    e = u_sub.add_parser("export", help="write one full set of files")
    e.add_argument("--mine", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--once", action="store_true", help="one set, then exit")
    e.add_argument("--dialect", help="a province's dialect (TOML, docs/uplink.md)")
    e.add_argument("--seconds", type=float, default=30.0,
                   help="simulated seconds of live data before the export")
    e.add_argument("--seed", type=int, default=7)
    e.add_argument("--encrypt-key", help="SM4 key: env:NAME or file:PATH (32 hex digits)")
    e.add_argument("--manifest", choices=["sm3", "sha256"],
                   help="also write a manifest of the set with these digests")
    e.add_argument("--sign-key", help="SM2 private key (env:NAME or file:PATH, 64 hex digits): "
                                      "sign the manifest (<manifest>.sig)")
    e.set_defaults(func=_cmd_export)
    g = u_sub.add_parser("gas", help="write the gas-geology table (WSDZ)")
    g.add_argument("--mine", required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--format", help="the gas database's table format (TOML, docs/uplink.md)")
    g.set_defaults(func=_cmd_gas)
    from .serve import serve_arguments
    serve_arguments(u_sub.add_parser("run", help="run the twin with the uplink on "
                                                 "(exporter + outbox)"), _cmd_run)
    st = u_sub.add_parser("status", help="the outbox and the held files")
    st.add_argument("--config", help="config file (default: the repo's config.toml)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=_cmd_status)
