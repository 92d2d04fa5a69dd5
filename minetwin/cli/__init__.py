"""The ``minetwin`` command, one module per command group:

    serve.py     config check · serve · gateway       the running twin, its stream gateway
    mine.py      demo generate · mine check · scene export · ingest check
    gltf.py      gltf inspect · gltf convert
    assets.py    assets import|import-scan|sweep|deviation|sections|list|show|thumbnails
    geology.py   geology report|build|update|section
    risk.py      risk check|default|forecast|notice|dangers
    uplink.py    uplink export|gas|run|status
    render.py    render · wall · report shift

``python -m minetwin.cli`` runs it too. Each group imports the rooms it wires lazily, so a
command loads only what it uses (the composition root may import every room: DESIGN.md).

Exit status: 0 success, 1 a failure while running, 2 bad input (configuration, files, usage);
141 when the reader of its output went away (``| head``), as Unix tools do.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    from . import assets, geology, gltf, mine, render, risk, serve, uplink
    p = argparse.ArgumentParser(prog="minetwin", description="MineTwin transparent-mine twin")
    sub = p.add_subparsers(dest="command", required=True)
    for group in (serve, mine, gltf, assets, geology, risk, uplink, render):
        group.add_parsers(sub)
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
