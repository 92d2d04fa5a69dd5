"""The mine's safety logic: alarm rules as data (the regulation table ``default_rules.toml``,
a mine's own overrides, the sensors' thresholds — ``rules.py``), data-quality,
rate-of-change, interlock and personnel watchdogs (``watchdogs.py``), hazard-index rules —
outburst indicators, spontaneous-combustion stage (``hazard_indices.py``), the Graham ratio,
Jones–Trickett and fire-zone status from tube-bundle analyses (``tube_bundle.py``), support
resistance, periodic weighting and roof separation (``ground_pressure.py``), the CDDY
linkage — feeders that must cut, interlocked air doors, fans and their standbys
(``linkage.py``) — the alarms the mine's own systems report (YCBJ, RYCS, RYCY, RYXZ,
RYQJ: ``reported.py``), risk pre-control — the risk register, warning lines ahead of the
workings and each area's live level (``risk.py``) — hidden dangers from report to closing
(``dangers.py``) — and the alarm book
that raises, acknowledges and clears alarms (``alarms.py``). It reads observations and the
mine model; it knows nothing of sockets or feeds.
"""

from .alarms import Alarm, AlarmBook, AlarmError
from .hazard_indices import HazardRules
from .rules import Rule, RuleEngine, RuleEvent, RulesError, resolve_rules, rule_table
from .tube_bundle import TubeBundle
from .ground_pressure import GroundPressure
from .linkage import Linkage
from .reported import ReportedAlarms
from .watchdogs import Limits, Watchdogs
from .dangers import (DangerBook, DangerConfigError, DangerError, DangerRefused,
                      check_workflow, load_workflow)
from .risk import (LEVELS, AreaRisk, Register, RiskEngine, RiskError, check_register,
                   default_points, format_register, load_register)

__all__ = ["Alarm", "AlarmBook", "AlarmError", "HazardRules", "Rule", "RuleEngine",
           "RuleEvent", "RulesError", "resolve_rules", "Limits", "Watchdogs", "TubeBundle", "GroundPressure",
           "Linkage", "ReportedAlarms", "rule_table", "LEVELS", "AreaRisk", "Register",
           "RiskEngine", "RiskError", "check_register", "default_points", "format_register",
           "load_register", "DangerBook", "DangerError", "DangerRefused", "DangerConfigError",
           "check_workflow", "load_workflow"]
