"""Recording every streamed minute, and reading it back at any time (docs/recording.md).

Files are MCAP (the ``mcap`` package), one per segment (``segment_s``, hourly by default),
named ``minetwin-<UTC start>.mcap``. Channels:

| topic | payload |
| --- | --- |
| ``/scene/keyframe`` | a scene snapshot in the wire form (docs/wire.md), every ``keyframe_s`` and first in each segment |
| ``/scene/diff`` | each committed changeset in the wire form |
| ``/alarms`` | an alarm record (msgpack map), at each change |

Message times are the changesets' commit times. Chunks are small (``chunk_bytes``) and the
file is flushed and fsynced every ``fsync_every_s``, so a recorder killed mid-segment leaves
a file that reads back up to its last complete chunk. A recorder that starts closes such a
segment properly first (``recover_segments``): what it holds up to the damage is rewritten
with its index and footer (the stock ``mcap`` reader and any other MCAP tool open it again),
and the original bytes are kept beside it as ``<name>.torn``. Old segments are deleted after
``retention_days``.

``Recording(folder).state_at(t_ms)`` rebuilds the scene as it was at a time: the last
keyframe at or before it, then the diffs up to it.
"""

from __future__ import annotations

import bisect
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import msgpack
from mcap.records import Channel, Message
from mcap.stream_reader import StreamReader
from mcap.writer import CompressionType, Writer

from scene import Changeset, Replica, Scene, WireDecoder, WireEncoder

__all__ = ["Recorder", "Recording", "RecordedMessage", "recover_segments"]

_SCHEMA = b"MineTwin scene wire frame v1 (docs/wire.md), msgpack"
_MAGIC = b"\x89MCAP0\r\n"
_TOPICS = ("/scene/keyframe", "/scene/diff", "/alarms")


