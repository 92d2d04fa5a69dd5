"""The uplink's durable outbox: every file to send is queued in SQLite before anything
leaves, delivered to its destination in the order it was queued, confirmed per file, retried
with backoff after a failure, and never delivered twice (a file's name is its identity at the
destination, and an upload lands under a temporary name that is renamed only when complete —
so a file already there is confirmed, not sent again). docs/uplink.md.

Destinations: SFTP (asyncssh) with the server's host key pinned, and HTTPS POST (aiohttp)
with the server's certificate checked against a CA file (and our client certificate where the
platform asks for mutual TLS). Keys, tokens and passwords come from files or the environment.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from twin import open_sqlite

__all__ = ["Outbox", "SftpDestination", "HttpsDestination", "DeliveryError", "drain",
           "load_destinations"]

BACKOFF_S = (1, 2, 5, 10, 30, 60, 120, 300)


class DeliveryError(Exception):
    """A destination could not take a file now (it stays queued)."""


class Outbox:
    def __init__(self, path: str | Path):
        self.db = open_sqlite(path, """CREATE TABLE IF NOT EXISTS files (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, destination TEXT NOT NULL,
            name TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL,
            sha256 TEXT NOT NULL, queued_ms INTEGER NOT NULL, attempts INTEGER DEFAULT 0,
            next_try_ms INTEGER DEFAULT 0, last_error TEXT, delivered_ms INTEGER,
            UNIQUE (destination, name))""")

    def enqueue(self, destination: str, path: str | Path, now_ms: int | None = None) -> bool:
        """Queue a file (idempotent: the same name for the same destination once)."""
        p = Path(path)
        data = p.read_bytes()
        cur = self.db.execute(
            "INSERT OR IGNORE INTO files (destination, name, path, size, sha256, queued_ms) "
            "VALUES (?, ?, ?, ?, ?, ?)", (destination, p.name, str(p), len(data),
                                         hashlib.sha256(data).hexdigest(),
                                         now_ms if now_ms is not None else _now_ms()))
        self.db.commit()
        return cur.rowcount == 1

    def pending(self, destination: str) -> list[tuple[int, str, str, int, int]]:
        """(seq, name, path, size, next_try_ms) of undelivered files, in queue order."""
        return list(self.db.execute(
            "SELECT seq, name, path, size, next_try_ms FROM files WHERE destination=? AND "
            "delivered_ms IS NULL ORDER BY seq", (destination,)))

    def delivered(self, seq: int, now_ms: int) -> None:
        self.db.execute("UPDATE files SET delivered_ms=?, last_error=NULL WHERE seq=?",
                        (now_ms, seq))
        self.db.commit()

    def failed(self, seq: int, error: str, now_ms: int) -> None:
        (attempts,) = self.db.execute("SELECT attempts FROM files WHERE seq=?", (seq,)).fetchone()
        wait = BACKOFF_S[min(attempts, len(BACKOFF_S) - 1)]
        self.db.execute("UPDATE files SET attempts=attempts+1, last_error=?, next_try_ms=? "
                        "WHERE seq=?", (error[:500], now_ms + wait * 1000, seq))
        self.db.commit()

    def status(self, now_ms: int | None = None) -> dict:
        """Per destination: backlog, the oldest undelivered file's age, delivered, failures."""
        now = now_ms if now_ms is not None else _now_ms()
        out = {}
        for dest, backlog, oldest, done, fails in self.db.execute(
                "SELECT destination, SUM(delivered_ms IS NULL), "
                "MIN(CASE WHEN delivered_ms IS NULL THEN queued_ms END), "
                "SUM(delivered_ms IS NOT NULL), SUM(attempts) FROM files GROUP BY destination"):
            head = self.db.execute(
                "SELECT last_error FROM files WHERE destination=? AND delivered_ms IS NULL "
                "ORDER BY seq LIMIT 1", (dest,)).fetchone()
            out[dest] = {"backlog": int(backlog or 0), "delivered": int(done or 0),
                         "failed_attempts": int(fails or 0),
                         "oldest_undelivered_s": round((now - oldest) / 1000, 1)
                         if oldest is not None else None,
                         "head_error": head[0] if head else None}
        return out

    def prune(self, before_ms: int) -> list[str]:
        """Forget the files delivered to every destination before ``before_ms``; returns
        their local paths (for the caller to remove)."""
        paths = [p for (p,) in self.db.execute(
            "SELECT path FROM files GROUP BY path HAVING SUM(delivered_ms IS NULL) = 0 "
            "AND MAX(delivered_ms) < ?", (before_ms,))]
        self.db.executemany("DELETE FROM files WHERE path=?", [(p,) for p in paths])
        self.db.commit()
        return paths

    def close(self) -> None:
        self.db.close()


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class SftpDestination:
    """An SFTP server: its host key pinned (``known_hosts``), our key from a file — never a
    password in the repository."""
    host: str
    port: int
    username: str
    client_key: str                 # path of our private key
    known_hosts: str                # path of a known_hosts file with the server's key
    remote_dir: str = "."
    connect_timeout_s: float = 10.0

    async def send(self, files: list[tuple[int, str, str]], confirm) -> None:
        """Upload ``files`` (seq, name, local path) in order over one connection, calling
        ``confirm(seq)`` after each is in place; raises DeliveryError on the first failure."""
        import asyncssh
        try:
            async with asyncssh.connect(self.host, self.port, username=self.username,
                                        client_keys=[self.client_key],
                                        known_hosts=self.known_hosts,
                                        connect_timeout=self.connect_timeout_s) as conn:
                async with conn.start_sftp_client() as sftp:
                    for seq, name, path in files:
                        final = str(PurePosixPath(self.remote_dir) / name)
                        if await sftp.exists(final):       # delivered before the confirm
                            confirm(seq)                    # was recorded: not again
                            continue
                        part = str(PurePosixPath(self.remote_dir) / f".{name}.part")
                        await sftp.put(path, part)
                        await sftp.rename(part, final)
                        confirm(seq)
        except (OSError, asyncssh.Error) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None


