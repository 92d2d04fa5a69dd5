"""Small helpers the tests share."""

from __future__ import annotations

import asyncio

import pytest


async def until(cond, what: str, timeout: float = 30.0) -> None:
    """Wait until ``cond()`` holds (polling); fail the test, naming ``what``, if it does not
    within ``timeout`` seconds. A bound for a hung test, not a timing assertion."""
    async def poll():
        while not cond():
            await asyncio.sleep(0.01)
    try:
        await asyncio.wait_for(poll(), timeout)
    except asyncio.TimeoutError:
        pytest.fail(f"gave up waiting for {what}")
