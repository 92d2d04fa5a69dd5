"""Feed adapters (pure decoders plus thin transports) and the bindings that turn
observations into scene changes.

The upload-file decoders (``upload_files.py``) and the upload inbox (``watcher.py``), MQTT and
Redis Streams feeds (``feeds.py``), the default bindings derived from the mine model
(``defaults.py``), declarative bindings (a mine's bindings.toml, ``declarative.py``) that
refine them, and the observation history (``history.py``). The rules, watchdogs and alarms
that judge what the feeds bring are the mine's safety logic: ``safety/``.
"""

from .declarative import BindingError, DeclarativeBindings, load_bindings
from .defaults import SENSOR_COLORS, DefaultBindings
from .history import Bucket, History, Sample
from .watcher import FileOutcome, UploadWatcher
from scene import lazy_exports

__all__ = ["DefaultBindings", "SENSOR_COLORS", "UploadWatcher", "FileOutcome", "History",
           "Sample", "Bucket", "DeclarativeBindings", "BindingError", "load_bindings", "MqttFeed",
           "RedisStreamFeed", "decode_upload", "IngestDialect", "DialectError"]

#: What other rooms use from inside this one, loaded when first asked for (so importing
#: the room stays cheap): name -> the module that defines it.
_LAZY = {
    "MqttFeed": "feeds",
    "RedisStreamFeed": "feeds",
    "decode_upload": "upload_files",
    "IngestDialect": "upload_files",
    "DialectError": "upload_files",
}

__getattr__ = lazy_exports(__name__, _LAZY)
