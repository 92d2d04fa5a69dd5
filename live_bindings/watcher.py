"""The upload-file inbox: a folder the mine's monitoring and positioning systems write their
files into, scanned with the ingest rules real deployments use (REFERENCE.md §3).

Every entry in the inbox is looked at, oldest (by the time in its name) first, except hidden
ones (a name starting with ``.``: a file being written as ``.<name>.part`` and renamed when
done, and our own state) and the ``processed``/``quarantine`` folders:

| situation | what happens |
| --- | --- |
| not a regular file (a folder, a link, a pipe) | quarantined: not ours |
| a name that is not ``<mine>_<TYPE>_<time>.txt`` (any case), another mine's code | quarantined |
| no ``||`` terminator (looked for on the bytes) | still being written: left alone while it grows; after ``incomplete_after_s`` without change it is quarantined (never silently lost) |
| the same bytes seen before | a duplicate: ingested once; the copy goes to ``processed/`` with a report saying so |
| a header time more than ``max_future_s`` ahead of now | rejected: quarantined |
| an envelope error, or too many bad records | rejected whole: quarantined with a report |
| otherwise | accepted with its bad records reported, each with its record number and reason (a wrong field count is a bad record like a bad value; a record dated more than ``max_future_s`` ahead is one too); observations older than what was already accepted for the same point/card/reader are dropped (an older file arriving late never overwrites newer state — records such as a YCBJ abnormal or a TJSJ window are kept whenever they come); the file goes to ``processed/`` |
| reading or moving it fails (``OSError``) | counted as ``error`` and logged; tried again at the next scan, quarantined after three failures |

The scan is blocking file work: the twin runs it in a worker thread, never in the tick's event
loop. Nothing is deleted: every file ends in ``processed/`` or ``quarantine/`` with a
``<name>.report.json`` beside it. What was seen (content hashes) and the newest time per key
live in ``<inbox>/.ingest.sqlite``, so a restart neither re-ingests nor lets old data win (a
newest time beyond ``max_future_s`` — written before records were checked for it — is
forgotten at start).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from twin import (FeedQueue, IncompleteFileError, Observation, UploadFormatError, open_sqlite,
                  parse_file_name)

from .upload_files import IngestDialect, decode_upload

__all__ = ["UploadWatcher", "FileOutcome"]

log = logging.getLogger("minetwin.inbox")
#: Scans in a row that may fail on one file before it is quarantined.
_MAX_ERRORS = 3
#: Observation kinds that are records, not states: no "older never overwrites newer" for them.
_RECORDS = frozenset({"report", "statistic"})


@dataclass(frozen=True, slots=True)
class FileOutcome:
    file: str
    outcome: str                   # accepted, duplicate, quarantined, waiting, error
    reason: str = ""
    observations: int = 0
    bad_records: int = 0
    stale: int = 0
    problems: tuple[str, ...] = field(default=())


class UploadWatcher:
    def __init__(self, inbox: str | Path, queue: FeedQueue, *, mine_code: str,
                 tz: str = "Asia/Shanghai", max_future_s: float = 300.0,
                 incomplete_after_s: float = 600.0, clock: Callable[[], int] | None = None,
                 wait_for_tick: bool = False, dialect: IngestDialect | None = None):
        self.inbox = Path(inbox)
        self.queue = queue
        self.mine_code = mine_code
        self.tz = tz
        self.dialect = dialect
        self.max_future_ms = int(max_future_s * 1000)
        self.incomplete_after_s = incomplete_after_s
        self.processed = self.inbox / "processed"
        self.quarantine = self.inbox / "quarantine"
        for d in (self.inbox, self.processed, self.quarantine):
            d.mkdir(parents=True, exist_ok=True)
        self.db = open_sqlite(
            self.inbox / ".ingest.sqlite",
            "CREATE TABLE IF NOT EXISTS seen (sha256 TEXT PRIMARY KEY, name TEXT, at_ms INTEGER);"
            "CREATE TABLE IF NOT EXISTS latest (kind TEXT, key TEXT, time_ms INTEGER,"
            " PRIMARY KEY (kind, key));")
        self._clock = clock or (lambda: int(time.time() * 1000))
        horizon = self._clock() + self.max_future_ms
        self._latest = {(k, key): t for k, key, t in self.db.execute("SELECT * FROM latest")
                        if t <= horizon}
        self.counts: dict[str, int] = {}
        self._errors: dict[str, int] = {}
        #: None: a file is finished as soon as it is queued (no tick to wait for: tests, tools).
        #: The twin sets it to 0 and reports what its tick has processed (``mark_processed``).
        self.processed_upto: int | None = None if not wait_for_tick else 0
        self._pending: dict[str, tuple] = {}    # accepted, waiting for the tick to process

    def scan(self, now_ms: int | None = None) -> list[FileOutcome]:
        """Process what is in the inbox now; returns one outcome per entry looked at. No
        entry, whatever it is, stops the scan of the others."""
        now_ms = self._clock() if now_ms is None else now_ms
        try:
            self._finish()
        except Exception as exc:            # noqa: BLE001 — retried at the next scan
            log.error("inbox: finishing processed files failed: %s", exc)
        try:
            entries = [e for e in os.scandir(self.inbox) if not e.name.startswith(".")
                       and e.name not in ("processed", "quarantine")
                       and e.name not in self._pending]
        except OSError as exc:
            log.error("cannot list the inbox %s: %s", self.inbox, exc)
            return [self._count(FileOutcome(str(self.inbox), "error", str(exc)))]
        files = []
        for e in entries:
            try:
                _, _, t = parse_file_name(e.name)
                files.append((t.isoformat(), e.name, e))
            except UploadFormatError:
                files.append(("", e.name, e))
        return [self._count(self._guarded(e, now_ms)) for _, _, e in sorted(
            files, key=lambda f: (f[0], f[1]))]

    def _count(self, o: FileOutcome) -> FileOutcome:
        self.counts[o.outcome] = self.counts.get(o.outcome, 0) + 1
        if o.bad_records:
            self.counts["bad records"] = self.counts.get("bad records", 0) + o.bad_records
        return o

    def _guarded(self, entry: os.DirEntry, now_ms: int) -> FileOutcome:
        path = Path(entry.path)
        try:
            out = self._one(path, entry, now_ms)
            self._errors.pop(entry.name, None)
            return out
        except Exception as exc:           # noqa: BLE001 — one entry never stops the scan
            n = self._errors[entry.name] = self._errors.get(entry.name, 0) + 1
            log.error("inbox: %s failed (%d of %d): %s: %s", entry.name, n, _MAX_ERRORS,
                      type(exc).__name__, exc)
            if n >= _MAX_ERRORS:
                try:
                    self._errors.pop(entry.name, None)
                    return self._quarantine(path, "unreadable", f"{type(exc).__name__}: {exc}")
                except Exception as exc2:   # noqa: BLE001
                    log.error("inbox: cannot quarantine %s: %s", entry.name, exc2)
            return FileOutcome(entry.name, "error", f"{type(exc).__name__}: {exc}")

    def _one(self, path: Path, entry: os.DirEntry, now_ms: int) -> FileOutcome:
        name = path.name
        st = entry.stat(follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode):
            what = "a folder" if stat.S_ISDIR(st.st_mode) else \
                "a link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
            return self._quarantine(path, "not a file", f"{what}, not an upload file")
        try:
            mine, _, _ = parse_file_name(name)
        except UploadFormatError as exc:
            return self._quarantine(path, "bad file name", exc.problems[0].message)
        if mine != self.mine_code:
            return self._quarantine(path, "another mine", f"mine code {mine}, this mine is "
                                                          f"{self.mine_code}")
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        first = self.db.execute("SELECT name FROM seen WHERE sha256=?", (digest,)).fetchone()
        if first is None:
            first = next(((n,) for n, p in self._pending.items() if p[1] == digest), None)
        if first is not None:
            return self._move(path, self.processed,
                              FileOutcome(name, "duplicate", f"same content as {first[0]}"))
        try:
            decoded = decode_upload(data, name, tz=self.tz, dialect=self.dialect)
        except IncompleteFileError:
            age = time.time() - st.st_mtime
            if age < self.incomplete_after_s:
                return FileOutcome(name, "waiting", "no '||' terminator yet")
            return self._quarantine(path, "incomplete",
                                    f"no '||' terminator after {age:.0f} s")
        except UploadFormatError as exc:
            return self._quarantine(path, "malformed", "; ".join(map(str, exc.problems)),
                                    tuple(map(str, exc.problems)))
        header_ms = _local_ms(decoded.file.data_time, self.tz)
        if header_ms > now_ms + self.max_future_ms:
            return self._quarantine(path, "future", f"header time {decoded.file.data_time} is "
                                                    f"ahead of now")
        decoded = decoded.without_future(now_ms + self.max_future_ms)
        problems = tuple(map(str, decoded.problems))
        if decoded.rejected:
            return self._quarantine(path, "too many bad records",
                                    f"{len(problems)} of {decoded.file.record_count} records "
                                    f"bad", problems)
        fresh, stale, latest = self._newer_only(decoded.observations)
        if len(self.queue) + len(fresh) > self.queue.maxsize:
            # A full queue: the file stays in the inbox and is tried again (nothing lost).
            return FileOutcome(name, "waiting", "the feed queue is full")
        _, end = self.queue.put_many_at(fresh)
        self._latest.update(latest)
        outcome = FileOutcome(name, "accepted", "", len(fresh), len(problems), stale, problems)
        self._pending[name] = (end, digest, now_ms, latest, path, outcome)
        self._finish()
        return outcome

    def mark_processed(self, upto: int) -> None:
        """The tick has processed every queued observation before position ``upto`` (called
        from the tick's thread; the next scan, in the watcher's, finishes those files)."""
        self.processed_upto = upto

    def _finish(self) -> None:
        """Files whose observations the tick has processed: recorded as seen and moved to
        ``processed/``. Until then a file stays in the inbox, so a twin killed meanwhile
        ingests it again at its next start (at least once: nothing accepted is lost)."""
        upto = self.processed_upto
        for name, (end, digest, now_ms, latest, path, outcome) in list(self._pending.items()):
            if upto is not None and end > upto:
                continue
            with self.db:
                self.db.execute("INSERT OR IGNORE INTO seen VALUES (?,?,?)", (digest, name, now_ms))
                self.db.executemany("INSERT OR REPLACE INTO latest VALUES (?,?,?)",
                                    [(k, key, t) for (k, key), t in latest.items()])
            self._move(path, self.processed, outcome)
            del self._pending[name]

    def _newer_only(self, observations) -> tuple[list[Observation], int, dict]:
        """The observations not older than what was accepted for their key, how many were,
        and the newest time per key they bring. A state is kept only when newer; a record (a
        reported abnormal, a statistic window) is news whenever it comes."""
        fresh, stale, latest = [], 0, {}
        for o in observations:
            if o.kind in _RECORDS:
                fresh.append(o)
                continue
            key = (o.kind, o.key)
            if o.time_ms < max(self._latest.get(key, -1), latest.get(key, -1)):
                stale += 1
                continue
            latest[key] = o.time_ms
            fresh.append(o)
        return fresh, stale, latest

    def _quarantine(self, path: Path, reason: str, detail: str,
                    problems: tuple[str, ...] = ()) -> FileOutcome:
        return self._move(path, self.quarantine, FileOutcome(
            path.name, "quarantined", f"{reason}: {detail}", 0, len(problems), 0, problems))

    def _move(self, path: Path, folder: Path, outcome: FileOutcome) -> FileOutcome:
        target = folder / path.name
        n = 1
        while target.exists():                        # never overwrite an earlier file
            n += 1
            target = folder / f"{path.stem}.{n}{path.suffix}"
        shutil.move(str(path), target)
        report = {k: getattr(outcome, k) for k in outcome.__slots__}
        report["problems"] = list(outcome.problems)
        tmp = target.with_name(target.name + ".report.json.tmp")
        tmp.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, target.with_name(target.name + ".report.json"))
        return outcome

    def close(self) -> None:
        try:
            self._finish()
        finally:
            self.db.close()


def _local_ms(t, tz: str) -> int:
    from zoneinfo import ZoneInfo
    return int(t.replace(tzinfo=ZoneInfo(tz)).timestamp() * 1000)
