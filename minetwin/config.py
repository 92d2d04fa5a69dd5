"""MineTwin configuration: ``config.toml`` read once into frozen values.

Every section is a frozen, slotted dataclass; every field declares its type, its safe default
and what a valid value looks like. Loading checks the whole file and reports every problem at
once, each naming the file, the dotted key and what was expected. Unknown keys are errors
(a typo must never silently fall back to a default).

Exceptions::

    ConfigError          -- the file cannot be used; ``.problems`` lists each bad key
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

__all__ = ["Config", "ConfigError", "load_config", "DEFAULT_CONFIG_PATH", "render_config"]

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config.toml"


class ConfigError(Exception):
    """A configuration file has bad or unknown keys. ``problems`` holds one line per key."""

    def __init__(self, path: str | Path, problems: list[str]):
        self.path = str(path)
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{self.path}: {len(self.problems)} configuration error(s):\n{lines}")


def _spec(default: Any, expect: str, check: Callable[[Any], bool] | None = None, doc: str = ""):
    """A config field: its default, a human description of a valid value and a check."""
    return field(default=default, metadata={"expect": expect, "check": check, "doc": doc})


def _positive(v: Any) -> bool:
    return v > 0


def _port(v: Any) -> bool:
    return 0 <= v <= 65535


@dataclass(frozen=True, slots=True)
class MineSection:
    path: str = _spec("data/demo-mine", "a folder path (relative to the config file)",
                      doc="the mine folder to load; the demo mine is generated there if absent")
    demo_seed: int = _spec(7, "an integer", doc="seed of the generated demo mine")


@dataclass(frozen=True, slots=True)
class AssetsSection:
    path: str = _spec("var/assets", "a folder path (relative to the config file)",
                      doc="the content-addressed asset store")


def _token_entries(v: str) -> list[tuple[str, str, str]]:
    """(role, sha256 hex, holder) of each ``role:sha256[:holder]`` entry."""
    out = []
    for t in v.split(","):
        parts = t.strip().split(":", 2)
        if len(parts) < 2:
            raise ValueError(t)
        out.append((parts[0], parts[1], parts[2].strip() if len(parts) == 3 else ""))
    return out


def _tokens(v: str) -> bool:
    try:
        return all(role in ("viewer", "operator", "instructor", "admin") and len(h) == 64
                   and int(h, 16) >= 0 for role, h, _ in _token_entries(v))
    except ValueError:
        return False


#: The demo's tokens are "minetwin-viewer", "minetwin-operator", "minetwin-instructor" and
#: "minetwin-admin" — replace them on a real mine (docs/protocol.md says how). All but the
#: instructor's name a holder, so an acknowledgement or a hidden-danger step records a person,
#: as a real mine's tokens should (one token per person).
DEMO_TOKENS = "viewer:f4c05357ecfb8ed8c93fcb8812386fafa55017eaa88d994a4a0aa71660184208:工程师(演示),operator:c076f325d327c8261a1adc358dba461aa5468727cc74e2ca25a6745b69615ca8:值班调度员(演示),instructor:4a0ec308a3dc22153a61df8a1e4e02cbca1700f3fd5158697a3eccfab881a3e4,admin:06bf1bf08db9962809d9bf9f57549e739c282382f6c24a8a8447bd3ccc026313:安监员(演示)"


@dataclass(frozen=True, slots=True)
class ServerSection:
    host: str = _spec("127.0.0.1", "a host name or IP address to listen on")
    port: int = _spec(8770, "a TCP port 0..65535", _port)
    tokens: str = _spec(DEMO_TOKENS, "role:sha256-hex[:holder] entries separated by commas "
                                     "(roles: viewer, operator, instructor, admin; the holder "
                                     "is the person an acknowledgement names)", _tokens)
    client_queue: int = _spec(64, "frames a client may fall behind before a catch-up, >= 1",
                              _positive)
    drop_after_s: float = _spec(30.0, "seconds a client may block a send before it is "
                                      "dropped, > 0", _positive)
    max_message_bytes: int = _spec(1 << 20, "the largest message a client may send, >= 1024",
                                   lambda v: v >= 1024)
    max_connections_per_token: int = _spec(20, "connections one token may hold, >= 1",
                                           _positive)
    max_messages_per_s: float = _spec(20.0, "messages a client may send per second, > 0",
                                      _positive)
    audit_log: str = _spec("var/audit.jsonl", "a file for the command audit trail (JSON lines)")
    compression: bool = _spec(False, "true or false",
                              doc="permessage-deflate on the live stream (off: CPU over bytes)")
    viewer_dir: str = _spec("viewer_web/dist", "the built viewer's folder (served at /)")
    tls_cert: str = _spec("", "a PEM certificate chain for TLS (wss://), or \"\"")
    tls_key: str = _spec("", "its PEM private key, or \"\"")

    def token_roles(self) -> dict[str, str]:
        """sha256(token) hex → role."""
        return {h: role for role, h, _ in _token_entries(self.tokens)}

    def token_holders(self) -> dict[str, str]:
        """sha256(token) hex → the person who holds it, where the entry names one."""
        return {h: holder for _, h, holder in _token_entries(self.tokens) if holder}


@dataclass(frozen=True, slots=True)
class TickSection:
    rate_hz: float = _spec(10.0, "ticks per second, > 0 and <= 1000",
                           lambda v: 0 < v <= 1000)


@dataclass(frozen=True, slots=True)
class SceneSection:
    history_limit: int = _spec(600, "the number of changesets kept, >= 1", _positive,
                               doc="changesets kept for catch-up (600 = 60 s at 10 Hz)")


@dataclass(frozen=True, slots=True)
class WireSection:
    transform_precision: str = _spec("float32", "one of 'float32', 'float64'",
                                     lambda v: v in ("float32", "float64"),
                                     doc="precision of translations/rotations/scales on the wire")
    max_frame_bytes: int = _spec(64 * 1024 * 1024, "a size in bytes, >= 1024",
                                 lambda v: v >= 1024, doc="largest frame a decoder accepts")


@dataclass(frozen=True, slots=True)
class SimSection:
    enabled: bool = _spec(True, "true or false", doc="feed the twin from the simulator")
    rate: float = _spec(1.0, "simulated seconds per wall second, > 0 and <= 3600",
                        lambda v: 0 < v <= 3600)
    seed: int = _spec(7, "an integer")
    tick_budget_ms: float = _spec(50.0, "milliseconds of each tick the simulator may use, > 0",
                                  _positive)
    scenario: str = _spec("", "a drill scenario TOML path, or \"\" for none")
    upload_dir: str = _spec("", "a folder for CDSS/RYSS/JZSS files, or \"\" for none")
    upload_every_s: float = _spec(30.0, "seconds between upload files, >= 1", lambda v: v >= 1)


@dataclass(frozen=True, slots=True)
class FeedsSection:
    queue_size: int = _spec(1_000_000, "observations the feed queue holds, >= 1000",
                            lambda v: v >= 1000)
    mqtt_host: str = _spec("", "an MQTT broker's host, or \"\" for no MQTT feed")
    mqtt_port: int = _spec(1883, "a TCP port 0..65535", _port)
    mqtt_topics: str = _spec("minetwin/+/obs/#", "topic filters, separated by commas",
                             lambda v: all(t.strip() for t in v.split(",")))
    redis_url: str = _spec("", "redis://host:port/db, or \"\" for no Redis Streams feed",
                           lambda v: v == "" or v.startswith(("redis://", "rediss://", "unix://")))
    redis_stream: str = _spec("minetwin:obs", "a stream key", lambda v: bool(v))
    mqtt_client_id: str = _spec("", "the MQTT client id whose session the broker keeps, or \"\" "
                                    "for minetwin-<mine code>")
    max_future_s: float = _spec(300.0, "seconds a reading may be dated ahead of now, >= 0",
                                lambda v: v >= 0)
    max_per_tick: int = _spec(50_000, "observations one tick takes from the queue, >= 100",
                              lambda v: v >= 100)
    refused_log: str = _spec("var/refused.jsonl", "a file path (relative to the config file), "
                                                  "or \"\" for none",
                             doc="refused observations, kept as JSON lines")


@dataclass(frozen=True, slots=True)
class IngestSection:
    inbox: str = _spec("", "a folder the upload files arrive in, or \"\" for none")
    scan_every_s: float = _spec(2.0, "seconds between scans, > 0", _positive)
    max_future_s: float = _spec(300.0, "seconds a header time may be ahead of now, >= 0",
                                lambda v: v >= 0)
    incomplete_after_s: float = _spec(600.0, "seconds before an unfinished file is "
                                             "quarantined, > 0", _positive)
    dialect: str = _spec("", "a TOML file path (relative to the config file) or \"\"",
                         doc="how the mine's systems write their files where they differ from "
                             "REFERENCE.md (docs/feeds.md \"Dialect\"); empty: the reference's")


@dataclass(frozen=True, slots=True)
class RulesSection:
    stale_after_s: float = _spec(120.0, "seconds without data before a point is stale, > 0",
                                 _positive)
    stuck_after: int = _spec(150, "identical analog readings in a row that mean stuck, >= 2",
                             lambda v: v >= 2)
    ch4_rise_per_min: float = _spec(0.1, "CH4 %/min that is a pre-warning, > 0", _positive)
    ch4_rise_window_s: float = _spec(300.0, "seconds the rise is measured over, > 0", _positive)
    interlock_ch4: float = _spec(0.5, "CH4 % at which a stopped local fan is a violation, > 0",
                                 _positive)
    overtime_h: float = _spec(10.0, "hours underground that are overtime, > 0", _positive)
    clear_hold_s: float = _spec(10.0, "seconds a value must stay back past the clear value, >= 0",
                                lambda v: v >= 0)


@dataclass(frozen=True, slots=True)
class AlarmsSection:
    db: str = _spec("var/alarms.sqlite", "a file path (relative to the config file)",
                    doc="alarms and their audit trail (SQLite)")
    escalate_after_s: float = _spec(300.0, "seconds, > 0", _positive,
                                     doc="an unacknowledged alarm goes up a level after this")
    regroup_s: float = _spec(300.0, "seconds, >= 0", lambda v: v >= 0,
                             doc="an alarm raised again this soon after it cleared, not yet "
                                 "acknowledged, is the same record again (counted), not a new row")


@dataclass(frozen=True, slots=True)
class DangersSection:
    db: str = _spec("var/dangers.sqlite", "a file path (relative to the config file)",
                    doc="hidden dangers and every step taken on them (SQLite)")
    files: str = _spec("var/danger-files", "a folder path (relative to the config file)",
                       doc="their photos and documents, named by SHA-256")


@dataclass(frozen=True, slots=True)
class HistorySection:
    db: str = _spec("var/history.sqlite", "a file path (relative to the config file)",
                    doc="observation history (SQLite, WAL)")
    retention_days: float = _spec(90.0, "days, > 0", _positive)


@dataclass(frozen=True, slots=True)
class RecordingSection:
    enabled: bool = _spec(True, "true or false", doc="record everything streamed (MCAP)")
    folder: str = _spec("var/recordings", "a folder path (relative to the config file)")
    segment_s: float = _spec(3600.0, "seconds per file, >= 60", lambda v: v >= 60)
    keyframe_s: float = _spec(15.0, "seconds between keyframe snapshots, > 0", _positive)
    fsync_every_s: float = _spec(5.0, "seconds between flush + fsync, >= 0", lambda v: v >= 0)
    retention_days: float = _spec(30.0, "days segments are kept, > 0", _positive)


@dataclass(frozen=True, slots=True)
class GatewaySection:
    redis_url: str = _spec("", "redis://host:port/db to publish frames to, or \"\" for none",
                           lambda v: v == "" or v.startswith(("redis://", "rediss://", "unix://")))
    stream: str = _spec("minetwin:frames", "a stream key", lambda v: bool(v))
    maxlen: int = _spec(100_000, "entries the stream keeps, >= 1000", lambda v: v >= 1000)
    snapshot_every_s: float = _spec(60.0, "seconds between snapshot entries, > 0", _positive)
    port: int = _spec(8771, "the port a gateway serves on, 0..65535", _port)
    publish_buffer: int = _spec(10_000, "entries waiting for Redis before the oldest are "
                                        "dropped, >= 100", lambda v: v >= 100)
    redis_timeout_s: float = _spec(2.0, "seconds a Redis call may take before it is retried, "
                                        "> 0", _positive)


@dataclass(frozen=True, slots=True)
class SnapshotsSection:
    enabled: bool = _spec(True, "true or false",
                          doc="render a picture of each raised alarm (docs/rendering.md)")
    folder: str = _spec("var/snapshots", "a folder path (relative to the config file)")
    width: int = _spec(960, "pixels, 64 … 4096", lambda v: 64 <= v <= 4096)
    height: int = _spec(540, "pixels, 64 … 4096", lambda v: 64 <= v <= 4096)
    min_interval_s: float = _spec(60.0, "seconds, >= 0", lambda v: v >= 0,
                                  doc="at most one picture per node this often")
    software: bool = _spec(False, "true or false",
                           doc="Panda3D's software renderer even where OpenGL opens")


@dataclass(frozen=True, slots=True)
class GeologySection:
    enabled: bool = _spec(True, "true or false",
                          doc="put the geological model in the scene and update it live")
    seam_step_m: float = _spec(60.0, "metres between the seam meshes' grid points, >= 5",
                               lambda v: v >= 5)
    ahead_m: float = _spec(100.0, "metres predicted ahead of faces and headings, > 0",
                           _positive)
    map_face_every_m: float = _spec(4.8, "metres of face advance between simulated face "
                                    "mappings, > 0", _positive)


def _secret_ref(v: str) -> bool:
    return v == "" or v.startswith(("env:", "file:"))


@dataclass(frozen=True, slots=True)
class UplinkSection:
    enabled: bool = _spec(False, "true or false",
                          doc="write the standard upload files and send them (docs/uplink.md)")
    out: str = _spec("var/uplink/out", "a folder path (relative to the config file)",
                     doc="where checked files are written (held ones under held/)")
    outbox: str = _spec("var/uplink/outbox.sqlite", "a file path (relative to the config file)",
                        doc="the durable outbox")
    destinations: str = _spec("", "a TOML file path or empty",
                              doc="[[destination]] tables (sftp / https); empty: only write "
                                  "the files (an existing uploader picks them up)")
    dialect: str = _spec("", "a TOML file path or empty",
                         doc="the province's dialect; empty: REFERENCE.md §3")
    types: str = _spec("", "comma-separated file types or empty",
                       doc="empty: definitions, CDSS/FZSS/JZSS/RYSS, and the types the dialect "
                           "declares layouts for")
    realtime_every_s: float = _spec(30.0, "seconds (scene time) between real-time files, >= 1",
                                    lambda v: v >= 1)
    stats_every_s: float = _spec(300.0, "seconds of a statistics (TJSJ) window, >= 60",
                                 lambda v: v >= 60)
    send_every_s: float = _spec(5.0, "seconds between outbox drains, > 0", _positive)
    keep_days: float = _spec(7.0, "days delivered files stay in the out folder, > 0",
                             _positive)
    shift_system: str = _spec("三八制", "a string", doc="RYSS shift system")
    encrypt_key: str = _spec("", "empty, env:NAME or file:PATH", _secret_ref,
                             doc="SM4 key: send files encrypted")
    manifest: str = _spec("", "'', 'sm3' or 'sha256'", lambda v: v in ("", "sm3", "sha256"),
                          doc="a manifest of each set with these digests")
    sign_key: str = _spec("", "empty, env:NAME or file:PATH", _secret_ref,
                          doc="SM2 private key: sign each manifest")
    gas_every_h: float = _spec(24.0, "hours between gas-geology files, >= 0 (0: none)",
                               lambda v: v >= 0,
                               doc="the gas-geology table (WSDZ): at start and this often")
    gas_format: str = _spec("", "a TOML file path or empty",
                            doc="the gas database's table format; empty: our default")
    stale_after_s: float = _spec(900.0, "seconds, > 0", _positive,
                                 doc="the viewer flags the uplink when its oldest undelivered "
                                     "file is older (REFERENCE.md §3: personnel data is stale "
                                     "after ~15 min)")


@dataclass(frozen=True, slots=True)
class LogSection:
    level: str = _spec("info", "one of 'debug', 'info', 'warning', 'error'",
                       lambda v: v in ("debug", "info", "warning", "error"))


@dataclass(frozen=True, slots=True)
class Config:
    """The effective configuration. ``source`` is the file it was read from (or None)."""

    mine: MineSection = field(default_factory=MineSection)
    assets: AssetsSection = field(default_factory=AssetsSection)
    server: ServerSection = field(default_factory=ServerSection)
    tick: TickSection = field(default_factory=TickSection)
    scene: SceneSection = field(default_factory=SceneSection)
    wire: WireSection = field(default_factory=WireSection)
    sim: SimSection = field(default_factory=SimSection)
    feeds: FeedsSection = field(default_factory=FeedsSection)
    ingest: IngestSection = field(default_factory=IngestSection)
    rules: RulesSection = field(default_factory=RulesSection)
    alarms: AlarmsSection = field(default_factory=AlarmsSection)
    dangers: DangersSection = field(default_factory=DangersSection)
    history: HistorySection = field(default_factory=HistorySection)
    recording: RecordingSection = field(default_factory=RecordingSection)
    gateway: GatewaySection = field(default_factory=GatewaySection)
    geology: GeologySection = field(default_factory=GeologySection)
    uplink: UplinkSection = field(default_factory=UplinkSection)
    snapshots: SnapshotsSection = field(default_factory=SnapshotsSection)
    log: LogSection = field(default_factory=LogSection)
    source: str | None = None

    def resolve_path(self, value: str) -> Path:
        """A path from the configuration, relative to the config file's folder."""
        p = Path(value)
        if p.is_absolute() or self.source is None:
            return p
        return Path(self.source).resolve().parent / p


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _coerce(value: Any, typ: type) -> tuple[bool, Any]:
    # TOML booleans are not integers here, and an integer is accepted where a float is.
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return True, float(value)
    if typ in (int, float) and isinstance(value, bool):
        return False, value
    return isinstance(value, typ), value


