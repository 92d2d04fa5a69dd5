"""Shared test set-up: deterministic hypothesis, and real components that are required
under CI=true (a missing one fails there, and is skipped with the reason elsewhere)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "minetwin", derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("minetwin")

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(missing: str | None, what: str) -> None:
    """Fail under CI=true, skip elsewhere, when a real component is missing."""
    if missing is None:
        return
    message = f"{what} is not available: {missing}"
    if IN_CI:
        pytest.fail(message + " (CI=true: required)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def gltf_validator():
    """The Khronos glTF validator: a function from paths to reports."""
    from assets import validate_files, validator_available
    require(validator_available(), "the Khronos glTF validator")
    return validate_files


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    """The demo mine (seed 7), generated once per test session."""
    from twin.demo.generator import generate_demo
    return generate_demo(tmp_path_factory.mktemp("demo") / "mine", 7)


@pytest.fixture(scope="session")
def demo_model(demo_dir):
    from twin.minefolder import load_mine
    return load_mine(demo_dir)


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc, what: str, timeout_s: float = 60.0) -> None:
    import socket
    import time
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with status {proc.returncode} on start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"{what} did not listen on 127.0.0.1:{port} within {timeout_s} s")


def _executable(name: str, *fallbacks: str) -> str | None:
    import shutil
    found = shutil.which(name)
    if found:
        return found
    return next((f for f in fallbacks if os.path.exists(f)), None)


class _Server:
    """A real server process on a free loopback port, stopped and started again at will."""

    def __init__(self, argv_for_port, what: str):
        self.port = _free_port()
        self._argv_for_port = argv_for_port
        self.what = what
        self.proc = None

    def start(self) -> None:
        import subprocess
        self.proc = subprocess.Popen(self._argv_for_port(self.port), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        _wait_for_port(self.port, self.proc, self.what)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def redis_server(tmp_path):
    """A real Redis on a free port (no persistence); yields the _Server (``.port``)."""
    exe = _executable("redis-server", "/usr/bin/redis-server")
    require(None if exe else "redis-server is not installed (apt-get install redis-server)",
            "Redis")
    server = _Server(lambda port: [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no", "--dir", str(tmp_path)], "redis-server")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mqtt_broker(tmp_path):
    """A real Mosquitto broker on a free port, configured as docs/feeds.md asks (sessions and
    their queued messages kept across its restarts); yields the _Server (``.port``)."""
    exe = _executable("mosquitto", "/usr/sbin/mosquitto")
    require(None if exe else "mosquitto is not installed (apt-get install mosquitto)",
            "the Mosquitto MQTT broker")
    conf = tmp_path / "mosquitto.conf"
    store = tmp_path / "mosquitto-data"
    store.mkdir()

    import pwd
    me = pwd.getpwuid(os.geteuid()).pw_name      # as root, it would drop to "mosquitto" and
                                                 # could not write its store in our folder

    def argv(port: int) -> list[str]:
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nuser {me}\n"
                        f"persistence true\npersistence_location {store}/\n"
                        f"max_queued_messages 1000000\nmax_inflight_messages 10000\n")
        return [exe, "-c", str(conf)]
    server = _Server(argv, "mosquitto")
    server.start()
    yield server
    server.stop()
