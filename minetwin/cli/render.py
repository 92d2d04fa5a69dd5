"""``minetwin render`` and ``minetwin wall`` (docs/rendering.md).

    minetwin render --mine DIR (--view NAME | --node ID) --out FILE.png [--size WxH]
                    [--seconds S] [--start T] [--software] [--lang zh|en]
        the mine offscreen: a named view (``overview``: the mine in plan with roadways,
        workings, people, alarm states, a title, legend, north arrow and scale bar;
        ``oblique``; or one of the mine folder's ``views.toml``) or framed on a node with
        the sensors and people near it labelled; ``--seconds`` of simulated live data from
        ``--start`` first (0: the model as loaded)
    minetwin wall --server URL --group G --grid 3x2 --tile X,Y [--fullscreen] [--token T] [--risk]
                  [--size WxH] [--offscreen --frames N --screenshot FILE.png]
        the native wall client (render/wall.py)
    minetwin report shift --date YYYY-MM-DD --shift N --out DIR [--config FILE] [--lang zh|en]
        (--shift 0: the whole day, the daily report)
                          [--no-pdf]
        the shift report: HTML (and a PDF where Chromium is installed) from the alarm book,
        the history and the alarm snapshots the configuration points at
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

__all__ = ["add_parsers", "load_views"]


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"error: --size is WxH, not {text!r}") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise SystemExit("error: --size between 16x16 and 8192x8192")
    return w, h


def load_views(mine_dir: Path, origin) -> dict:
    """Named views of the mine folder's ``views.toml`` (``[[view]]`` name, position, target
    in the mine's CRS, fov)."""
    from render import CameraSpec
    from twin import check_keys, read_toml
    p = mine_dir / "views.toml"
    if not p.exists():
        return {}
    doc = read_toml(p, ValueError)
    check_keys(doc, ("view",), str(p), ValueError)
    for i, v in enumerate(doc.get("view", []), start=1):
        check_keys(v, ("name", "position", "target", "fov"), f"{p}: view {i}", ValueError)
    try:
        o = [float(v) for v in origin]
        return {v["name"]: CameraSpec(tuple(float(a) - b for a, b in zip(v["position"], o)),
                                      tuple(float(a) - b for a, b in zip(v["target"], o)),
                                      float(v.get("fov", 50.0)))
                for v in doc.get("view", [])}
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{p}: {exc}") from None


def _local_time(ms: int, zone: str) -> str:
    """The data's time as the mine reads it (its time zone, local date format)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    t = datetime.fromtimestamp(ms / 1000, ZoneInfo(zone)) if ms > 0 else \
        datetime.now(ZoneInfo(zone))
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _start(text: str, model):
    """The simulated clock's start (the mine's local time)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"error: --start is YYYY-MM-DDTHH:MM, not {text!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=ZoneInfo(model.mine.time_zone))


