"""Ingest benchmark (issue: live bindings): observations per second through
decode → bind → rules → commit for the demo mine on one core, and a 5 000-record CDSS file.

    .venv/bin/python bench/bench_ingest.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assets import AssetStore  # noqa: E402
from live_bindings import DefaultBindings  # noqa: E402
from safety import AlarmBook, RuleEngine, resolve_rules  # noqa: E402
from live_bindings.upload_files import decode_upload  # noqa: E402
from twin.demo.generator import generate_demo  # noqa: E402
from twin.minefolder import load_mine  # noqa: E402
from twin.observation import Observation  # noqa: E402
from twin.scene_build import build_scene  # noqa: E402
from twin.sensor_types import quantity_of  # noqa: E402
from twin.kj_format import write_upload  # noqa: E402


def cdss_file(model, records: int, t0: datetime, rng) -> tuple[str, bytes]:
    points = sorted(c for c, s in model.sensors.items() if quantity_of(s.type_code).kind == "analog")
    rows = []
    for i in range(records):
        code = points[i % len(points)]
        s = model.sensors[code]
        t = t0 + timedelta(seconds=2 * (i // len(points)))
        rows.append([code, quantity_of(s.type_code).name, s.location,
                     f"{rng.uniform(0.0, 0.6):.2f}", s.unit, "0", t.strftime("%Y-%m-%d %H:%M:%S")])
    return write_upload("CDSS", model.mine.code, model.mine.name, t0, rows)


def main() -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        model = load_mine(generate_demo(Path(tmp) / "mine", 7))
        scene = build_scene(model, AssetStore(Path(tmp) / "assets"))
        bindings = DefaultBindings(model, scene)
        engine = RuleEngine(resolve_rules(model))
        book = AlarmBook(model, scene=scene)
        scene.commit(0)
        t0 = datetime(2026, 11, 2, 8, 0, 0)

        name, data = cdss_file(model, 5000, t0, rng)
        start = time.perf_counter()
        decoded = decode_upload(data, name)
        t_decode = time.perf_counter() - start
        start = time.perf_counter()
        obs = list(decoded.observations)
        bindings.apply(obs)
        book.apply(engine.evaluate(obs))
        scene.commit(1)
        t_rest = time.perf_counter() - start
        print(f"| 5 000-record CDSS file ({len(data):,} bytes): decode | {t_decode * 1000:.1f} ms "
              f"| {5000 / t_decode:,.0f} records/s |")
        print(f"| … then bind + rules + commit (one tick) | {t_rest * 1000:.1f} ms "
              f"| {5000 / t_rest:,.0f} observations/s |")
        print(f"| whole file, decode → commit | {(t_decode + t_rest) * 1000:.1f} ms "
              f"| {5000 / (t_decode + t_rest):,.0f} observations/s |")

        # Steady stream: every analog point reports every tick (10 Hz), numeric only.
        points = [c for c, s in model.sensors.items() if quantity_of(s.type_code).kind == "analog"]
        ticks = 2000
        batches = [[Observation("bench", "point", c, 1000 + k * 100,
                                float(round(rng.uniform(0, 0.6), 2)), "%") for c in points]
                   for k in range(ticks)]
        start = time.perf_counter()
        for k, batch in enumerate(batches):
            bindings.apply(batch)
            book.apply(engine.evaluate(batch))
            scene.commit(1000 + k * 100)
        dt = time.perf_counter() - start
        n = ticks * len(points)
        print(f"| stream: {len(points)} analog points × {ticks} ticks, bind + rules + commit "
              f"| {dt:.2f} s | {n / dt:,.0f} observations/s |")


if __name__ == "__main__":
    main()
