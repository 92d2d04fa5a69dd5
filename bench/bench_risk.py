"""Risk pre-control's cost (issue #22) on the demo mine at both sizes, measured in one run.

    .venv/bin/python bench/bench_risk.py [--sizes standard,large] [--repeat 200]

For each size: the mine folder generated, the geology built with its hazard zones as
`minetwin serve` builds them; then
- the **forecasts** ahead of every face and heading (twin.geology.forecast, on the geology's
  worker thread in the twin, after each metre of advance or model update);
- the **pre-warnings** judged on them (RiskEngine.prewarnings: in the tick, when new
  forecasts arrive);
- the **levels** of every area (RiskEngine.evaluate: in the tick once a second) from the
  forecasts, everyone underground's headcount and a standing alarm list of ``--alarms``
  active alarms on real points (a bad hour: one in ten points alarming) and ``--dangers``
  open hidden dangers (graded, one in four past its deadline) from a real DangerBook;
- the **hidden-danger steps** (DangerBook.take: a report, an assessment … each one SQLite
  transaction, in the event loop) and the **deadline check** (DangerBook.overdue, in the tick
  once a second);
and what that costs a tick at 10 Hz: evaluate once in ten ticks, prewarnings when forecasts
change (at most every coalescing period of the worker, 0.5 s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _ms(f, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        out.append((time.perf_counter() - t0) * 1000)
    out.sort()
    return statistics.median(out), out[int(0.95 * (len(out) - 1))], out[-1]


def run(size: str, repeat: int, n_dangers: int = 200) -> dict:
    from assets import AssetStore
    from safety import DangerBook, RiskEngine, load_register, load_workflow
    from safety.alarms import Alarm
    from twin import GeologyScene, build_geology, generate_demo, load_hazard_data, load_mine
    from twin.geology.forecast import forecast_workings

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        mine = generate_demo(Path(tmp) / "mine", 7, size)
        model = load_mine(mine)
        geo = build_geology(mine, model.mine.origin, model.mine.time_zone)
        hazards = load_hazard_data(mine / "geology", model.mine.origin)
        maker = GeologyScene(geo, model, AssetStore(Path(tmp) / "store"), hazards=hazards)
        maker.hazard_nodes()
        build_s = time.perf_counter() - t0
        workings = maker.workings()

        def forecast():
            return forecast_workings(geo, model, workings, list(maker.zones.values()),
                                     maker.zone_grid)
        fcs = forecast()
        f_p50, f_p95, f_max = _ms(forecast, max(repeat // 20, 5))
        engine = RiskEngine(model, load_register(mine, model))
        codes = list(model.sensors)[::10]
        alarms = [Alarm(i, f"{c}/ch4/main", c, f"sensor/{c}", f"point:{c}", "alarm",
                        1 + i % 3, 0, 1.2, 1.0, "bench", 1.2) for i, c in enumerate(codes)]
        heads = {a: 5 for a in model.areas}
        book = DangerBook(model, load_workflow(mine), path=Path(tmp) / "dangers.sqlite")
        areas = list(model.areas)
        step_ms = []
        day = 86_400_000
        for i in range(n_dangers):
            t0 = time.perf_counter()
            d = book.take("report", "王五", "viewer", {"title": f"隐患 {i}", "area": areas[i % len(areas)]}, 1000 + i)
            step_ms.append((time.perf_counter() - t0) * 1000)
            book.take("assess", "李四", "operator", {"danger": d.id, "level": "ABC"[i % 3]}, 1000 + i)
            # one in four is due before the benchmark's clock starts: overdue
            book.take("assign", "李四", "operator", {"danger": d.id, "team": "通风队",
                                                   "deadline_ms": 2000 + i + (0 if i % 4 == 0 else 30 * day)}, 1000 + i)
        step_ms.sort()
        t = [10_000]

        def prewarn():
            t[0] += 1
            engine.prewarnings(fcs, t[0])

        def evaluate():
            t[0] += 1
            engine.evaluate(t[0], alarms=alarms, forecasts=fcs, headcounts=heads,
                            dangers=book.risk_facts(t[0]))

        def overdue():
            t[0] += 1
            book.overdue(t[0])
        p_p50, p_p95, p_max = _ms(prewarn, repeat)
        e_p50, e_p95, e_max = _ms(evaluate, repeat)
        o_p50, o_p95, o_max = _ms(overdue, repeat)
        overdue_n = sum(d.overdue_at(t[0]) for d in book.open_items())
        book.close()
        rec = engine.record(fcs)
        levels = {}
        for a in rec["levels"]:
            levels[a["level"]] = levels.get(a["level"], 0) + 1
        return {"size": size, "build_s": build_s, "areas": len(model.areas),
                "workings": len(workings), "targets": sum(len(f.ahead) for f in fcs),
                "alarms": len(alarms), "points": len(model.sensors),
                "forecast_ms": (f_p50, f_p95, f_max), "prewarn_ms": (p_p50, p_p95, p_max),
                "evaluate_ms": (e_p50, e_p95, e_max), "overdue_ms": (o_p50, o_p95, o_max),
                "dangers": n_dangers, "overdue": overdue_n,
                "report_ms": (statistics.median(step_ms), step_ms[int(0.95 * (len(step_ms) - 1))],
                              step_ms[-1]),
                # a 10 Hz tick: evaluate and the deadline check once a second, prewarnings at
                # most twice a second
                "per_tick_ms": (e_p50 + o_p50) / 10 + p_p50 / 5, "levels": levels}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="standard,large")
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--dangers", type=int, default=200, help="open hidden dangers")
    args = ap.parse_args()
    rows = [run(s, args.repeat, args.dangers) for s in args.sizes.split(",")]
    print("| demo | areas | workings / targets ahead | alarms / points / open dangers (overdue) "
          "| forecasts (worker) p50/p95/max ms | prewarnings p50/p95/max ms | levels p50/p95/max ms "
          "| deadline check p50/p95/max ms | a danger report p50/p95/max ms "
          "| per 10 Hz tick (amortised) ms | levels |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        def f(t):
            return " / ".join(f"{v:.2f}" for v in t)
        print(f"| {r['size']} | {r['areas']} | {r['workings']} / {r['targets']} | "
              f"{r['alarms']} / {r['points']} / {r['dangers']} ({r['overdue']}) | "
              f"{f(r['forecast_ms'])} | {f(r['prewarn_ms'])} | "
              f"{f(r['evaluate_ms'])} | {f(r['overdue_ms'])} | {f(r['report_ms'])} | "
              f"{r['per_tick_ms']:.3f} | "
              f"{', '.join(f'{k} {v}' for k, v in sorted(r['levels'].items()))} |")
    for r in rows:
        print(f"{r['size']}: demo, model, geology and zones built in {r['build_s']:.1f} s")


if __name__ == "__main__":
    main()
