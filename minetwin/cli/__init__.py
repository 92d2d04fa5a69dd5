"""The ``minetwin`` command — the composition root: the one module that wires the rooms
together (feeds, bindings and, with their issues, streaming), so it imports them lazily,
against the import direction of DESIGN.md's table, which holds for every other module.

    minetwin config check [FILE]          print the effective configuration, or the errors
    minetwin serve [--config FILE] [--mine DIR] [--host H] [--port P] [--ticks N]
                                          load the mine (the demo is generated if absent),
                                          build its scene and run the tick loop
    minetwin gateway [--config FILE] [--redis URL] [--port P]
                                          serve clients from the twin's Redis stream
    minetwin demo generate --seed N --out DIR   write the demo mine folder (deterministic)
    minetwin mine check DIR               validate a mine folder: a summary or every error
    minetwin scene export --mine DIR [--node ID] --out FILE.glb
                                          the whole mine (or a subtree) as one GLB
    minetwin ingest check FILE… [--mine DIR]
                                          decode upload files: a JSON line per record and per
                                          problem; exit 1 if any file would be rejected
    minetwin gltf inspect FILE            import a glTF/GLB and print its node tree
    minetwin gltf convert IN OUT.glb      import a glTF/GLB and write it back as a valid GLB

Exit status: 0 success, 1 a failure while running, 2 bad input (configuration, files, usage).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path

from .config import ConfigError, load_config, render_config

__all__ = ["main"]

log = logging.getLogger("minetwin")


def _cmd_config_check(args: argparse.Namespace) -> int:
    config = _load_config_or_exit(args.file)
    sys.stdout.write(render_config(config))
    print(f"# {config.source}: OK", file=sys.stderr)
    return 0


def _load_config_or_exit(path: str | None):
    try:
        return load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


def _start_logging(config) -> None:
    logging.basicConfig(level=config.log.level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _run_until_signal(run, seconds: float | None = None) -> None:
    """Run ``run(stop)`` until SIGINT/SIGTERM (or ``seconds``) sets ``stop``."""
    async def main_async() -> None:
        stop = asyncio.Event()
        aloop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            aloop.add_signal_handler(sig, stop.set)
        if seconds:
            aloop.call_later(seconds, stop.set)
        await run(stop)

    asyncio.run(main_async())


def _cmd_serve(args: argparse.Namespace, config=None) -> int:
    """``config``: an already loaded configuration (``uplink run`` turns the uplink on)."""
    from .app import AppError, TwinApp

    config = config or _load_config_or_exit(args.config)
    _start_logging(config)
    configured = config.resolve_path(config.mine.path)
    mine_dir = Path(args.mine) if args.mine else configured
    try:
        app = TwinApp(config, mine_dir, generate_demo=mine_dir == configured,
                      simulate=not args.no_sim, import_file=args.import_file,
                      host=args.host, port=args.port)
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info("MineTwin tick loop at %.1f Hz (config %s); streaming protocol %s on "
             "ws://%s:%d. Ctrl-C stops.", config.tick.rate_hz, config.source, "minetwin.v1",
             app.host, app.port)

    async def run(stop: asyncio.Event) -> None:
        task = asyncio.create_task(app.run(stop, max_ticks=args.ticks))
        announce = asyncio.create_task(_announce_when_answering(app, config, task))
        try:
            await task
        finally:
            announce.cancel()

    try:
        _run_until_signal(run)
    finally:
        app.close()
    refused = {k: v for k, v in app.bindings.stats.items() if k.startswith("refused")}
    log.info("stopped after %d ticks: %d observations bound, revision %d; refused: %s",
             app.loop.stats.ticks, app.observations, app.scene.revision, refused or "none")
    return 0


async def _announce_when_answering(app, config, running: asyncio.Task) -> None:
    """Print the viewer's URL once the server answers HTTP — not before, so a user who opens
    it at once gets the page — with a sign-in link while the demo's tokens are configured."""
    import ssl

    from .config import DEMO_TOKENS

    while (app.server is None or not app.server.port) and not running.done():
        await asyncio.sleep(0.02)
    if running.done():
        return
    tls = bool(config.server.tls_cert)
    scheme = "https" if tls else "http"
    ctx = None
    if tls:                                   # our own server on loopback: any certificate
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(app.host, app.host)
    while not running.done():
        try:
            reader, writer = await asyncio.open_connection(host, app.server.port, ssl=ctx)
            writer.write(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close"
                         "\r\n\r\n".encode())
            status = await asyncio.wait_for(reader.readline(), 10)
            writer.close()
            if status.split()[1:2] == [b"200"]:
                break
        except (OSError, asyncio.TimeoutError, IndexError):
            pass
        await asyncio.sleep(0.1)
    else:
        return
    url = f"{scheme}://{'[' + host + ']' if ':' in host else host}:{app.server.port}/"
    viewer = config.resolve_path(config.server.viewer_dir) / "index.html"
    if not viewer.exists():
        log.warning("the browser viewer is not built (%s missing): make setup", viewer)
    if config.server.tokens == DEMO_TOKENS:
        print(f"MineTwin viewer: {url}?token=minetwin-operator   (the demo's operator; "
              "other demo tokens: minetwin-viewer, minetwin-instructor)", flush=True)
    else:
        print(f"MineTwin viewer: {url}   (sign in with your token)", flush=True)