def _closed(path: Path) -> bool:
    """Whether a segment ends with the MCAP footer magic (it was finished)."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() < 2 * len(_MAGIC):
            return False
        f.seek(-len(_MAGIC), os.SEEK_END)
        return f.read() == _MAGIC


def recover_segments(folder: str | Path, chunk_bytes: int = 64 * 1024) -> list[str]:
    """Close the segments a crash left open: each is rewritten from what it holds up to the
    damage, with a proper index and footer; the original is kept as ``<name>.torn``. Returns
    the names recovered."""
    done = []
    for path in sorted(Path(folder).glob("minetwin-*.mcap")):
        if _closed(path):
            continue
        msgs = list(Recording(path.parent).messages(path))
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            w = Writer(f, chunk_size=chunk_bytes, compression=CompressionType.ZSTD)
            w.start(profile="minetwin", library="minetwin")
            schema = w.register_schema("minetwin.wire.v1", "msgpack", _SCHEMA)
            ch = {topic: w.register_channel(topic, "msgpack", schema) for topic in _TOPICS}
            for seq, m in enumerate(msgs, start=1):
                ns = m.time_ms * 1_000_000
                w.add_message(ch.get(m.topic, ch["/scene/diff"]), log_time=ns, data=m.data,
                              publish_time=ns, sequence=seq)
            w.finish()
            f.flush()
            os.fsync(f.fileno())
        os.replace(path, path.with_name(path.name + ".torn"))
        os.replace(tmp, path)
        done.append(path.name)
    return done


class Recorder:
    def __init__(self, folder: str | Path, scene: Scene, *, segment_s: float = 3600.0,
                 keyframe_s: float = 15.0, chunk_bytes: int = 64 * 1024,
                 fsync_every_s: float = 5.0, retention_days: float = 90.0, precision: int = 8):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.scene = scene
        self.segment_ms = int(segment_s * 1000)
        self.keyframe_ms = int(keyframe_s * 1000)
        self.chunk_bytes = chunk_bytes
        self.fsync_every_s = fsync_every_s
        self.retention_ms = int(retention_days * 86_400_000)
        self.encoder = WireEncoder(precision)
        self._file = None
        self._writer: Writer | None = None
        self._segment_start = 0
        self._last_keyframe = -(1 << 62)
        self._last_sync = time.monotonic()
        self._seq = 0
        self.segments_written = 0
        self.recovered = recover_segments(self.folder, chunk_bytes)   # a crash's open segment

    def _open(self, t_ms: int) -> None:
        self._close()
        name = datetime.fromtimestamp(t_ms / 1000, timezone.utc).strftime(
            "minetwin-%Y%m%dT%H%M%S%fZ.mcap")
        self._file = open(self.folder / name, "wb")
        w = Writer(self._file, chunk_size=self.chunk_bytes, compression=CompressionType.ZSTD)
        w.start(profile="minetwin", library="minetwin")
        schema = w.register_schema("minetwin.wire.v1", "msgpack", _SCHEMA)
        self._ch = {topic: w.register_channel(topic, "msgpack", schema) for topic in _TOPICS}
        self._writer = w
        self._segment_start = t_ms
        self._last_keyframe = -(1 << 62)
        self.segments_written += 1

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.finish()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._writer = self._file = None

    def _put(self, topic: str, t_ms: int, data: bytes) -> None:
        self._seq += 1
        ns = t_ms * 1_000_000
        self._writer.add_message(self._ch[topic], log_time=ns, data=data, publish_time=ns,
                                 sequence=self._seq)

    def record(self, cs: Changeset) -> None:
        """A committed changeset (call after commit, before the next tick changes the scene)."""
        t = cs.time_ms
        if self._writer is None or t - self._segment_start >= self.segment_ms:
            self._open(t)
            self.prune(t)
        if t - self._last_keyframe >= self.keyframe_ms:
            # The keyframe is the state after this changeset: it stands in for the diff.
            self._put("/scene/keyframe", t, self.encoder.encode(self.scene.snapshot()))
            self._last_keyframe = t
        else:
            self._put("/scene/diff", t, self.encoder.encode(cs))
        self._maybe_sync()

    def record_alarm(self, t_ms: int, alarm: dict) -> None:
        if self._writer is None:
            self._open(t_ms)
        self._put("/alarms", t_ms, msgpack.packb(alarm, use_bin_type=True))

    def _maybe_sync(self) -> None:
        if time.monotonic() - self._last_sync >= self.fsync_every_s:
            self.sync()

    def sync(self) -> None:
        """Write the open chunk out and fsync: what is recorded so far survives a crash."""
        if self._writer is not None:
            self._writer.flush()                 # finishes the chunk in progress
            os.fsync(self._file.fileno())
        self._last_sync = time.monotonic()

    def prune(self, now_ms: int) -> int:
        gone = 0
        for path in sorted(self.folder.glob("minetwin-*.mcap")):
            if self._file is not None and path.name == Path(self._file.name).name:
                continue
            if _segment_time(path) < now_ms - self.retention_ms:
                path.unlink()
                gone += 1
                torn = path.with_name(path.name + ".torn")     # a crash's original bytes
                if torn.exists():
                    torn.unlink()
        return gone

    def close(self) -> None:
        self._close()


def _segment_time(path: Path) -> int:
    t = datetime.strptime(path.stem, "minetwin-%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
    return int(t.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class RecordedMessage:
    topic: str
    time_ms: int
    data: bytes


class Recording:
    """The segments in a folder, read back (a segment cut off by a crash: up to its last
    complete chunk)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.segments = sorted(self.folder.glob("minetwin-*.mcap"))
        self.truncated: list[str] = []
        self._cache: dict[Path, tuple[list[int], list[RecordedMessage], list[int]]] = {}

    def messages(self, segment: Path) -> Iterator[RecordedMessage]:
        """The segment's messages in file order (the recorder writes them in time order).
        Records are streamed, so a file cut off by a crash yields everything before the
        damage and is noted in ``truncated``."""
        with open(segment, "rb") as f:
            topics: dict[int, str] = {}
            records = StreamReader(f).records
            while True:
                try:
                    r = next(records)
                except StopIteration:
                    return
                except Exception:               # a crash cut the file: stop at the damage
                    self.truncated.append(segment.name)
                    return
                if isinstance(r, Channel):
                    topics[r.id] = r.topic
                elif isinstance(r, Message):
                    yield RecordedMessage(topics.get(r.channel_id, "?"), r.log_time // 1_000_000,
                                          r.data)

    def all_messages(self) -> Iterator[RecordedMessage]:
        for seg in self.segments:
            yield from self.messages(seg)

    def span(self) -> tuple[int, int] | None:
        times = [m.time_ms for m in self.all_messages() if m.topic != "/alarms"]
        return (min(times), max(times)) if times else None

    def index(self, seg: Path) -> tuple[list[int], list[RecordedMessage], list[int]]:
        """A segment's scene messages (times, messages, keyframe positions), read once."""
        if seg not in self._cache:
            msgs = [m for m in self.messages(seg) if m.topic != "/alarms"]
            self._cache[seg] = ([m.time_ms for m in msgs], msgs,
                                [i for i, m in enumerate(msgs) if m.topic == "/scene/keyframe"])
        return self._cache[seg]

    def state_at(self, t_ms: int) -> Replica:
        """The scene as it was at ``t_ms``: the newest keyframe at or before it, then diffs.
        The first call on a segment reads it into memory; later seeks only decode from the
        keyframe (at most ``keyframe_s`` of diffs)."""
        candidates = [s for s in self.segments if _segment_time(s) <= t_ms] or self.segments[:1]
        for seg in reversed(candidates):
            times, msgs, keys = self.index(seg)
            end = bisect.bisect_right(times, t_ms)
            k = bisect.bisect_right(keys, end - 1) - 1
            if k < 0:
                continue
            replica, dec = Replica(), WireDecoder()
            for m in msgs[keys[k]:end]:
                replica.apply(dec.decode(m.data))
            return replica
        raise LookupError(f"nothing recorded at or before {t_ms}")

    def alarms(self) -> list[tuple[int, dict]]:
        """(time, record) of every alarm change: the replay timeline's markers."""
        return [(m.time_ms, msgpack.unpackb(m.data, raw=False)) for m in self.all_messages()
                if m.topic == "/alarms"]
