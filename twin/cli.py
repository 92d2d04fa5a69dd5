"""The ``minetwin`` command.

    minetwin config check [FILE]          print the effective configuration, or the errors
    minetwin run [--config FILE]          run the twin's tick loop (what exists so far)
    minetwin gltf inspect FILE            import a glTF/GLB and print its node tree
    minetwin gltf convert IN OUT.glb      import a glTF/GLB and write it back as a valid GLB

Exit status: 0 success, 1 a failure while running, 2 bad input (configuration, files, usage).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tempfile
from pathlib import Path

from .config import ConfigError, load_config, render_config

__all__ = ["main"]

log = logging.getLogger("minetwin")


def _cmd_config_check(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    sys.stdout.write(render_config(config))
    print(f"# {config.source}: OK", file=sys.stderr)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from scene import Scene

    from .tick import TickLoop

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log.level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scene = Scene(history_limit=config.scene.history_limit)
    if args.import_file:
        from assets import AssetStore
        from scene.gltf import import_gltf
        store = AssetStore(config.resolve_path(args.store))
        ids = import_gltf(scene, args.import_file, store=store)
        log.info("imported %s: %d top-level nodes, %d nodes", args.import_file, len(ids),
                 len(scene))
    loop = TickLoop(scene, config.tick.rate_hz)
    log.info("MineTwin tick loop at %.1f Hz on a scene of %d nodes (config %s); the server "
             "and the demo mine arrive with their issues. Ctrl-C stops.",
             config.tick.rate_hz, len(scene), config.source)

    async def main_async() -> None:
        stop = asyncio.Event()
        aloop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            aloop.add_signal_handler(sig, stop.set)

        async def report() -> None:
            while not stop.is_set():
                await asyncio.sleep(10)
                s = loop.stats
                log.info("ticks=%d commits=%d revision=%d overruns=%d max_tick=%.2f ms",
                         s.ticks, s.commits, scene.revision, s.overruns,
                         s.max_duration_s * 1000)

        reporter = asyncio.create_task(report())
        await loop.run(stop, max_ticks=args.ticks)
        reporter.cancel()

    asyncio.run(main_async())
    log.info("stopped after %d ticks", loop.stats.ticks)
    return 0


def _tree_lines(scene, node_id: str | None, depth: int) -> list[str]:
    out = []
    for child in scene.children_of(node_id):
        n = scene.node(child)
        t = ", ".join(f"{v:.3f}" for v in n.translation)
        mesh = f" mesh={n.mesh.asset[:12]} bounds={n.mesh.bounds}" if n.mesh else ""
        props = f" props={ {k: v.value for k, v in n.properties.items()} }" \
            if n.properties else ""
        out.append(f"{'  ' * depth}{child}  name={n.name!r} t=({t}){mesh}{props}")
        out.extend(_tree_lines(scene, child, depth + 1))
    return out


def _cmd_gltf(args: argparse.Namespace) -> int:
    from assets import AssetStore
    from scene import GltfError, Scene
    from scene.gltf import export_glb, import_gltf

    with tempfile.TemporaryDirectory() as tmp:
        store = AssetStore(args.store or tmp)
        scene = Scene()
        try:
            import_gltf(scene, args.input, store=store, id_prefix=args.prefix)
        except GltfError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.gltf_command == "inspect":
            print("\n".join(_tree_lines(scene, None, 0)))
            print(f"# {len(scene)} nodes", file=sys.stderr)
            return 0
        scene.commit(0)
        export_glb(scene, store=store, path=args.output)
        from assets import validate_files, validator_available
        if validator_available() is None:
            report = validate_files([args.output])[0]
            print(f"{args.output}: {report.errors} errors, {report.warnings} warnings "
                  f"(Khronos glTF validator)")
            return 0 if report.ok else 1
        print(f"{args.output}: written ({validator_available()}; not validated)")
        return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="minetwin", description="MineTwin transparent-mine twin")
    sub = p.add_subparsers(dest="command", required=True)

    cfg = sub.add_parser("config", help="configuration")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    check = cfg_sub.add_parser("check", help="print the effective configuration or errors")
    check.add_argument("file", nargs="?", help="config file (default: the repo's config.toml)")
    check.set_defaults(func=_cmd_config_check)

    run = sub.add_parser("run", help="run the twin")
    run.add_argument("--config", help="config file (default: the repo's config.toml)")
    run.add_argument("--ticks", type=int, help="stop after this many ticks")
    run.add_argument("--import", dest="import_file", help="a glTF/GLB to load into the scene")
    run.add_argument("--store", default="var/assets", help="asset store folder")
    run.set_defaults(func=_cmd_run)

    g = sub.add_parser("gltf", help="glTF import/export")
    g_sub = g.add_subparsers(dest="gltf_command", required=True)
    for name, helptext in (("inspect", "import and print the node tree"),
                           ("convert", "import and write back as a validated GLB")):
        c = g_sub.add_parser(name, help=helptext)
        c.add_argument("input")
        if name == "convert":
            c.add_argument("output")
        c.add_argument("--store", help="asset store folder (default: a temporary one)")
        c.add_argument("--prefix", default="gltf", help="id prefix for imported nodes")
        c.set_defaults(func=_cmd_gltf)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