def _cmd_gateway(args: argparse.Namespace) -> int:
    from streaming.gateway import Gateway

    config = _load_config_or_exit(args.config)
    _start_logging(config)
    url = args.redis or config.gateway.redis_url
    if not url:
        print("error: no Redis to read from: set [gateway] redis_url or pass --redis",
              file=sys.stderr)
        return 2
    gw = Gateway(url, stream=config.gateway.stream, tokens=config.server.token_roles(),
                 host=args.host or config.server.host,
                 port=config.gateway.port if args.port is None else args.port,
                 history_limit=config.scene.history_limit,
                 client_queue=config.server.client_queue,
                 drop_after_s=config.server.drop_after_s,
                 max_frame_bytes=config.server.max_message_bytes)

    log.info("gateway: %s %s → ws://%s:%d", url, config.gateway.stream, gw.server.host,
             gw.server.port)
    _run_until_signal(gw.run, args.seconds)
    log.info("gateway stopped at revision %d", gw.source.revision)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import generate_demo
    out = generate_demo(args.out, args.seed)
    print(f"demo mine (seed {args.seed}) written to {out}")
    return 0


def _cmd_mine_check(args: argparse.Namespace) -> int:
    from .minefolder import MineDataError, load_mine
    try:
        model = load_mine(args.dir)
    except MineDataError as exc:
        print(exc, file=sys.stderr)
        return 2
    for k, v in model.summary().items():
        print(f"{k:12s} {v}")
    return 0


def _cmd_scene_export(args: argparse.Namespace) -> int:
    from scene.gltf import export_glb
    config = _load_config_or_exit(args.config)
    from .app import AppError, load_mine_scene
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


def _cmd_ingest_check(args: argparse.Namespace) -> int:
    """Decode upload files without a server: one JSON line per record (the observation or
    definition it became) and per problem, then one summary line per file."""
    import dataclasses
    import json

    from live_bindings.upload_files import decode_upload

    from .uploads import UploadFormatError

    model = None
    if args.mine:
        from .minefolder import MineDataError, load_mine
        try:
            model = load_mine(args.mine)
        except MineDataError as exc:
            print(exc, file=sys.stderr)
            return 2
    tz = model.mine.time_zone if model else "Asia/Shanghai"
    any_rejected = False

    def emit(obj) -> None:
        print(json.dumps(obj, ensure_ascii=False))

    for path in map(Path, args.files):
        try:
            decoded = decode_upload(path.read_bytes(), path.name, tz=tz)
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
        known = {"point": model.sensors, "card": model.people,
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
        emit({"file": str(path), "type": decoded.file.type, "accepted": not decoded.rejected,
              "records": len(decoded.file.records), "bad_records": len(problems)})
        any_rejected |= decoded.rejected
    return 1 if any_rejected else 0


def serve_arguments(p: argparse.ArgumentParser, func=None) -> None:
    """The options of ``serve`` (``uplink run`` takes the same)."""
    p.add_argument("--config", help="config file (default: the repo's config.toml)")
    p.add_argument("--mine", help="mine folder (default: mine.path of the config)")
    p.add_argument("--host", help="listen address (default: server.host)")
    p.add_argument("--port", type=int, help="listen port (default: server.port)")
    p.add_argument("--ticks", type=int, help="stop after this many ticks")
    p.add_argument("--import", dest="import_file", help="a glTF/GLB to add to the scene")
    p.add_argument("--no-sim", action="store_true", help="do not run the simulator")
    p.set_defaults(func=func or _cmd_serve)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="minetwin", description="MineTwin transparent-mine twin")
    sub = p.add_subparsers(dest="command", required=True)

    cfg = sub.add_parser("config", help="configuration")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    check = cfg_sub.add_parser("check", help="print the effective configuration or errors")
    check.add_argument("file", nargs="?", help="config file (default: the repo's config.toml)")
    check.set_defaults(func=_cmd_config_check)

    serve_arguments(sub.add_parser("serve", help="load the mine and run the twin"))

    gw = sub.add_parser("gateway", help="serve clients from the twin's Redis stream")
    gw.add_argument("--config", help="config file (default: the repo's config.toml)")
    gw.add_argument("--redis", help="redis://host:port/db (default: [gateway] redis_url)")
    gw.add_argument("--host", help="listen address (default: server.host)")
    gw.add_argument("--port", type=int, help="listen port (default: gateway.port)")
    gw.add_argument("--seconds", type=float, help="stop after this long")
    gw.set_defaults(func=_cmd_gateway)

    demo = sub.add_parser("demo", help="the demo mine")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    gen = demo_sub.add_parser("generate", help="write the demo mine folder")
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--out", required=True)
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
    ic.set_defaults(func=_cmd_ingest_check)

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

    from .cli_assets import add_parsers as add_asset_parsers
    from .cli_geology import add_parsers as add_geology_parsers
    from .cli_render import add_parsers as add_render_parsers
    from .cli_uplink import add_parsers as add_uplink_parsers
    add_asset_parsers(sub)
    add_geology_parsers(sub)
    add_uplink_parsers(sub)
    add_render_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()                    # (a broken pipe shows here, not at exit)
        return status
    except BrokenPipeError:
        # The reader went away (`minetwin … | head`): stop quietly as Unix tools do, with
        # SIGPIPE's status; stdout goes to /dev/null so the exit's flush raises nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