def _cmd_render(args) -> int:
    from live_bindings import DefaultBindings
    from render import (PandaMirror, RenderError, Renderer, draw_labels, node_picture,
                        overview, plan_hidden, plan_picture)
    from render.renderer import hidden_by_default

    from minetwin.app import AppError, load_mine_scene
    from minetwin.config import parse_config
    from twin import Simulator, mine_plan
    size = _size(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            config = parse_config({"assets": {"path": f"{tmp}/assets"}}, Path(tmp) / "c.toml")
            model, store, scene = load_mine_scene(config, Path(args.mine),
                                                  geology=args.view == "overview")
            views = load_views(Path(args.mine), model.mine.origin)
        except (AppError, ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        data_ms = None                   # the data's time: the simulator's clock
        if args.seconds > 0:
            bindings = DefaultBindings(model, scene)
            sim = Simulator(model, seed=args.seed, start=_start(args.start, model))
            scene.commit(sim.now_ms)
            bindings.apply(sim.advance(args.seconds))
            data_ms = sim.now_ms
        scene.commit(data_ms)
        try:
            r = Renderer(size, software=True if args.software else None)
            plan_view = args.view == "overview"
            mirror = PandaMirror(scene, r.render, store.path,
                                 hide=plan_hidden if plan_view else hidden_by_default)
            if args.node:
                im = node_picture(r, mirror, args.node, banner=args.banner)
            elif plan_view:
                im = plan_picture(r, mirror, mine_plan(model, scene), title=model.mine.name,
                                  subtitle=_local_time(data_ms or 0, model.mine.time_zone),
                                  banner=args.banner, lang=args.lang)
            else:
                if args.view != "oblique" and args.view not in views:
                    raise RenderError(f"no view {args.view!r} (overview, oblique, "
                                      f"{', '.join(views) or 'no views.toml'})")
                r.look(views.get(args.view) or overview(mirror, aspect=size[0] / size[1]))
                im = draw_labels(r.picture(), [], banner=args.banner)
        except RenderError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        im.save(args.out)
        print(json.dumps({"out": args.out, "size": list(size), "renderer": r.driver,
                          "missing_assets": sorted(mirror.failed_assets)}, ensure_ascii=False))
        r.close()
    return 0


def _cmd_wall(args) -> int:
    from render import run_wall
    grid = tuple(int(v) for v in args.grid.lower().split("x"))
    tile = tuple(int(v) for v in args.tile.split(","))
    return run_wall(args.server, args.group, grid, tile, token=args.token,
                    size=_size(args.size), fullscreen=args.fullscreen, offscreen=args.offscreen,
                    frames=args.frames, screenshot=args.screenshot, software=args.software,
                    risk=args.risk)


def _cmd_report(args) -> int:
    from datetime import date

    from live_bindings import History

    from safety import AlarmBook

    from ._common import load_config_or_exit
    from twin import MineDataError, load_mine
    from render import ReportError, build_report, shift_window, write_pdf
    config = load_config_or_exit(args.config)
    try:
        day = date.fromisoformat(args.date)
        model = load_mine(Path(args.mine) if args.mine else config.resolve_path(config.mine.path))
        sh = shift_window(day, args.shift, model.mine.time_zone)
        for p in (config.resolve_path(config.alarms.db), config.resolve_path(config.history.db)):
            if not p.exists():
                raise ReportError(f"{p} does not exist: nothing to report from")
        alarms = AlarmBook(model, path=config.resolve_path(config.alarms.db))
        history = History(config.resolve_path(config.history.db))
        dangers = None
        if config.resolve_path(config.dangers.db).exists():
            from safety import DangerBook, load_workflow
            dangers = DangerBook(model, load_workflow(config.resolve_path(config.mine.path)
                                                      if not args.mine else Path(args.mine)),
                                 path=config.resolve_path(config.dangers.db))
        result = build_report(model, alarms, history, sh, args.out,
                              config.resolve_path(config.snapshots.folder), args.lang,
                              dangers=dangers)
    except (ValueError, ReportError, MineDataError, OSError) as exc:   # (DangerConfigError too)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result["pdf"] = None
    if not args.no_pdf:
        pdf = Path(args.out) / "report.pdf"
        result["pdf"] = str(pdf) if write_pdf(result["html"], pdf) else None
    print(json.dumps(result, ensure_ascii=False))
    return 0


def add_parsers(sub) -> None:
    r = sub.add_parser("render", help="render the mine offscreen (Panda3D) to a PNG")
    r.add_argument("--mine", required=True)
    g = r.add_mutually_exclusive_group(required=True)
    g.add_argument("--view", help="overview (the mine in plan, with legend, people and alarm "
                                  "states), oblique (from the south, 60° up), or a view of the "
                                  "mine folder's views.toml")
    g.add_argument("--node", help="frame this node, label the sensors and people near it")
    r.add_argument("--out", required=True)
    r.add_argument("--size", default="1280x720")
    r.add_argument("--seconds", type=float, default=600.0,
                   help="simulated seconds of live data first (0: the model as loaded)")
    r.add_argument("--start", default="2026-11-02T09:00",
                   help="the simulated clock's start, mine local time (default: an hour into "
                        "the day shift, its people on their way in)")
    r.add_argument("--seed", type=int, default=7)
    r.add_argument("--banner", help="a line across the top")
    r.add_argument("--lang", default="zh", choices=["zh", "en"])
    r.add_argument("--software", action="store_true",
                   help="Panda3D's software renderer even where OpenGL is available")
    r.set_defaults(func=_cmd_render)
    w = sub.add_parser("wall", help="the native wall client: one tile of a group's view")
    w.add_argument("--server", required=True, help="ws://host:port of the twin")
    w.add_argument("--group", required=True)
    w.add_argument("--grid", default="1x1", help="COLSxROWS")
    w.add_argument("--tile", default="0,0", help="X,Y from the top left")
    w.add_argument("--token", default="minetwin-viewer")
    w.add_argument("--size", default="1920x1080", help="this tile's pixels")
    w.add_argument("--fullscreen", action="store_true")
    w.add_argument("--software", action="store_true")
    w.add_argument("--offscreen", action="store_true",
                   help="render into a buffer, not a window (tests, headless checks)")
    w.add_argument("--frames", type=int, help="stop after this many frames")
    w.add_argument("--screenshot", help="save the last frame here")
    w.add_argument("--risk", action="store_true",
                   help="roadways in their area's risk colour, with a legend (docs/risk.md)")
    w.set_defaults(func=_cmd_wall)
    rp = sub.add_parser("report", help="reports (the shift report)")
    rp_sub = rp.add_subparsers(dest="report_command", required=True)
    sr = rp_sub.add_parser("shift", help="one shift: alarms with pictures, gas, people, machines")
    sr.add_argument("--date", required=True, help="YYYY-MM-DD (the mine's local date)")
    sr.add_argument("--shift", type=int, required=True, help="1 夜班 0–8, 2 早班 8–16, 3 中班 16–24, 0 the whole day "
                                                         "(the daily report)")
    sr.add_argument("--out", required=True)
    sr.add_argument("--config", help="config file (its alarm book, history and snapshots)")
    sr.add_argument("--mine", help="mine folder (default: mine.path of the config)")
    sr.add_argument("--lang", default="zh", choices=["zh", "en"])
    sr.add_argument("--no-pdf", action="store_true")
    sr.set_defaults(func=_cmd_report)
