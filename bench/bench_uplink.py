"""Uplink benchmark (issue: provincial uplink): files per second exported from the demo
mine's live twin (each self-checked), and delivered to a local SFTP server (asyncssh, real
SSH on 127.0.0.1) and a local HTTPS endpoint (aiohttp, TLS); the time to drain a one-hour
backlog — real-time sets every 30 s (CDSS, FZSS, JZSS, RYSS) plus the definitions once:
485 files — after the destination comes back.

    .venv/bin/python bench/bench_uplink.py [--sets 120]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    import asyncssh

    from assets import AssetStore
    from live_bindings import DefaultBindings
    from twin.demo.generator import generate_demo
    from twin.minefolder import load_mine
    from uplink.outbox import HttpsDestination, Outbox, SftpDestination, drain
    from twin.scene_build import build_scene
    from twin.sim import Simulator
    from uplink.files import DEFINITIONS, REALTIME, build_files, write_checked
    from uplink.live import LiveRecords

    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", type=int, default=120, help="real-time sets (every 30 s)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    model = load_mine(generate_demo(tmp / "demo"))
    scene = build_scene(model, AssetStore(tmp / "store"))
    bindings = DefaultBindings(model, scene)
    scene.commit()
    sim = Simulator(model, seed=1, start=datetime(2026, 11, 2, 7, 45))   # the shift going down
    live = LiveRecords(model)
    out = tmp / "out"
    t_export = 0.0

    def export(when, types, since_ms=0):
        nonlocal t_export
        t = time.perf_counter()
        r = write_checked(build_files(model, scene, when, types=types, live=live,
                                      since_ms=since_ms), out, model, when)
        t_export += time.perf_counter() - t
        assert not r["held"], r["held"]
        return r["written"]
    t0 = time.perf_counter()
    files = export(datetime(2026, 11, 2, 7, 45), DEFINITIONS)
    for k in range(args.sets):
        obs = sim.advance(30.0)
        bindings.apply(obs)
        live.observe(obs)
        scene.commit()
        files += export(datetime(2026, 11, 2, 7, 45) + timedelta(seconds=30 * (k + 1)), REALTIME,
                        sim.now_ms - 30_000)
    t_total = time.perf_counter() - t0
    size = sum((out / f).stat().st_size for f in files)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = tmp / "remote"
    root.mkdir()
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    (tmp / "key").write_bytes(client_key.export_private_key())
    (tmp / "known_hosts").write_bytes(f"[127.0.0.1]:{port} ".encode() + host_key.export_public_key())

    class Sftp(asyncssh.SFTPServer):
        def __init__(self, chan):
            super().__init__(chan, chroot=str(root).encode())

    async def run():
        box = Outbox(tmp / "outbox.sqlite")
        for f in files:                    # the hour's files queued while the province was down
            box.enqueue("province", out / f)
            box.enqueue("city", out / f)
        server = await asyncssh.listen("127.0.0.1", port, server_host_keys=[host_key],
                                       authorized_client_keys=asyncssh.import_authorized_keys(
                                           client_key.export_public_key().decode()),
                                       sftp_factory=Sftp)
        dest = SftpDestination("127.0.0.1", port, "mine", str(tmp / "key"),
                               str(tmp / "known_hosts"), "/")
        t = time.perf_counter()
        r = await drain(box, "province", dest)
        took = time.perf_counter() - t
        server.close()
        await server.wait_closed()
        from tests.uplink.test_outbox import _Https      # the tests' HTTPS endpoint
        https = _Https(tmp)
        await https.start()
        os.environ["BENCH_TOKEN"] = "s3cret"
        t = time.perf_counter()
        r2 = await drain(box, "city", HttpsDestination(f"https://127.0.0.1:{https.port}/upload",
                                                       ca_file=str(tmp / "cert.pem"),
                                                       token="env:BENCH_TOKEN"))
        took2 = time.perf_counter() - t
        await https.stop()
        assert r2["error"] is None and len(https.stored) == len(files), r2
        return r, took, box.status()["province"], took2
    r, t_drain, status, t_https = asyncio.run(run())
    assert r["error"] is None and status["backlog"] == 0, (r, status)
    print(f"| export: {len(files)} files ({size / 1e6:.2f} MB), built from the live records "
          f"and self-checked | {t_export:.1f} s: **{len(files) / t_export:.0f} files/s** "
          f"({t_total:.1f} s with the simulated hour and the bindings) |")
    print(f"| drain a one-hour backlog ({len(files)} files) to a local SFTP server | "
          f"**{t_drain:.2f} s**: {len(files) / t_drain:.0f} files/s, {size / 1e6 / t_drain:.2f} MB/s |")
    print(f"| the same backlog to a local HTTPS endpoint (one POST per file, TLS) | "
          f"**{t_https:.2f} s**: {len(files) / t_https:.0f} files/s |")


if __name__ == "__main__":
    main()