def _section_types() -> dict[str, type]:
    hints = {f.name: f.default_factory for f in dataclasses.fields(Config)
             if f.name != "source"}
    return hints  # type: ignore[return-value]


def parse_config(data: dict[str, Any], source: str | Path = "<config>") -> Config:
    """Validate a parsed TOML document into a Config, collecting every problem."""
    problems: list[str] = []
    sections: dict[str, Any] = {}
    known = _section_types()
    for key in data:
        if key not in known:
            problems.append(f"[{key}]: unknown section (expected one of: {', '.join(known)})")
    for name, cls in known.items():
        raw = data.get(name, {})
        if not isinstance(raw, dict):
            problems.append(f"{name}: expected a table [{name}], got {type(raw).__name__}")
            continue
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            f = fields.get(key)
            dotted = f"{name}.{key}"
            if f is None:
                problems.append(f"{dotted}: unknown key (expected one of: {', '.join(fields)})")
                continue
            typ = {"int": int, "float": float, "str": str, "bool": bool}[f.type]
            ok, value = _coerce(value, typ)
            expect = f.metadata["expect"]
            if not ok:
                problems.append(f"{dotted}: expected {expect}, got {value!r}")
                continue
            check = f.metadata["check"]
            if check is not None and not check(value):
                problems.append(f"{dotted}: expected {expect}, got {value!r}")
                continue
            values[key] = value
        sections[name] = cls(**values)
    if problems:
        raise ConfigError(source, problems)
    return Config(**sections, source=str(source))


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate a config file (default: the repository's ``config.toml``)."""
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"not valid TOML: {exc}"]) from None
    return parse_config(data, path)


def render_config(config: Config) -> str:
    """The effective configuration as TOML, every key with its value and what it accepts."""
    out = [f"# effective configuration (from {config.source or 'defaults'})"]
    for name in _section_types():
        section = getattr(config, name)
        out.append(f"\n[{name}]")
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            out.append(f"{f.name} = {_toml_value(value)}  # {f.metadata['expect']}")
    return "\n".join(out) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
