"""The simulator: makes the demo mine live and drives training drills (docs/simulator.md).

Seeded and deterministic: the same model, seed, start time and scenario give the same
observations. It runs in fixed steps of simulated time (1 s by default), either driven by
the tick loop in real time or accelerated (×N), or stepped directly by tests and benchmarks.
It emits :class:`~twin.observation.Observation` s — the same type real feeds produce — and can
write the standard real-time upload files (CDSS, RYSS, JZSS) so the file-ingest path is
exercised end to end.
"""

from .engine import SHIFTS, Simulator
from .scenarios import Event, Scenario, ScenarioError, load_scenario, parse_scenario

__all__ = ["Simulator", "SHIFTS", "Scenario", "Event", "ScenarioError", "load_scenario",
           "parse_scenario"]
