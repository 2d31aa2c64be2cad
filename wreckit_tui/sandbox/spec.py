"""Checks of names, sizes and cpu counts for the provider, raising its own errors.

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

__all__ = ["DEFAULT_CPUS", "DEFAULT_MEMORY", "check_cpus", "check_name", "is_name", "memory_mib"]


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
