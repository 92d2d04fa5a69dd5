"""Small helpers the tests share."""

from __future__ import annotations

import asyncio

import pytest


async def until(cond, what: str, timeout: float = 120.0) -> None:
    """Wait until ``cond()`` holds (polling); fail the test, naming ``what``, if it does not
    within ``timeout`` seconds. A bound for a hung test, not a timing assertion."""
    async def poll():
        while not cond():
            await asyncio.sleep(0.01)
    try:
        await asyncio.wait_for(poll(), timeout)
    except asyncio.TimeoutError:
        pytest.fail(f"gave up waiting for {what}")


def app_config(demo_dir, tmp_path, **sections):
    """A configuration for a TwinApp on the demo mine whose files all live in ``tmp_path``
    (the geology and the recording off unless a section turns them on); ``sections`` are
    merged over it, section by section."""
    from minetwin.config import parse_config
    base = {"mine": {"path": str(demo_dir)}, "assets": {"path": str(tmp_path / "assets")},
            "alarms": {"db": str(tmp_path / "alarms.sqlite")},
            "dangers": {"db": str(tmp_path / "dangers.sqlite"),
                        "files": str(tmp_path / "danger-files")},
            "history": {"db": str(tmp_path / "history.sqlite")},
            "recording": {"enabled": False}, "geology": {"enabled": False},
            "server": {"audit_log": str(tmp_path / "audit.jsonl")},
            "snapshots": {"folder": str(tmp_path / "snapshots")}}
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return parse_config(base, tmp_path / "c.toml")


async def start_app(app, stop: asyncio.Event):
    """Run a TwinApp until ``stop``; returns (its task, its ws:// URL) once it listens."""
    task = asyncio.create_task(app.run(stop))
    while app.server is None or app.server.port == 0:
        if task.done():
            task.result()                 # (raises what stopped it)
        await asyncio.sleep(0.01)
    return task, f"ws://127.0.0.1:{app.server.port}"


async def run_with_client(app, token: str, body):
    """Run a TwinApp and a streaming client of it (``token``), ``await body(client, url)``,
    then stop both; returns what ``body`` returned."""
    from streaming.client import StreamClient
    stop = asyncio.Event()
    run, url = await start_app(app, stop)
    client = StreamClient(url, token)
    cstop = asyncio.Event()
    ctask = asyncio.create_task(client.run(cstop))
    try:
        return await body(client, url)
    finally:
        cstop.set()
        stop.set()
        await asyncio.gather(run, ctask, return_exceptions=True)
