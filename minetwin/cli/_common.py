"""What the command groups share: the configuration read or exit 2, logging, running an
asyncio main until a signal."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from minetwin.config import ConfigError, load_config

__all__ = ["load_config_or_exit", "start_logging", "run_until_signal"]


def load_config_or_exit(path: str | None):
    try:
        return load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


def start_logging(config) -> None:
    logging.basicConfig(level=config.log.level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run_until_signal(run, seconds: float | None = None) -> None:
    """Run ``run(stop)`` until SIGINT/SIGTERM (or ``seconds``) sets ``stop``."""
    async def main_async() -> None:
        stop = asyncio.Event()
        aloop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            aloop.add_signal_handler(sig, stop.set)
        if seconds:
            aloop.call_later(seconds, stop.set)
        await run(stop)

    asyncio.run(main_async())
