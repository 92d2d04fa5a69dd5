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
    from twin.demo import generate_demo
    return generate_demo(tmp_path_factory.mktemp("demo") / "mine", 7)


@pytest.fixture(scope="session")
def demo_model(demo_dir):
    from twin.minefolder import load_mine
    return load_mine(demo_dir)
