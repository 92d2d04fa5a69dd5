"""``minetwin uplink …`` (docs/uplink.md). So far: ``export --once``.

    minetwin uplink export --mine DIR --out DIR --once [--dialect TOML] [--seconds 30]
                           [--encrypt-key env:NAME|file:PATH] [--manifest sm3|sha256]

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

    from .app import AppError, load_mine_scene
    from .config import parse_config
    from .sim import Simulator
    from .uplink import DEFINITIONS, REALTIME, STANDARD, Dialect, UplinkError, export_once
    from .uplink_live import LiveRecords
    from .uplink_security import SecurityError, load_key, load_sm2_key
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
            types = DEFINITIONS + REALTIME + tuple(dialect.layouts)
            result = export_once(model, scene, args.out, when, dialect, types, live,
                                 encrypt_key=key, digest=args.manifest, sign_key=sign)
    except (AppError, UplinkError, SecurityError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False))
    return 2 if result["held"] else 0


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
