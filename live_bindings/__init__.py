"""Feed adapters (pure decoders plus thin transports) and the bindings that turn
observations into scene changes.

Today: the upload-file decoders and the upload inbox, the default bindings derived from the
mine model, the threshold rules (a data table, per-mine overrides, the sensors' own
thresholds), data-quality, rate-of-change, interlock and personnel watchdogs, the alarm book, MQTT and Redis Streams feeds and the observation history.
Declarative bindings (a mine's bindings.toml) refine the defaults; hazard-index rules
(outburst indicators, spontaneous-combustion stage) come from the same rule table.
"""

from .alarms import Alarm, AlarmBook, AlarmError
from .declarative import BindingError, DeclarativeBindings, load_bindings
from .defaults import SENSOR_COLORS, DefaultBindings
from .hazards import HazardRules
from .history import Bucket, History, Sample
from .rules import Rule, RuleEngine, RuleEvent, RulesError, resolve_rules
from .watchdogs import Limits, Watchdogs
from .watcher import FileOutcome, UploadWatcher

__all__ = ["DefaultBindings", "SENSOR_COLORS", "Rule", "RuleEvent", "RuleEngine", "RulesError",
           "resolve_rules", "Alarm", "AlarmBook", "AlarmError", "UploadWatcher", "FileOutcome", "History", "Sample", "Bucket",
           "Watchdogs", "Limits", "DeclarativeBindings", "BindingError", "load_bindings",
           "HazardRules"]
