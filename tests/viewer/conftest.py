"""A real MineTwin server on the demo mine (simulator at 60× with a gas-outburst drill, so
alarms, history and recordings exist), the viewer built from the current sources, and
Debian's Chromium driven by Playwright (headless, software WebGL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.conftest import _free_port, require
from tests.viewer.test_viewer_logic import VIEWER, _node_missing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking",
                 "--disable-component-update", "--use-angle=swiftshader",
                 "--enable-unsafe-swiftshader"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TOKENS = {role: f"minetwin-{role}" for role in ("viewer", "operator", "instructor", "admin")}


@pytest.fixture(scope="session")
def viewer_build(tmp_path_factory):
    """The viewer bundled from the current sources into a folder of its own."""
    require(_node_missing(), "node with the viewer's packages")
    out = tmp_path_factory.mktemp("viewer") / "dist"
    subprocess.run(["node", str(VIEWER / "build.mjs"), str(out)], check=True,
                   capture_output=True, timeout=300)
    return out


class Server(NamedTuple):
    url: str          # http://127.0.0.1:PORT/
    inbox: Path       # the upload-file inbox it watches ([ingest] inbox)


def start_serve(tmp: Path, demo_dir: Path, viewer_dir: Path, *, rate: float, drill: str,
                extra: str = "") -> tuple[subprocess.Popen, str]:
    """`minetwin serve` on the demo mine in ``tmp`` (its files there), the simulator at
    ``rate`` running the ``drill`` scenario (TOML), ``extra`` configuration appended; returns
    the process and its base URL once /healthz answers (bench/shots.py uses it too)."""
    (tmp / "drill.toml").write_text(drill)
    port = _free_port()
    (tmp / "config.toml").write_text(f"""
[mine]
path = {json.dumps(str(demo_dir))}
[assets]
path = {json.dumps(str(tmp / "assets"))}
[server]
port = {port}
audit_log = {json.dumps(str(tmp / "audit.jsonl"))}
viewer_dir = {json.dumps(str(viewer_dir))}
[sim]
rate = {rate}
scenario = {json.dumps(str(tmp / "drill.toml"))}
[alarms]
db = {json.dumps(str(tmp / "alarms.sqlite"))}
[history]
db = {json.dumps(str(tmp / "history.sqlite"))}
[ingest]
inbox = {json.dumps(str(tmp / "inbox"))}
scan_every_s = 0.5
max_future_s = 86400.0    # the simulator's clock runs ahead of the wall clock
[feeds]
max_future_s = 86400.0    # (and a test's file may be dated ahead of the simulator's)
[recording]
folder = {json.dumps(str(tmp / "recordings"))}
fsync_every_s = 0.5
[snapshots]
software = true           # one thread: leave the cores to the browsers' software WebGL
{extra}""")
    exe = Path(sys.executable).with_name("minetwin")
    log = open(tmp / "serve.log", "wb")
    proc = subprocess.Popen([str(exe), "serve", "--config", str(tmp / "config.toml")],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(base + "healthz", timeout=2).read()
            return proc, base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("the server did not start:\n" + (tmp / "serve.log").read_text())
            time.sleep(0.2)


def stop_serve(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def twin_server(demo_dir, viewer_build, tmp_path_factory):
    """`minetwin serve` on the demo mine (60×, a gas outburst on 11901 at 00:03:00; a province
    that is not answering)."""
    tmp = tmp_path_factory.mktemp("server")
    (tmp / "dest.toml").write_text(                  # a province that is not answering
        f'[[destination]]\nname = "province"\nkind = "https"\n'
        f'url = "https://127.0.0.1:{_free_port()}/upload"\ntimeout_s = 2.0\n')
    try:
        proc, base = start_serve(tmp, demo_dir, viewer_build, rate=60.0, drill=(
            '[[event]]\ntype = "gas_outburst"\nat = "00:03:00"\nplace = "face:11901"\n'),
            extra=f"""[uplink]
enabled = true
out = {json.dumps(str(tmp / "uplink"))}
outbox = {json.dumps(str(tmp / "uplink.sqlite"))}
destinations = {json.dumps(str(tmp / "dest.toml"))}
realtime_every_s = 600.0
send_every_s = 1.0
""")
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield Server(base, tmp / "inbox")
    stop_serve(proc)


@pytest.fixture(scope="session")
def browser():
    require(None if os.path.exists(CHROMIUM) else f"{CHROMIUM} is missing (apt-get install chromium)",
            "Debian's Chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        require(str(exc), "Playwright")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A viewer page and the console errors it logged."""

    def __init__(self, browser, url: str, size=(1280, 800)):
        self.context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        # Bounds for a hung page, not timing assertions: two cores shared by software WebGL,
        # the twin and its workers can make a page slow to load.
        self.context.set_default_timeout(90_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        self.page.wait_for_function(
            "window.minetwin && window.minetwin.stats().firstFrameMs !== null", timeout=90_000)

    def js(self, expr: str, arg=None):
        return self.page.evaluate(expr, arg)

    def in_frame(self, fn: str, arg=None):
        """``fn`` (a JS function of ``arg``) run in the next drawn frame's own event: what it
        reads is what that picture showed (at ?fps=2 the replica moves on between calls)."""
        return self.page.evaluate(f"""(arg) => new Promise((done) => {{
            const v = window.minetwin.view;
            v.addEventListener('rendered', () => done(({fn})(arg)), {{ once: true }});
            v.dirty = true; }})""", arg)

    def next_frame(self) -> None:
        """Wait until the view has drawn a new picture (of what was just changed)."""
        self.page.evaluate("""() => new Promise((done) => { const v = window.minetwin.view;
            v.addEventListener('rendered', () => done(true), { once: true }); v.dirty = true; })""")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_page(browser, twin_server):
    pages: list[Page] = []

    def open_(role: str = "operator", query: str = "", size=(1280, 800),
              geology: bool | None = False) -> Page:
        # Geology volumes cover the screen in see-through layers: cheap on a GPU, slow in
        # SwiftShader. Pages start without them (and hazard zones) unless the test is about
        # them (then ?hide= empty: everything shown, even on this GPU-less machine).
        # (geology None: the address as given, the viewer's own defaults)
        if geology is not None and "hide=" not in query and "wall=" not in query:
            query += "&hide=" if geology else "&hide=seam,contour,fault,prediction,hazard"
        # Every page draws at most 2 pictures a second (?fps=2): pages left open by a test
        # would otherwise redraw the gliding people as fast as SwiftShader can, and starve
        # the page under test of the two cores (loads took 4-7 times longer).
        if "fps=" not in query:
            query += "&fps=2"
        p = Page(browser, f"{twin_server.url}?token={TOKENS[role]}{query}", size)
        pages.append(p)
        return p
    yield open_
    for p in pages:
        p.close()


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
