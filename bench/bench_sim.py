"""Simulator benchmark on the demo mine (issue: the mine twin).

    .venv/bin/python bench/bench_sim.py [--hours H]

Simulated seconds per wall second, simulator steps per second and observations per second
generated, by phase (people going down at a shift change vs. steady work), plus the cost of
writing the real-time upload files. Never part of `make test`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twin.demo.generator import generate_demo  # noqa: E402
from twin.minefolder import load_mine  # noqa: E402
from twin.sim import Simulator, parse_scenario  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=1.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        model = load_mine(generate_demo(Path(tmp) / "mine", 7))
        print(f"demo generate + load: {time.perf_counter() - t0:.2f} s")
        scenario = parse_scenario({"event": [
            {"type": "gas_outburst", "at": "00:30:00", "place": "face:11901"},
            {"type": "fire", "at": "00:40:00", "place": "roadway:11901-intake@8"}]})
        t0 = time.perf_counter()
        sim = Simulator(model, seed=7, scenario=scenario,
                        start=datetime(2026, 11, 2, 7, 50, tzinfo=ZoneInfo("Asia/Shanghai")))
        print(f"simulator set-up (network, people, sensors): {time.perf_counter() - t0:.2f} s")
        rows = []
        for label, seconds in (("shift change (07:50-08:30, people walking in)", 2400),
                               (f"steady work ({args.hours:g} h)", int(args.hours * 3600))):
            t0 = time.perf_counter()
            obs = sim.advance(seconds)
            dt = time.perf_counter() - t0
            kinds = Counter(o.kind for o in obs)
            rows.append((label, seconds / dt, seconds / sim.step_s / dt, len(obs) / dt,
                         len(sim.underground()), dict(kinds)))
        print("\n| phase | simulated s per wall s | steps/s | observations/s | underground | observations by kind |")
        print("| --- | ---: | ---: | ---: | ---: | --- |")
        for label, rate, steps, ops, under, kinds in rows:
            print(f"| {label} | {rate:,.0f} | {steps:,.0f} | {ops:,.0f} | {under} | {kinds} |")
        t0 = time.perf_counter()
        paths = sim.write_upload_files(Path(tmp) / "up")
        print(f"\nwrite CDSS + RYSS + JZSS: {(time.perf_counter() - t0) * 1000:.1f} ms "
              f"({sum(p.stat().st_size for p in paths):,} bytes)")


if __name__ == "__main__":
    main()
