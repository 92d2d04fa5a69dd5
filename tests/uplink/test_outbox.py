"""The uplink's outbox against a real SFTP server on 127.0.0.1 (asyncssh, started here): a
destination that goes down mid-run receives every file exactly once, in order, after it
returns; the host key is pinned; the backlog and its age are reported."""

from __future__ import annotations

import asyncio
import socket

import asyncssh
import pytest

from uplink.outbox import DeliveryError, Outbox, SftpDestination, drain


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
    assert {k: v for k, v in status_down.items() if k != "head_error"} == {
        "backlog": 7, "delivered": 5, "failed_attempts": 1, "oldest_undelivered_s": 60.0}
    assert "Connect" in status_down["head_error"]                # what holds the queue up
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


# ---------------------------------------------------------------------- HTTPS

def _certificate(tmp):
    """A self-signed certificate for 127.0.0.1 (the test's private CA)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(
                ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return tmp / "cert.pem", tmp / "key.pem"


class _Https:
    """An HTTPS upload endpoint: stores each POSTed file by name (409 when it has it),
    checks the token and the digest."""

    def __init__(self, tmp, token="s3cret", form_field=None):
        import ssl

        from aiohttp import web
        self.port, self.stored, self.posts = _free_port(), {}, 0
        cert, key = _certificate(tmp)
        self.ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ssl.load_cert_chain(cert, key)
        server = self

        async def upload(request):
            import hashlib
            server.posts += 1
            if request.headers.get("Authorization") != f"Bearer {token}":
                return web.Response(status=401, text="bad token")
            name = request.headers["X-File-Name"]
            if form_field:
                data = (await request.post())[form_field].file.read()
            else:
                data = await request.read()
            if hashlib.sha256(data).hexdigest() != request.headers["X-Content-SHA256"]:
                return web.Response(status=400, text="digest mismatch")
            if name in server.stored:
                return web.Response(status=409, text="have it")
            server.stored[name] = data
            return web.Response(status=201, text="stored")
        self.app = web.Application()
        self.app.router.add_post("/upload", upload)
        self.runner = None

    async def start(self):
        from aiohttp import web
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port, ssl_context=self.ssl).start()

    async def stop(self):
        await self.runner.cleanup()


@pytest.mark.parametrize("form_field", [None, "file"])
def test_https_destination_down_mid_run_gets_every_file_once_in_order(tmp_path, monkeypatch,
                                                                      form_field):
    from uplink.outbox import HttpsDestination
    monkeypatch.setenv("PROVINCE_TOKEN", "s3cret")
    names = [f"520522000001_RYSS_2026110209{m:02d}00.txt" for m in range(12)]
    for i, n in enumerate(names):
        (tmp_path / n).write_bytes(f"record {i}~||".encode())

    async def main():
        srv = _Https(tmp_path, form_field=form_field)
        await srv.start()
        box = Outbox(tmp_path / "o.sqlite")
        dest = HttpsDestination(f"https://127.0.0.1:{srv.port}/upload",
                                ca_file=str(tmp_path / "cert.pem"), token="env:PROVINCE_TOKEN",
                                form_field=form_field, timeout_s=5)
        for n in names[:5]:
            box.enqueue("city", tmp_path / n, now_ms=1_000)
        first = await drain(box, "city", dest)
        await srv.stop()
        for n in names[5:]:
            box.enqueue("city", tmp_path / n, now_ms=2_000)
        down = await drain(box, "city", dest)
        await srv.start()
        later = await drain(box, "city", dest, now_ms=10**13)
        box.db.execute("UPDATE files SET delivered_ms=NULL WHERE name=?", (names[-1],))
        again = await drain(box, "city", dest, now_ms=10**13)   # a lost confirm: 409, no copy
        await srv.stop()
        return first, down, later, again, srv
    first, down, later, again, srv = asyncio.run(main())
    assert first == {"sent": 5, "error": None}
    assert down["sent"] == 0 and "Connect" in down["error"]
    assert later == {"sent": 7, "error": None} and again == {"sent": 1, "error": None}
    assert list(srv.stored) == names                                  # once each, in order
    assert all(srv.stored[n] == (tmp_path / n).read_bytes() for n in names)


def test_https_refuses_an_unknown_certificate_a_bad_token_and_plain_http(tmp_path, monkeypatch):
    from uplink.outbox import HttpsDestination
    (tmp_path / "a.txt").write_bytes(b"a~||")
    monkeypatch.setenv("BAD_TOKEN", "nope")

    async def main():
        srv = _Https(tmp_path)
        await srv.start()
        url = f"https://127.0.0.1:{srv.port}/upload"
        errors = []
        for dest in (HttpsDestination(url, timeout_s=5),                       # system CAs
                     HttpsDestination(url, ca_file=str(tmp_path / "cert.pem"),
                                      token="env:BAD_TOKEN", timeout_s=5)):
            with pytest.raises(DeliveryError) as exc:
                await dest.send([(1, "a.txt", str(tmp_path / "a.txt"))], lambda s: None)
            errors.append(str(exc.value))
        await srv.stop()
        return errors, srv
    errors, srv = asyncio.run(main())
    assert "CERTIFICATE_VERIFY_FAILED" in errors[0] and "HTTP 401" in errors[1]
    assert srv.stored == {} and srv.posts == 1
    with pytest.raises(ValueError, match="https:// only"):
        HttpsDestination("http://127.0.0.1:1/upload")


def test_destinations_from_a_file(tmp_path):
    from uplink.outbox import HttpsDestination, load_destinations
    p = tmp_path / "d.toml"
    p.write_text('[[destination]]\nname = "province"\nkind = "sftp"\nhost = "127.0.0.1"\n'
                 'port = 2222\nusername = "mine"\nclient_key = "/k"\nknown_hosts = "/kh"\n'
                 '[[destination]]\nname = "city"\nkind = "https"\n'
                 'url = "https://127.0.0.1:8443/up"\ntoken = "env:CITY"\n')
    d = load_destinations(p)
    assert isinstance(d["province"], SftpDestination) and d["province"].port == 2222
    assert isinstance(d["city"], HttpsDestination) and d["city"].token == "env:CITY"
    for text, msg in (('[[destination]]\nname = "x"\nkind = "ftp"\n', "kind"),
                      ('[[destination]]\nname = "x"\nkind = "https"\nurl = "https://a"\n'
                       'pasword = "p"\n', "unknown keys \\['pasword'\\]"),
                      ('[[destination]]\nname = "x"\nkind = "https"\nurl = "http://a"\n',
                       "https:// only"),
                      ('', "no \\[\\[destination")):
        p.write_text(text)
        with pytest.raises(ValueError, match=msg):
            load_destinations(p)
