"""Start-up as a user sees it (issue: a fresh machine runs the README's two commands): the
time from typing `make run` to the server's first HTTP answer, and to the printed viewer
URL, on a warm machine (venv, npm packages, viewer bundle and demo mine already there — the
second and later `make run`); and what a no-op `make setup` costs.

    .venv/bin/python bench/bench_startup.py [--runs 3]

Runs the real `make run` in the repository (port 8770 must be free), polls
`GET /healthz` every 20 ms from the moment make starts, stops it with Ctrl-C (SIGINT), and
prints the server's own log lines with their times, so a slow phase shows.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import statistics
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
URL = "http://127.0.0.1:8770/healthz"


def _answers() -> bool:
    try:
        with urllib.request.urlopen(URL, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def one_run() -> dict:
    assert not _answers(), "something already answers on port 8770: stop it first"
    t0 = time.monotonic()
    proc = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in proc.stdout:
            lines.put((time.monotonic() - t0, line.rstrip()))
    threading.Thread(target=read, daemon=True).start()
    first_answer = None
    log: list[tuple[float, str]] = []
    url_at = None
    deadline = t0 + 600
    while (first_answer is None or url_at is None) and time.monotonic() < deadline:
        if first_answer is None and _answers():
            first_answer = time.monotonic() - t0
        while not lines.empty():
            at, line = lines.get()
            log.append((at, line))
            if line.startswith("MineTwin viewer:") and url_at is None:
                url_at = at
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=60)
    return {"answer_s": first_answer, "url_s": url_at, "log": log}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    setup = []
    for _ in range(3):
        t = time.monotonic()
        subprocess.run(["make", "--no-print-directory", "setup"], cwd=ROOT, check=True,
                       capture_output=True)
        setup.append(time.monotonic() - t)
    print(f"make setup, nothing to do: {statistics.median(setup):.2f} s (median of 3)")
    runs = [one_run() for _ in range(args.runs)]
    for n, r in enumerate(runs, 1):
        print(f"run {n}: first HTTP answer {r['answer_s']:.2f} s, viewer URL printed "
              f"{r['url_s']:.2f} s after `make run`")
    print(f"median: first answer {statistics.median(r['answer_s'] for r in runs):.2f} s, "
          f"URL {statistics.median(r['url_s'] for r in runs):.2f} s")
    print("the last run's log, with seconds since `make run`:")
    for at, line in runs[-1]["log"]:
        print(f"  {at:6.2f}  {line[:150]}")


if __name__ == "__main__":
    main()
