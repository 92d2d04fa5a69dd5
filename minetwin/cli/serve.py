"""``minetwin config check``, ``minetwin serve`` and ``minetwin gateway``: the running twin
and its stream gateway (docs/protocol.md, docs/configuration.md)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from minetwin.config import render_config

from ._common import load_config_or_exit, run_until_signal, start_logging

__all__ = ["add_parsers", "serve_arguments", "cmd_serve"]

log = logging.getLogger("minetwin")


def _cmd_config_check(args: argparse.Namespace) -> int:
    config = load_config_or_exit(args.file)
    sys.stdout.write(render_config(config))
    print(f"# {config.source}: OK", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace, config=None) -> int:
    """``config``: an already loaded configuration (``uplink run`` turns the uplink on)."""
    from minetwin.app import AppError, TwinApp

    config = config or load_config_or_exit(args.config)
    start_logging(config)
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
        run_until_signal(run)
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

    from minetwin.config import DEMO_TOKENS

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
    from streaming import Gateway

    config = load_config_or_exit(args.config)
    start_logging(config)
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
                 max_frame_bytes=config.server.max_message_bytes,
                 timeout_s=config.gateway.redis_timeout_s)

    log.info("gateway: %s %s → ws://%s:%d", url, config.gateway.stream, gw.server.host,
             gw.server.port)
    run_until_signal(gw.run, args.seconds)
    log.info("gateway stopped at revision %d", gw.source.revision)
    return 0


def serve_arguments(p: argparse.ArgumentParser, func=None) -> None:
    """The options of ``serve`` (``uplink run`` takes the same)."""
    p.add_argument("--config", help="config file (default: the repo's config.toml)")
    p.add_argument("--mine", help="mine folder (default: mine.path of the config)")
    p.add_argument("--host", help="listen address (default: server.host)")
    p.add_argument("--port", type=int, help="listen port (default: server.port)")
    p.add_argument("--ticks", type=int, help="stop after this many ticks")
    p.add_argument("--import", dest="import_file", help="a glTF/GLB to add to the scene")
    p.add_argument("--no-sim", action="store_true", help="do not run the simulator")
    p.set_defaults(func=func or cmd_serve)


def add_parsers(sub) -> None:
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
