"""The uplink's outbox against a real SFTP server on 127.0.0.1 (asyncssh, started here): a
destination that goes down mid-run receives every file exactly once, in order, after it
returns; the host key is pinned; the backlog and its age are reported."""

from __future__ import annotations

import asyncio
import socket

import asyncssh
import pytest

from twin.outbox import DeliveryError, Outbox, SftpDestination, drain


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """An SFTP server rooted in a folder that counts the renames that complete a file."""

    def __init__(self, root, tmp):
        self.root, self.port = root, _free_port()
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        (tmp / "client_key").write_bytes(self.client_key.export_private_key())
        (tmp / "known_hosts").write_bytes(
            f"[127.0.0.1]:{self.port} ".encode() + self.host_key.export_public_key())
        self.authorized = asyncssh.import_authorized_keys(
            self.client_key.export_public_key().decode())
        self.completed: list[str] = []
        self.listener = None
        server = self

        class Sftp(asyncssh.SFTPServer):
            def __init__(self, chan):
                super().__init__(chan, chroot=str(root).encode())

            def rename(self, oldpath, newpath):
                super().rename(oldpath, newpath)
                server.completed.append(newpath.decode().rsplit("/", 1)[-1])
        self.factory = Sftp

    async def start(self):
        self.listener = await asyncssh.listen(
            "127.0.0.1", self.port, server_host_keys=[self.host_key],
            authorized_client_keys=self.authorized, sftp_factory=self.factory)

    async def stop(self):
        self.listener.close()
        await self.listener.wait_closed()


def test_a_destination_down_mid_run_gets_every_file_once_in_order(tmp_path):
    root = tmp_path / "remote"
    root.mkdir()
    files = tmp_path / "files"
    files.mkdir()
    names = [f"520522000001_CDSS_2026110209{m:02d}00.txt" for m in range(12)]
    for i, n in enumerate(names):
        (files / n).write_bytes(f"record {i}~||".encode())

    async def main():
        srv = _Server(root, tmp_path)
        await srv.start()
        box = Outbox(tmp_path / "outbox.sqlite")
        dest = SftpDestination("127.0.0.1", srv.port, "mine", str(tmp_path / "client_key"),
                               str(tmp_path / "known_hosts"), "/", connect_timeout_s=3)
        for n in names[:5]:
            assert box.enqueue("province", files / n, now_ms=1_000)
        assert not box.enqueue("province", files / names[0])          # queued once
        first = await drain(box, "province", dest)
        await srv.stop()                                               # the province goes down
        for n in names[5:]:
            box.enqueue("province", files / n, now_ms=2_000)
        down = await drain(box, "province", dest)
        status_down = box.status(now_ms=62_000)["province"]
        # back up; the retry waits for its backoff, then the backlog drains in order
        await srv.start()
        early = await drain(box, "province", dest, now_ms=0)
        later = await drain(box, "province", dest, now_ms=10**13)
        again = await drain(box, "province", dest, now_ms=10**13)
        await srv.stop()
        return box, first, down, status_down, early, later, again, srv

    box, first, down, status_down, early, later, again, srv = asyncio.run(main())
    assert first == {"sent": 5, "error": None}
    assert down["sent"] == 0 and down["error"]
    assert status_down == {"backlog": 7, "delivered": 5, "failed_attempts": 1,
                           "oldest_undelivered_s": 60.0}
    assert early == {"sent": 0, "error": None}                # still backing off
    assert later == {"sent": 7, "error": None} and again == {"sent": 0, "error": None}
    assert srv.completed == names                              # each once, in queue order
    assert sorted(p.name for p in root.iterdir()) == names     # no .part left behind
    assert all((root / n).read_bytes() == (tmp_path / "files" / n).read_bytes() for n in names)
    assert box.status()["province"]["backlog"] == 0


def test_a_file_already_at_the_destination_is_confirmed_not_sent_again(tmp_path):
    root = tmp_path / "remote"
    root.mkdir()
    (tmp_path / "a.txt").write_bytes(b"a~||")
    (root / "a.txt").write_bytes(b"a~||")          # delivered, but the confirm was lost

    async def main():
        srv = _Server(root, tmp_path)
        await srv.start()
        box = Outbox(tmp_path / "o.sqlite")
        box.enqueue("p", tmp_path / "a.txt")
        r = await drain(box, "p", SftpDestination("127.0.0.1", srv.port, "mine",
                                                  str(tmp_path / "client_key"),
                                                  str(tmp_path / "known_hosts"), "/"))
        await srv.stop()
        return r, srv.completed, box.status()["p"]
    r, completed, status = asyncio.run(main())
    assert r == {"sent": 1, "error": None} and completed == [] and status["backlog"] == 0


def test_an_unknown_host_key_is_refused(tmp_path):
    root = tmp_path / "remote"
    root.mkdir()
    (tmp_path / "a.txt").write_bytes(b"a~||")

    async def main():
        srv = _Server(root, tmp_path)
        other = asyncssh.generate_private_key("ssh-ed25519")
        (tmp_path / "known_hosts").write_bytes(
            f"[127.0.0.1]:{srv.port} ".encode() + other.export_public_key())
        await srv.start()
        dest = SftpDestination("127.0.0.1", srv.port, "mine", str(tmp_path / "client_key"),
                               str(tmp_path / "known_hosts"), "/")
        try:
            with pytest.raises(DeliveryError):
                await dest.send([(1, "a.txt", str(tmp_path / "a.txt"))], lambda s: None)
        finally:
            await srv.stop()
        return list(root.iterdir())
    assert asyncio.run(main()) == []
