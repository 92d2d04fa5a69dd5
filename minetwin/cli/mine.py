"""``minetwin demo generate``, ``mine check``, ``scene export`` and ``ingest check``: mine
folders, the demo mine, the mine's scene as one GLB, upload files decoded without a server
(docs/mine-data.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import load_config_or_exit

__all__ = ["add_parsers"]


def _cmd_demo(args: argparse.Namespace) -> int:
    from twin import generate_demo
    out = generate_demo(args.out, args.seed, args.size)
    print(f"demo mine (seed {args.seed}, {args.size}) written to {out}")
    return 0


def _cmd_mine_check(args: argparse.Namespace) -> int:
    from twin import MineDataError, load_mine
    try:
        model = load_mine(args.dir)
    except MineDataError as exc:
        print(exc, file=sys.stderr)
        return 2
    for k, v in model.summary().items():
        print(f"{k:12s} {v}")
    return 0


def _cmd_scene_export(args: argparse.Namespace) -> int:
    from scene import export_glb
    config = load_config_or_exit(args.config)
    from minetwin.app import AppError, load_mine_scene
    try:
        _, store, scene = load_mine_scene(config, Path(args.mine))
    except AppError as exc:
        print(exc, file=sys.stderr)
        return 2
    scene.commit()
    if args.node and args.node not in scene:
        print(f"error: no node {args.node!r} in the mine's scene", file=sys.stderr)
        return 2
    export_glb(scene, store=store, root=args.node, path=args.out)
    print(f"{args.out}: {len(scene.subtree(args.node)) if args.node else len(scene)} nodes")
    return 0


def _cmd_ingest_check(args: argparse.Namespace) -> int:
    """Decode upload files without a server: one JSON line per record (the observation or
    definition it became) and per problem, then one summary line per file."""
    import dataclasses
    import json

    from live_bindings import decode_upload

    from twin import UploadFormatError

    model = None
    if args.mine:
        from twin import MineDataError, load_mine
        try:
            model = load_mine(args.mine)
        except MineDataError as exc:
            print(exc, file=sys.stderr)
            return 2
    tz = model.mine.time_zone if model else "Asia/Shanghai"
    dialect = None
    if args.dialect:
        from live_bindings import DialectError, IngestDialect
        try:
            dialect = IngestDialect.load(args.dialect)
        except DialectError as exc:
            print(exc, file=sys.stderr)
            return 2
    any_rejected = False

    def emit(obj) -> None:
        print(json.dumps(obj, ensure_ascii=False))

    for path in map(Path, args.files):
        try:
            decoded = decode_upload(path.read_bytes(), path.name, tz=tz, dialect=dialect)
        except OSError as exc:
            emit({"file": str(path), "record": 0, "field": None, "error": str(exc)})
            emit({"file": str(path), "accepted": False})
            any_rejected = True
            continue
        except UploadFormatError as exc:
            for p in exc.problems:
                emit({"file": str(path), "record": p.record, "field": p.field,
                      "error": p.message})
            emit({"file": str(path), "accepted": False})
            any_rejected = True
            continue
        problems = list(decoded.problems)
        if model is not None and decoded.file.mine_code != model.mine.code:
            emit({"file": str(path), "record": 1, "field": "mine code",
                  "error": f"file of mine {decoded.file.mine_code}, not {model.mine.code}"})
            emit({"file": str(path), "accepted": False})
            any_rejected = True
            continue
        known = {"point": model.sensors, "card": model.people, "statistic": model.sensors,
                 "reader": model.readers, "outstation": model.outstations} if model else {}
        for n, o in enumerate(decoded.observations, start=1):
            rec = {k: v for k, v in dataclasses.asdict(o).items() if v is not None}
            if o.kind in known and o.key not in known[o.kind]:
                emit({"file": str(path), "observation": rec,
                      "warning": f"unknown {o.kind} {o.key!r} for mine {model.mine.code}"})
            else:
                emit({"file": str(path), "observation": rec})
        for d in decoded.definitions:
            emit({"file": str(path), "definition": d})
        for p in problems:
            emit({"file": str(path), "record": p.record, "field": p.field, "error": p.message})
        emit({"file": str(path), "type": decoded.file.type, "read_as": decoded.read_as,
              "accepted": not decoded.rejected,
              "records": decoded.file.record_count, "bad_records": len(problems)})
        any_rejected |= decoded.rejected
    return 1 if any_rejected else 0


def add_parsers(sub) -> None:
    demo = sub.add_parser("demo", help="the demo mine")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    gen = demo_sub.add_parser("generate", help="write the demo mine folder")
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--out", required=True)
    gen.add_argument("--size", choices=("standard", "large"), default="standard",
                     help="standard: a real district's size (≈ 30 km, 154 points); large: "
                          "for the benchmarks (≈ 120 km, 1564 points, 1608 people)")
    gen.set_defaults(func=_cmd_demo)

    mine = sub.add_parser("mine", help="mine folders")
    mine_sub = mine.add_subparsers(dest="mine_command", required=True)
    mc = mine_sub.add_parser("check", help="validate a mine folder")
    mc.add_argument("dir")
    mc.set_defaults(func=_cmd_mine_check)

    sc = sub.add_parser("scene", help="the mine's scene")
    sc_sub = sc.add_subparsers(dest="scene_command", required=True)
    ex = sc_sub.add_parser("export", help="write the mine (or a subtree) as one GLB")
    ex.add_argument("--mine", required=True)
    ex.add_argument("--node", help="export only this node's subtree")
    ex.add_argument("--out", required=True)
    ex.add_argument("--config", help="config file (for the asset store path)")
    ex.set_defaults(func=_cmd_scene_export)

    ing = sub.add_parser("ingest", help="upload files")
    ing_sub = ing.add_subparsers(dest="ingest_command", required=True)
    ic = ing_sub.add_parser("check", help="decode upload files; JSON lines out; non-zero "
                                          "exit if any file would be rejected")
    ic.add_argument("files", nargs="+")
    ic.add_argument("--mine", help="a mine folder to check codes against")
    ic.add_argument("--dialect", help="the mine's ingest dialect (TOML, docs/feeds.md)")
    ic.set_defaults(func=_cmd_ingest_check)
