"""Configuration: defaults, frozen values, and errors that name the key, the file and what
was expected."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from minetwin.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config


def write(tmp_path, text: str):
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_the_repository_config_loads_and_matches_the_defaults():
    config = load_config()
    assert config.source == str(DEFAULT_CONFIG_PATH)
    defaults = Config()
    for section in ("mine", "assets", "server", "tick", "scene", "wire", "sim", "feeds", "ingest", "rules", "alarms", "history", "recording", "gateway", "log"):
        assert getattr(config, section) == getattr(defaults, section)


def test_values_are_frozen(tmp_path):
    config = load_config(write(tmp_path, "[tick]\nrate_hz = 20\n"))
    assert config.tick.rate_hz == 20.0 and isinstance(config.tick.rate_hz, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.tick.rate_hz = 5  # type: ignore[misc]


@pytest.mark.parametrize("text, expected", [
    ("[server]\nprot = 1\n", "server.prot: unknown key (expected one of: host, port, tokens"),
    ("[sever]\n", "[sever]: unknown section"),
    ("[server]\nport = 70000\n", "server.port: expected a TCP port 0..65535, got 70000"),
    ("[server]\nport = \"8770\"\n", "server.port: expected a TCP port 0..65535, got '8770'"),
    ("[tick]\nrate_hz = true\n", "tick.rate_hz: expected ticks per second"),
    ("[wire]\ntransform_precision = \"float16\"\n",
     "wire.transform_precision: expected one of 'float32', 'float64'"),
    ("server = 1\n", "server: expected a table [server]"),
    ("[tick\n", "not valid TOML"),
])
def test_errors_name_the_key_the_file_and_what_was_expected(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_every_problem_is_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "[server]\nport = -1\nhost = 3\n[log]\nlevel = \"loud\"\n"))
    assert len(err.value.problems) == 3


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_cli_config_check(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "minetwin.cli", "config", "check"],
                        capture_output=True, text=True)
    assert ok.returncode == 0
    assert "[server]" in ok.stdout and 'host = "127.0.0.1"' in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "minetwin.cli", "config", "check",
                          str(write(tmp_path, "[server]\nbogus = 1\n"))],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "server.bogus: unknown key" in bad.stderr
