"""Checks of names, sizes, cpu and pids counts for the provider, raising its own errors.

The rules themselves are the contract's (:mod:`wreckit_tui.contract`, standard library only).
"""

from __future__ import annotations

from wreckit_tui.contract import (
    DEFAULT_CPUS,
    DEFAULT_MEMORY,
    cpus_problem,
    name_problem,
    size_problem,
    size_to_mib,
)
from wreckit_tui.sandbox.errors import InvalidRequest
from wreckit_tui.text import sanitize

__all__ = [
    "DEFAULT_CPUS",
    "DEFAULT_MEMORY",
    "DEFAULT_PIDS",
    "check_cpus",
    "check_name",
    "check_pids",
    "is_name",
    "memory_mib",
]

DEFAULT_PIDS = 1024
"""Processes (threads included) a sandbox may have at once, unless ``start --pids`` says."""
PIDS_RANGE = (16, 1 << 20)


def is_name(text: str) -> bool:
    return name_problem(text) is None


def check_name(name: str) -> str:
    """``name`` itself, or :class:`InvalidRequest`."""
    _refuse(name_problem(name))
    return name


def memory_mib(size: str) -> int:
    """``512MiB`` -> 512, ``2GiB`` -> 2048; anything else is :class:`InvalidRequest`."""
    _refuse(size_problem(size))
    return size_to_mib(size)


def check_cpus(text: str) -> int:
    """A cpu count of 1..64 given as text, or :class:`InvalidRequest`."""
    _refuse(cpus_problem(text))
    return int(text.strip())


def _refuse(problem: str | None) -> None:
    if problem:
        raise InvalidRequest(problem)


def check_pids(text: str) -> int:
    """A pids limit given as text, or :class:`InvalidRequest`."""
    low, high = PIDS_RANGE
    value = text.strip()
    if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
        _refuse(f"invalid pids {sanitize(value)!r}: use a whole number from {low} to {high}")
    return int(value)