@dataclass
class HttpsDestination:
    """An HTTPS endpoint taking one file per POST: the body is the file (or, with
    ``form_field``, a multipart form with the file under that name), ``X-File-Name`` its name,
    ``X-Content-SHA256`` its digest, ``Authorization: Bearer`` the token when one is set.
    2xx means stored; 409 means it was stored before (confirmed, not sent again); anything
    else is a failure and the file is retried. Only ``https://`` URLs; the server's
    certificate is verified (``ca_file`` for a private CA)."""
    url: str
    ca_file: str | None = None
    token: str | None = None               # env:NAME or file:PATH
    client_cert: str | None = None         # PEM with our certificate (mutual TLS)
    client_key: str | None = None
    form_field: str | None = None
    timeout_s: float = 30.0

    def __post_init__(self):
        if not self.url.startswith("https://"):
            raise ValueError(f"{self.url!r}: an uplink destination is https:// only")

    def _ssl(self):
        import ssl
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if self.client_cert:
            ctx.load_cert_chain(self.client_cert, self.client_key)
        return ctx

    async def send(self, files: list[tuple[int, str, str]], confirm) -> None:
        import aiohttp
        from uplink.security import SecurityError, read_secret
        headers = {}
        try:
            if self.token:
                token = read_secret(self.token).decode().strip()
                headers["Authorization"] = f"Bearer {token}"
            ssl_ctx = self._ssl()
        except (SecurityError, OSError, UnicodeDecodeError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            async with aiohttp.ClientSession(timeout=timeout, headers=headers) as http:
                for seq, name, path in files:
                    data = Path(path).read_bytes()
                    hdr = {"X-File-Name": name,
                           "X-Content-SHA256": hashlib.sha256(data).hexdigest()}
                    if self.form_field:
                        body = aiohttp.FormData()
                        body.add_field(self.form_field, data, filename=name,
                                       content_type="application/octet-stream")
                    else:
                        body, hdr["Content-Type"] = data, "application/octet-stream"
                    async with http.post(self.url, data=body, headers=hdr, ssl=ssl_ctx) as r:
                        text = (await r.text())[:200]
                        if not (200 <= r.status < 300 or r.status == 409):
                            raise DeliveryError(f"HTTP {r.status} for {name}: {text}")
                    confirm(seq)
        except aiohttp.ClientConnectorError as exc:   # (its text names an SSL context object)
            raise DeliveryError(f"ClientConnectorError: cannot connect to {exc.host}:{exc.port}: "
                                f"{exc.os_error}") from None
        except (OSError, aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None


def load_destinations(path: str | Path) -> dict:
    """Destinations from a TOML file of ``[[destination]]`` tables, each with ``name``,
    ``kind`` ("sftp" | "https") and that kind's fields (docs/uplink.md). Bad entries are
    named; nothing secret is read here (keys stay paths or env: references)."""
    from dataclasses import fields as dc_fields

    from twin import check_keys, read_toml
    doc = read_toml(path, ValueError)
    check_keys(doc, ("destination",), str(path), ValueError)
    kinds = {"sftp": SftpDestination, "https": HttpsDestination}
    out = {}
    for i, d in enumerate(doc.get("destination", []), start=1):
        d = dict(d)
        name, kind = d.pop("name", None), d.pop("kind", None)
        where = f"{path}: destination {i}"
        if not name or kind not in kinds:
            raise ValueError(f"{where}: needs a name and kind = \"sftp\" or \"https\"")
        if name in out:
            raise ValueError(f"{where}: the name {name!r} is used twice")
        known = {f.name for f in dc_fields(kinds[kind])}
        bad = sorted(set(d) - known)
        if bad:
            raise ValueError(f"{where} ({name}): unknown keys {bad} (a {kind} destination "
                             f"has {sorted(known)})")
        try:
            out[name] = kinds[kind](**d)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where} ({name}): {exc}") from None
    if not out:
        raise ValueError(f"{path}: no [[destination]]")
    return out


async def drain(outbox: Outbox, name: str, destination, now_ms: int | None = None) -> dict:
    """Send what is due for ``name``, oldest first, stopping at the first failure (order is
    kept: nothing newer overtakes a file that could not go). Returns {"sent", "error"}."""
    now = now_ms if now_ms is not None else _now_ms()
    pending = outbox.pending(name)
    if not pending or pending[0][4] > now:            # nothing, or the head still backing off
        return {"sent": 0, "error": None}
    due = [(seq, n, p) for seq, n, p, _, _ in pending]
    sent = []

    def confirm(seq):
        outbox.delivered(seq, _now_ms())
        sent.append(seq)
    try:
        await destination.send(due, confirm)
    except DeliveryError as exc:
        done = set(sent)
        left = [seq for seq, *_ in due if seq not in done]
        if left:
            outbox.failed(left[0], str(exc), _now_ms())
        return {"sent": len(sent), "error": str(exc)}
    return {"sent": len(sent), "error": None}
