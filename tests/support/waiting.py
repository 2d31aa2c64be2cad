"""Waiting for a condition: in plain code, under Textual's Pilot, and for a file to be written.

Needs nothing beyond the standard library, so the benchmarks may use it too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Pausing(Protocol):
    """What :func:`wait_until_async` needs of a Pilot."""

    async def pause(self, delay: float | None = None) -> None: ...


def _timed_out(what: str | None, condition: Callable[[], Any], timeout: float, last: Any) -> str:
    return f"timed out after {timeout:g}s waiting for {what or condition}; last value: {last!r}"


def wait_until(
    condition: Callable[[], T],
    timeout: float = 5.0,
    interval: float = 0.02,
    what: str | None = None,
) -> T:
    """Call ``condition`` every ``interval`` seconds until it returns something true; return
    that. After ``timeout`` seconds, raise AssertionError naming ``what`` and the last value."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(_timed_out(what, condition, timeout, value))
        time.sleep(interval)
    return value


async def wait_until_async(
    pilot: Pausing | None,
    condition: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.02,
    what: str | None = None,
) -> T:
    """:func:`wait_until` in a coroutine: ``await pilot.pause(interval)`` between checks, so the
    app under the Pilot runs; with no pilot, ``await asyncio.sleep(interval)``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := condition()):
        if loop.time() > deadline:
            raise AssertionError(_timed_out(what, condition, timeout, value))
        if pilot is None:
            await asyncio.sleep(interval)
        else:
            await pilot.pause(interval)
    return value


def wait_for_file(path: Path, timeout: float = 10.0) -> str:
    """The text of ``path`` once it exists and is not empty; fail after ``timeout`` seconds."""
    return wait_until(
        lambda: path.exists() and path.read_text(), timeout, what=f"{path.name} to be written"
    )
