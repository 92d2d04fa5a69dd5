"""The upload-file inbox: a folder the mine's monitoring and positioning systems write their
files into, scanned with the ingest rules real deployments use (REFERENCE.md §3).

For each ``*.txt`` file in the inbox, oldest (by the time in its name) first:

| situation | what happens |
| --- | --- |
| no ``||`` terminator | still being written: left alone; after ``incomplete_after_s`` without change it is quarantined (never silently lost) |
| a name that is not ``<mine>_<TYPE>_<time>.txt``, another mine's code | quarantined |
| the same bytes seen before | a duplicate: ingested once; the copy goes to ``processed/`` with a report saying so |
| a header time more than ``max_future_s`` ahead of now | rejected: quarantined |
| an envelope error, or too many bad records | rejected whole: quarantined with a report |
| otherwise | accepted with its bad records reported; observations older than what was already accepted for the same point/card/reader are dropped (an older file arriving late never overwrites newer state); the file goes to ``processed/`` |

Nothing is deleted: every file ends in ``processed/`` or ``quarantine/`` with a
``<name>.report.json`` beside it. What was seen (content hashes) and the newest time per key
live in ``<inbox>/.ingest.sqlite``, so a restart neither re-ingests nor lets old data win.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from twin import (FeedQueue, IncompleteFileError, Observation, UploadFormatError, open_sqlite,
                  parse_file_name)

from .upload_files import decode_upload

__all__ = ["UploadWatcher", "FileOutcome"]


@dataclass(frozen=True, slots=True)
class FileOutcome:
    file: str
    outcome: str                   # accepted, duplicate, quarantined, waiting
    reason: str = ""
    observations: int = 0
    bad_records: int = 0
    stale: int = 0
    problems: tuple[str, ...] = field(default=())


class UploadWatcher:
    def __init__(self, inbox: str | Path, queue: FeedQueue, *, mine_code: str,
                 tz: str = "Asia/Shanghai", max_future_s: float = 300.0,
                 incomplete_after_s: float = 600.0):
        self.inbox = Path(inbox)
        self.queue = queue
        self.mine_code = mine_code
        self.tz = tz
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
        self._latest = {(k, key): t for k, key, t in self.db.execute("SELECT * FROM latest")}
        self.counts: dict[str, int] = {}

    def scan(self, now_ms: int | None = None) -> list[FileOutcome]:
        """Process what is in the inbox now; returns one outcome per file looked at."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        files = []
        for p in self.inbox.glob("*.txt"):
            try:
                _, _, t = parse_file_name(p.name)
                files.append((t.isoformat(), p.name, p))
            except UploadFormatError:
                files.append(("", p.name, p))
        out = [self._one(p, now_ms) for _, _, p in sorted(files)]
        for o in out:
            self.counts[o.outcome] = self.counts.get(o.outcome, 0) + 1
        return out

    def _one(self, path: Path, now_ms: int) -> FileOutcome:
        name = path.name
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
        if first is not None:
            return self._move(path, self.processed,
                              FileOutcome(name, "duplicate", f"same content as {first[0]}"))
        try:
            decoded = decode_upload(data, name, tz=self.tz)
        except IncompleteFileError:
            age = time.time() - path.stat().st_mtime
            if age < self.incomplete_after_s:
                return FileOutcome(name, "waiting", "no '||' terminator yet")
            return self._quarantine(path, "incomplete",
                                    f"no '||' terminator after {age:.0f} s")
        except UploadFormatError as exc:
            return self._quarantine(path, "malformed", "; ".join(map(str, exc.problems)))
        header_ms = _local_ms(decoded.file.data_time, self.tz)
        if header_ms > now_ms + self.max_future_ms:
            return self._quarantine(path, "future", f"header time {decoded.file.data_time} is "
                                                    f"ahead of now")
        problems = tuple(map(str, decoded.problems))
        if decoded.rejected:
            return self._quarantine(path, "too many bad records",
                                    f"{len(problems)} of {len(decoded.file.records)} records "
                                    f"bad", problems)
        fresh, stale, latest = self._newer_only(decoded.observations)
        if len(self.queue) + len(fresh) > self.queue.maxsize:
            # A full queue: the file stays in the inbox and is tried again (nothing lost).
            return FileOutcome(name, "waiting", "the feed queue is full")
        self.queue.put_many(fresh)
        self._latest.update(latest)
        with self.db:
            self.db.execute("INSERT INTO seen VALUES (?,?,?)", (digest, name, now_ms))
            self.db.executemany("INSERT OR REPLACE INTO latest VALUES (?,?,?)",
                                [(k, key, t) for (k, key), t in latest.items()])
        return self._move(path, self.processed, FileOutcome(
            name, "accepted", "", len(fresh), len(problems), stale, problems))

    def _newer_only(self, observations) -> tuple[list[Observation], int, dict]:
        """The observations not older than what was accepted for their key, how many were,
        and the newest time per key they bring."""
        fresh, stale, latest = [], 0, {}
        for o in observations:
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
        self.db.close()


def _local_ms(t, tz: str) -> int:
    from zoneinfo import ZoneInfo
    return int(t.replace(tzinfo=ZoneInfo(tz)).timestamp() * 1000)
