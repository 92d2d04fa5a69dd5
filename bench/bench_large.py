"""The twin's tick on the demo mine at two sizes (issue #20): the standard demo (a real
district's size: ≈ 30 km, 154 points) and ``--size large`` (≈ 120 km, 1 564 points, 1 608
people), measured in the same run.

    .venv/bin/python bench/bench_large.py [--ticks 600] [--sizes standard,large]

For each size the whole twin is built in this process as ``minetwin serve`` builds it (mine
folder → model → scene → bindings, rules, watchdogs, linkage, alarm book, history, recorder;
simulator off), then fed two ways:

- **an upload cycle**: every point's reading (one CDSS file of all points) and everyone
  underground (one RYSS file) — what the mine's systems send every 10 s — decoded as the inbox
  decodes them, then the one tick that takes them all (gate → bindings → rules, watchdogs,
  tube bundle, ground pressure, linkage, reported alarms → alarm book → history → commit →
  recorder);
- **steady**: the simulator's live feed at 1× for ``--ticks`` ticks of 100 ms (points every
  2 s, every card every second, equipment every 5 s), each tick's observations queued and
  the real tick run: its time per tick (p50 / p95 / max) against the 100 ms period.

Build times (demo generation, mine loading, the scene) are printed too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _files(model, sim, recent, when: datetime):
    """(CDSS, RYSS) upload files of the mine as the simulator has it now: every point's latest
    reading, and everyone underground where ``recent`` (the last second's cards) saw them."""
    from twin.kj_format import write_upload
    from twin.sensor_types import quantity_of
    stamp = when.strftime("%Y-%m-%d %H:%M:%S")
    cdss = []
    for code, p in sorted(sim.points.items()):
        if p.last is None:
            continue
        s = model.sensors[code]
        v = ("1" if p.last else "0") if isinstance(p.last, bool) else f"{float(p.last):g}"
        cdss.append([code, quantity_of(s.type_code).name, s.location, v, s.unit or "",
                     str(p.state), stamp])
    cards = {o.key: o for o in recent if o.kind == "card" and o.value and o.reader}
    ryss = [[c, model.people[c].name, "1", stamp, "", o.area or o.reader[:16], stamp, o.reader,
             stamp, "三八制", f"{o.distance_m or 0.0:.1f}", "0", "0", "0", f"{o.reader}&{stamp}"]
            for c, o in sorted(cards.items())]
    m = model.mine
    return (write_upload("CDSS", m.code, m.name, when, cdss),
            write_upload("RYSS", m.code, m.name, when, ryss))


def run(size: str, ticks: int) -> dict:
    from live_bindings.upload_files import decode_upload
    from minetwin.app import TwinApp
    from minetwin.config import parse_config
    from twin import Simulator
    from twin.demo.generator import generate_demo

    out: dict = {"size": size}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        mine = generate_demo(Path(tmp) / "mine", 7, size)
        out["generate_s"] = time.perf_counter() - t
        config = parse_config({
            "mine": {"path": str(mine)}, "assets": {"path": f"{tmp}/assets"},
            "alarms": {"db": f"{tmp}/a.sqlite"}, "history": {"db": f"{tmp}/h.sqlite"},
            "recording": {"folder": f"{tmp}/rec"}, "snapshots": {"enabled": False},
            "sim": {"enabled": False}, "server": {"audit_log": f"{tmp}/audit.jsonl"}},
            Path(tmp) / "c.toml")
        t = time.perf_counter()
        app = TwinApp(config, mine, port=0)
        out["build_s"] = time.perf_counter() - t
        m = app.model
        s = m.summary()
        out.update(km=s["roadway_km"], points=s["sensors"], people=s["people"],
                   nodes=len(app.scene))
        try:
            sim = Simulator(m, seed=3, start=datetime(2026, 11, 2, 9, 30))
            sim.advance(1799.0)                 # the day shift at work
            recent = sim.advance(1.0)
            out["underground"] = len({o.key for o in recent if o.kind == "card" and o.value})
            # an upload cycle: every point and everyone underground, decoded, one tick
            when = sim.local_time().replace(tzinfo=None, microsecond=0)
            (cn, cdata), (rn, rdata) = _files(m, sim, recent, when)
            t = time.perf_counter()
            obs = list(decode_upload(cdata, cn, tz=m.mine.time_zone).observations)
            obs += decode_upload(rdata, rn, tz=m.mine.time_zone).observations
            out["decode_ms"] = (time.perf_counter() - t) * 1000
            out["cycle_obs"] = len(obs)
            app.queue.put_many(obs)
            t = time.perf_counter()
            app.loop.tick()
            out["cycle_tick_ms"] = (time.perf_counter() - t) * 1000
            # steady: the simulator's feed, tick by tick
            took, n_obs = [], 0
            t0 = sim.t_s
            for k in range(1, ticks + 1):
                batch = sim.run_until(t0 + 0.1 * k)     # (the simulator steps each second)
                n_obs += len(batch)
                app.queue.put_many(batch)
                t = time.perf_counter()
                app.loop.tick()
                took.append((time.perf_counter() - t) * 1000)
            took.sort()
            out.update(steady_obs_per_tick=n_obs / ticks, p50=statistics.median(took),
                       over=sum(1 for x in took if x > 100.0),
                       p95=took[int(0.95 * len(took)) - 1], max=took[-1],
                       errors=app.loop.stats.system_errors + sum(app.stage_errors.values()))
        finally:
            app.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=int, default=600)
    ap.add_argument("--sizes", default="standard,large")
    args = ap.parse_args()
    rows = [run(size, args.ticks) for size in args.sizes.split(",")]
    len_ticks = args.ticks
    print("| demo | km / points / people (underground) / scene nodes | generate · build the twin "
          "| upload cycle: decode · its tick | steady tick p50 / p95 / max (obs per tick; ticks "
          "over the 100 ms period) |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['size']} | {r['km']:.0f} km / {r['points']} / {r['people']} "
              f"({r['underground']}) / {r['nodes']} | {r['generate_s']:.1f} s · "
              f"{r['build_s']:.1f} s | {r['cycle_obs']} obs: {r['decode_ms']:.0f} ms · "
              f"{r['cycle_tick_ms']:.0f} ms | {r['p50']:.1f} / {r['p95']:.1f} / "
              f"{r['max']:.1f} ms ({r['steady_obs_per_tick']:.0f}; {r['over']} of {len_ticks}); "
              f"errors {r['errors']} |")


if __name__ == "__main__":
    main()
